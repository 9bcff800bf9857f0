import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Identifier, IsoDate } from '../catalog/catalog.schema.js'
import { CART_LIMITS, CartLineSchema, cartSchema } from '../evaluation/cart.schema.js'
import { serializeAsJson } from '../evaluation/evaluation.routes.js'
import { principalOf } from '../http/auth.js'
import { expectedVersion, setEtag } from '../http/etag.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { PDF_RESPONSE } from '../http/pdf.js'
import { problemResponses } from '../http/problem.js'
import { SELLING_ROLES } from '../principals/roles.js'
import { QUOTE_STATUSES } from './quote-state.js'
import * as service from './quote.service.js'
import { renderEvaluation } from '../evaluation/render.js'
import { contractJson } from '../contracts/contract.routes.js'
import type { StoredResponse } from '../shared/idempotency.js'
import type { FastifyRequest } from 'fastify'

const QuoteSummary = {
  id: Type.String(),
  number: Type.String(),
  accountId: Type.String(),
  ownerId: Type.String(),
  currency: Type.String(),
  status: Type.Union(QUOTE_STATUSES.map((s) => Type.Literal(s))),
  currentRevision: Type.Integer(),
  validUntil: Type.String(),
  paymentTermsDays: Type.Integer(),
  notes: Type.Union([Type.String(), Type.Null()]),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
}
export const QuoteRevisionSchema = Type.Object(
  {
    quoteId: Type.String(),
    revision: Type.Integer(),
    // The cart as the evaluate route takes it, without a line limit: a stored cart is not checked again.
    cart: Type.Composite([Type.Omit(cartSchema(1), ['lines']), Type.Object({ lines: Type.Array(CartLineSchema) })], {
      description: 'The cart that was priced, with what the account supplied',
    }),
    evaluation: Type.Ref('StoredEvaluation'),
    decisionId: Type.String({ description: 'The recorded decision of this pricing (see /v1/decisions/{id}/replay)' }),
    fingerprint: Type.Object(
      {
        currency: Type.String(),
        paymentTermsDays: Type.Integer(),
        lines: Type.Array(
          Type.Object(
            {
              sku: Type.String(),
              quantity: Type.Number(),
              termMonths: Type.Union([Type.Integer(), Type.Null()]),
              netUnitPrice: Type.String(),
              netAmount: Type.String(),
              discountPercent: Type.Union([Type.String(), Type.Null()]),
            },
            { additionalProperties: true },
          ),
        ),
        totals: Type.Object({ net: Type.String(), discountPercent: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: true }),
      },
      { additionalProperties: true, description: 'What approvals are bound to; fingerprintHash is its content hash' },
    ),
    fingerprintHash: Type.String(),
    createdBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'QuoteRevision' },
)
export const QuoteSchema = Type.Object(
  { ...QuoteSummary, revision: Type.Ref('QuoteRevision'), approval: Type.Union([Type.Ref('ApprovalRequest'), Type.Null()]) },
  { $id: 'Quote', description: 'A quote with its current revision (cart, priced evaluation, fingerprint) and its latest approval request' },
)
const editable = (maxCartLines: number) => ({
  lines: Type.Array(CartLineSchema, { minItems: 1, maxItems: maxCartLines }),
  promoCodes: Type.Array(Type.String({ pattern: '^[A-Z0-9][A-Z0-9_-]{0,31}$' }), { maxItems: CART_LIMITS.promoCodes, uniqueItems: true }),
  channel: Type.String({ pattern: Identifier.pattern, maxLength: 100, description: 'Sales channel, one the catalog declares' }),
  pricingDate: IsoDate,
  paymentTermsDays: Type.Integer({ minimum: 0, maximum: 365 }),
  validUntil: IsoDate,
  notes: Type.Union([Type.String({ maxLength: 5000 }), Type.Null()]),
})
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
const Lang = Type.Union([Type.Literal('en'), Type.Literal('fr')], {
  description: 'The document language; by default French for FR, BE, LU and MC accounts, else English',
})

function json(q: service.Quote) {
  return { ...q, createdAt: new Date(q.createdAt).toISOString(), updatedAt: new Date(q.updatedAt).toISOString() }
}

/** The API form of a revision: its snapshot rendered as the evaluation API renders it (with the trace it was priced with). */
function revisionJson(r: service.QuoteRevision) {
  return { ...r, evaluation: renderEvaluation(r.evaluation, 'fired'), createdAt: r.createdAt.toISOString() }
}

/** The API form of a quote with its current revision and approval. */
function viewJson(q: service.QuoteView) {
  return { ...json(q), revision: revisionJson(q.revision), approval: q.approval }
}

/** Idempotent routes store and replay the API form; a replay is already in it. */
function presented(stored: StoredResponse<service.QuoteView>) {
  return { ...stored, body: (stored.replayed ? stored.body : viewJson(stored.body)) as never }
}

function idempotentView(request: FastifyRequest) {
  const idempotency = idempotencyOf(request)
  return idempotency && { ...idempotency, present: viewJson }
}

export const quoteRoutes: FastifyPluginAsyncTypebox<{ deps: service.QuoteDeps; maxCartLines: number; cartBodyLimit: number }> = async (
  app,
  { deps, maxCartLines, cartBodyLimit },
) => {
  const config = { roles: SELLING_ROLES }
  const Editable = editable(maxCartLines)
  // Every route answering a Quote or a revision carries a whole evaluation: see serializeAsJson.
  const serializerCompiler = serializeAsJson
  const Action = (summary: string, extra: object = {}) => ({
    config,
    serializerCompiler,
    schema: { tags: ['quotes'], summary, params: IdParams, ...extra, response: { 200: Type.Ref('Quote'), ...problemResponses(403, 404, 409, 412) } },
  })

  app.post(
    '/v1/quotes',
    {
      config: { ...config, maxCartLines },
      bodyLimit: cartBodyLimit,
      serializerCompiler,
      schema: {
        tags: ['quotes'],
        summary: 'Create a quote (revision 1, priced and recorded) for an account',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            accountId: Type.String({ minLength: 1, maxLength: 64 }),
            currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
            lines: Editable.lines,
            promoCodes: Type.Optional(Editable.promoCodes),
            channel: Type.Optional(Editable.channel),
            pricingDate: Type.Optional(Editable.pricingDate),
            paymentTermsDays: Type.Optional(Editable.paymentTermsDays),
            validUntil: Type.Optional(Editable.validUntil),
            notes: Type.Optional(Editable.notes),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Quote'), 200: Type.Ref('Quote'), ...problemResponses(403, 409, 422) },
      },
    },
    async (request, reply) => {
      const stored = await service.createQuote(deps, principalOf(request), request.body, idempotentView(request))
      setEtag(reply, stored.body.version)
      return sendStored(reply, presented(stored))
    },
  )

  app.get(
    '/v1/quotes',
    {
      config,
      schema: {
        tags: ['quotes'],
        summary: 'Quotes the caller may see',
        querystring: Type.Composite([PageQuery, Type.Object({ status: Type.Optional(Type.Union(QUOTE_STATUSES.map((s) => Type.Literal(s)))) })], {
          additionalProperties: false,
        }),
        response: { 200: PageOf(Type.Object(QuoteSummary)), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT } = request.query
      const rows = await service.listQuotes(deps, principalOf(request), limit + 1, request.query.starting_after, request.query.status)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(json) }
    },
  )

  app.get('/v1/quotes/:id', Action('Read a quote (expires it if past its validity)'), async (request, reply) => {
    const quote = await service.getQuote(deps, principalOf(request), request.params.id)
    setEtag(reply, quote.version)
    return viewJson(quote)
  })

  app.get(
    '/v1/quotes/:id/revisions/:n',
    {
      config,
      serializerCompiler,
      schema: {
        tags: ['quotes'],
        summary: 'Read an earlier revision',
        params: Type.Object({ id: Type.String({ maxLength: 64 }), n: Type.Integer({ minimum: 1, maximum: 100_000 }) }),
        response: { 200: Type.Ref('QuoteRevision'), ...problemResponses(403, 404) },
      },
    },
    async (request) => {
      return revisionJson(await service.getRevision(deps, principalOf(request), request.params.id, request.params.n))
    },
  )

  app.patch(
    '/v1/quotes/:id',
    {
      config: { ...config, maxCartLines },
      bodyLimit: cartBodyLimit,
      serializerCompiler,
      schema: {
        tags: ['quotes'],
        summary: 'Revise a quote: a new draft revision, priced again; needs If-Match',
        params: IdParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 64 })) }),
        body: Type.Partial(Type.Object(Editable), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Type.Ref('Quote'), ...problemResponses(403, 404, 409, 412, 422, 428) },
      },
    },
    async (request, reply) => {
      const quote = await service.reviseQuote(deps, principalOf(request), request.params.id, expectedVersion(request), request.body)
      setEtag(reply, quote.version)
      return viewJson(quote)
    },
  )

  app.post(
    '/v1/quotes/:id/submit',
    Action('Submit for approval (or approve at once when nothing needs approval)', { headers: IdempotencyHeaders }),
    async (request, reply) => {
      const stored = await service.submitQuote(deps, principalOf(request), request.params.id, idempotentView(request))
      setEtag(reply, stored.body.version)
      return sendStored(reply, presented(stored))
    },
  )

  app.post(
    '/v1/quotes/:id/present',
    {
      config,
      serializerCompiler,
      schema: {
        tags: ['quotes'],
        summary: "Present an approved quote: its document is stored in a contract and the buyer's signing link returned, once",
        params: IdParams,
        body: Type.Object(
          {
            contactId: Type.String({ minLength: 1, maxLength: 64, description: "The account's contact who may sign" }),
            lang: Type.Optional(Lang),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            quote: Type.Ref('Quote'),
            contract: Type.Ref('Contract'),
            signingUrl: Type.String({ description: 'The buyer’s link; only its hash is stored, so it is shown here once' }),
          }),
          ...problemResponses(403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const { quote, contract, signingUrl } = await service.presentQuote(deps, principalOf(request), request.params.id, request.body)
      setEtag(reply, quote.version)
      return { quote: viewJson(quote), contract: contractJson({ contract, timeline: [] }), signingUrl }
    },
  )

  app.get(
    '/v1/quotes/:id/contract',
    {
      config,
      schema: {
        tags: ['quotes'],
        summary: "The quote's latest contract, with its status and timeline",
        params: IdParams,
        response: { 200: Type.Ref('Contract'), ...problemResponses(403, 404) },
      },
    },
    async (request) => contractJson(await service.contractOfQuote(deps, principalOf(request), request.params.id)),
  )

  app.get(
    '/v1/quotes/:id/document.pdf',
    {
      config,
      schema: {
        tags: ['quotes'],
        summary: 'The quote document (PDF) of a revision, rendered now; a presented revision’s document as sent is its contract’s',
        params: IdParams,
        querystring: Type.Object(
          { revision: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })), lang: Type.Optional(Lang) },
          { additionalProperties: false },
        ),
        response: { 200: PDF_RESPONSE, ...problemResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const { quote, revision, bytes } = await service.quoteDocument(deps, principalOf(request), request.params.id, request.query)
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${quote.number}-r${revision}.pdf"`).send(bytes)
    },
  )

  app.post('/v1/quotes/:id/cancel', Action('Cancel a quote that is not final'), async (request, reply) => {
    const quote = await service.cancelQuote(deps, principalOf(request), request.params.id)
    setEtag(reply, quote.version)
    return viewJson(quote)
  })
}

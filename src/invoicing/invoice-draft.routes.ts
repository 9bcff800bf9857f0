import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../http/auth.js'
import { expectedVersion, setEtag } from '../http/etag.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { PDF_RESPONSE } from '../http/pdf.js'
import { problemResponses } from '../http/problem.js'
import { formatMoney } from '../money/money-value.js'
import { INVOICE_RUNNERS, SELLING_ROLES } from '../principals/roles.js'
import { INVOICE_DRAFT_STATUSES, type InvoiceDraft, type InvoiceDraftView } from './invoice.js'
import { Amount, IdParams, InvoiceLineSchema, invoiceJson, IsoDate, lineJson, Nullable, Party, VatLineSchema, vatLineJson } from './invoice.routes.js'
import * as service from './invoice.service.js'

const DraftStatus = Type.Union(INVOICE_DRAFT_STATUSES.map((s) => Type.Literal(s)))

const InvoiceDraftSummary = {
  id: Type.String(),
  status: DraftStatus,
  runId: Nullable(Type.String()),
  sellerId: Type.String(),
  accountId: Type.String(),
  currency: Type.String(),
  paymentTermsDays: Type.Integer(),
  net: Amount,
  tax: Amount,
  total: Amount,
  draftedOn: IsoDate,
  invoiceId: Nullable(Type.String({ description: 'The invoice it was issued as' })),
  discardReason: Nullable(Type.String()),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
}

export const InvoiceDraftSchema = Type.Object(
  {
    ...InvoiceDraftSummary,
    buyer: Party,
    seller: Party,
    ruleSetHash: Type.String({ description: 'The rule set whose tax rules decided the VAT of each line, when drafted' }),
    lines: Type.Array(InvoiceLineSchema, { description: 'The lines the invoice will have (none once discarded)' }),
    vat: Type.Array(VatLineSchema),
  },
  { $id: 'InvoiceDraft' },
)

function draftSummaryJson(d: InvoiceDraft) {
  return {
    id: d.id,
    status: d.status,
    runId: d.runId,
    sellerId: d.sellerId,
    accountId: d.accountId,
    currency: d.currency,
    paymentTermsDays: d.paymentTermsDays,
    net: formatMoney(d.net),
    tax: formatMoney(d.tax),
    total: formatMoney(d.total),
    draftedOn: d.draftedOn,
    invoiceId: d.invoiceId,
    discardReason: d.discardReason,
    version: d.version,
    createdAt: d.createdAt.toISOString(),
  }
}

function draftJson(d: InvoiceDraftView) {
  return {
    ...draftSummaryJson(d),
    buyer: d.buyer,
    seller: d.seller,
    ruleSetHash: d.ruleSetHash,
    lines: d.lines.map(lineJson),
    vat: d.vat.map(vatLineJson),
  }
}

export const invoiceDraftRoutes: FastifyPluginAsyncTypebox<{ deps: service.InvoicingDeps }> = async (app, { deps }) => {
  const readers = { roles: SELLING_ROLES }
  const issuers = { roles: INVOICE_RUNNERS }
  const tags = ['invoicing']
  const IfMatch = Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 64 })) })

  app.get(
    '/v1/invoice-drafts',
    {
      config: readers,
      schema: {
        tags,
        summary: 'Invoice drafts the caller may see (those of the accounts whose orders they see), oldest first',
        querystring: Type.Composite(
          [PageQuery, Type.Object({ status: Type.Optional(DraftStatus), runId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) })],
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Object(InvoiceDraftSummary)), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT, starting_after, status, runId } = request.query
      const rows = await service.listDrafts(deps, principalOf(request), { status, runId }, limit + 1, starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(draftSummaryJson) }
    },
  )

  app.get(
    '/v1/invoice-drafts/:id',
    {
      config: readers,
      schema: {
        tags,
        summary: 'An invoice draft with the lines and VAT breakdown the invoice will have',
        params: IdParams,
        response: { 200: Type.Ref('InvoiceDraft'), ...problemResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const draft = await service.getDraft(deps, principalOf(request), request.params.id)
      setEtag(reply, draft.version)
      return draftJson(draft)
    },
  )

  app.get(
    '/v1/invoice-drafts/:id/document.pdf',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The draft as the invoice PDF will be, marked as a draft: no number, no due date yet',
        params: IdParams,
        querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('fr')])) }, { additionalProperties: false }),
        response: { 200: PDF_RESPONSE, ...problemResponses(403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { bytes } = await service.draftDocument(deps, principalOf(request), request.params.id, request.query.lang)
      return reply.type('application/pdf').header('content-disposition', `inline; filename="draft-${request.params.id}.pdf"`).send(bytes)
    },
  )

  app.post(
    '/v1/invoice-drafts/:id/issue',
    {
      config: issuers,
      schema: {
        tags,
        summary: 'Issue a draft as an invoice, as reviewed: its number, issue and due dates are given now; needs If-Match',
        params: IdParams,
        headers: Type.Composite([IdempotencyHeaders, IfMatch]),
        response: {
          201: Type.Object({ draft: Type.Ref('InvoiceDraft'), invoice: Type.Ref('Invoice') }),
          ...problemResponses(403, 404, 409, 412, 422, 428),
        },
      },
    },
    async (request, reply) => {
      const present = (r: { draft: InvoiceDraftView; invoice: service.InvoiceView }) => ({ draft: draftJson(r.draft), invoice: invoiceJson(r.invoice) })
      const idempotency = idempotencyOf(request)
      const stored = await service.issueDraft(
        deps,
        principalOf(request),
        request.params.id,
        expectedVersion(request),
        idempotency && { ...idempotency, present },
      )
      const body = stored.replayed ? stored.body : present(stored.body)
      return sendStored(reply, { ...stored, body: body as never })
    },
  )

  app.post(
    '/v1/invoice-drafts/:id/discard',
    {
      config: issuers,
      schema: {
        tags,
        summary: 'Discard a draft with a reason: its items are due again for the next run; needs If-Match',
        params: IdParams,
        headers: IfMatch,
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
        response: { 200: Type.Ref('InvoiceDraft'), ...problemResponses(403, 404, 409, 412, 428) },
      },
    },
    async (request, reply) => {
      const discarded = await service.discardDraft(deps, principalOf(request), request.params.id, expectedVersion(request), request.body.reason)
      setEtag(reply, discarded.version)
      return draftJson(discarded)
    },
  )
}

import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Identifier } from '../catalog/catalog.schema.js'
import { principalOf } from '../http/auth.js'
import { expectedVersion, setEtag } from '../http/etag.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import { SELLING_ROLES } from '../principals/roles.js'
import { BILLING_ALIGNMENTS } from '../orders/order.service.js'
import * as service from './account.service.js'
import type { Account, Contact } from './account.service.js'

const Address = Type.Object(
  {
    line1: Type.String({ minLength: 1, maxLength: 200 }),
    line2: Type.Optional(Type.String({ maxLength: 200 })),
    city: Type.String({ minLength: 1, maxLength: 100 }),
    postalCode: Type.String({ minLength: 1, maxLength: 20 }),
    region: Type.Optional(Type.String({ maxLength: 100 })),
    country: Type.String({ pattern: '^[A-Z]{2}$' }),
  },
  { additionalProperties: false },
)
const BillingAlignmentSchema = Type.Union(
  BILLING_ALIGNMENTS.map((a) => Type.Literal(a)),
  {
    description:
      "Where its orders' recurring periods fall: from the service start's day (anniversary, the default) or on calendar months after a prorated first period",
  },
)
const AccountFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  billingAddress: Address,
  country: Type.String({ pattern: '^[A-Z]{2}$' }),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  vatId: Type.Optional(Type.Union([Type.String({ minLength: 2, maxLength: 20, pattern: '^[A-Z0-9]+$' }), Type.Null()])),
  segment: Identifier,
  ownerId: Type.Optional(Type.String({ maxLength: 64 })),
  billingAlignment: Type.Optional(BillingAlignmentSchema),
  sellerId: Type.Optional(
    Type.Union([Type.String({ pattern: Identifier.pattern, maxLength: 64, description: 'A seller legal entity (legal-entities/entities.yaml)' }), Type.Null()]),
  ),
}
const AccountView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    billingAddress: Address,
    country: Type.String(),
    currency: Type.String(),
    vatId: Type.Union([Type.String(), Type.Null()]),
    segment: Type.String(),
    ownerId: Type.String(),
    billingAlignment: BillingAlignmentSchema,
    sellerId: Type.Union([Type.String(), Type.Null()], { description: "The seller it buys from; null: chosen by each quote's currency" }),
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Account' },
)
const ContactView = Type.Object(
  {
    id: Type.String(),
    accountId: Type.String(),
    name: Type.String(),
    email: Type.String(),
    role: Type.Union([Type.String(), Type.Null()]),
    version: Type.Integer(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { $id: 'Contact' },
)
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

/** JSON form of a record whose dates may already be strings (a replayed idempotent response). */
function dated<T extends { createdAt: Date | string; updatedAt: Date | string }>(x: T) {
  return { ...x, createdAt: new Date(x.createdAt).toISOString(), updatedAt: new Date(x.updatedAt).toISOString() }
}

export { AccountView, ContactView }

export const accountRoutes: FastifyPluginAsyncTypebox<{ deps: service.AccountDeps }> = async (app, { deps }) => {
  const config = { roles: SELLING_ROLES }
  app.post(
    '/v1/accounts',
    {
      config,
      schema: {
        tags: ['accounts'],
        summary: 'Create an account (owned by the caller unless ownerId names their team)',
        headers: IdempotencyHeaders,
        body: Type.Object(AccountFields, { additionalProperties: false }),
        response: { 201: Type.Ref('Account'), 200: Type.Ref('Account'), ...problemResponses(403, 409, 422) },
      },
    },
    async (request, reply) => {
      const stored = await service.createAccount(deps, principalOf(request), request.body, idempotencyOf(request))
      return sendStored(reply, { ...stored, body: dated(stored.body) as unknown as Account })
    },
  )

  app.get(
    '/v1/accounts',
    {
      config,
      schema: {
        tags: ['accounts'],
        summary: 'Accounts the caller may see',
        querystring: PageQuery,
        response: { 200: PageOf(Type.Ref('Account')), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT } = request.query
      const rows = await service.listAccounts(deps, principalOf(request), limit + 1, request.query.starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(dated) }
    },
  )

  app.get(
    '/v1/accounts/:id',
    {
      config,
      schema: { tags: ['accounts'], summary: 'Read an account', params: IdParams, response: { 200: Type.Ref('Account'), ...problemResponses(403, 404) } },
    },
    async (request, reply) => {
      const account = await service.getAccount(deps, principalOf(request), request.params.id)
      setEtag(reply, account.version)
      return dated(account)
    },
  )

  app.patch(
    '/v1/accounts/:id',
    {
      config,
      schema: {
        tags: ['accounts'],
        summary: 'Change an account; needs If-Match',
        params: IdParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 64 })) }),
        body: Type.Partial(Type.Object(AccountFields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Type.Ref('Account'), ...problemResponses(403, 404, 412, 428) },
      },
    },
    async (request, reply) => {
      const account = await service.updateAccount(deps, principalOf(request), request.params.id, expectedVersion(request), request.body)
      setEtag(reply, account.version)
      return dated(account)
    },
  )

  app.post(
    '/v1/accounts/:id/contacts',
    {
      config,
      schema: {
        tags: ['accounts'],
        summary: 'Add a contact to an account',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.String({ format: 'email', maxLength: 254 }),
            role: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Contact'), 200: Type.Ref('Contact'), ...problemResponses(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const stored = await service.addContact(deps, principalOf(request), request.params.id, request.body, idempotencyOf(request))
      return sendStored(reply, { ...stored, body: dated(stored.body) as unknown as Contact })
    },
  )

  app.get(
    '/v1/accounts/:id/contacts',
    {
      config,
      schema: {
        tags: ['accounts'],
        summary: "An account's contacts",
        params: IdParams,
        querystring: PageQuery,
        response: { 200: PageOf(Type.Ref('Contact')), ...problemResponses(403, 404) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT } = request.query
      const rows = await service.listContacts(deps, principalOf(request), request.params.id, limit + 1, request.query.starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(dated) }
    },
  )
}

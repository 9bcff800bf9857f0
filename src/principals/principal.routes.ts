import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../http/auth.js'
import { expectedVersion, setEtag } from '../http/etag.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import type { Principal } from './principal.js'
import * as service from './principal.service.js'
import type { PrincipalDeps } from './principal.service.js'
import { PRINCIPAL_ADMINS, RoleSchema } from './roles.js'

const PrincipalView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    roles: Type.Array(RoleSchema),
    status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
    managerId: Type.Union([Type.String(), Type.Null()]),
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Principal' },
)

const Name = Type.String({ minLength: 1, maxLength: 200 })
const Roles = Type.Array(RoleSchema, { minItems: 1, maxItems: 6, uniqueItems: true })
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

/** API form of a principal; also accepts one read back from a stored idempotent response, where dates are already strings. */
function view(p: Principal | (Omit<Principal, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string })) {
  return { ...p, createdAt: new Date(p.createdAt).toISOString(), updatedAt: new Date(p.updatedAt).toISOString() }
}

export const principalRoutes: FastifyPluginAsyncTypebox<{ deps: PrincipalDeps }> = async (app, { deps }) => {
  app.post(
    '/v1/principals',
    {
      config: { roles: PRINCIPAL_ADMINS },
      schema: {
        tags: ['principals'],
        summary: 'Create a principal and its API key (admin). The key is in this response only.',
        headers: IdempotencyHeaders,
        body: Type.Object(
          { name: Name, roles: Roles, managerId: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ principal: Type.Ref('Principal'), apiKey: Type.Optional(Type.String()) }),
          200: Type.Object({ principal: Type.Ref('Principal'), apiKey: Type.Optional(Type.String()) }),
          ...problemResponses(403, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const stored = await service.createPrincipal(deps, request.body, idempotencyOf(request), principalOf(request).id)
      const body = stored.body
      return sendStored(reply, { ...stored, body: { ...body, principal: view(body.principal) } })
    },
  )

  app.get(
    '/v1/principals',
    {
      config: { roles: PRINCIPAL_ADMINS },
      schema: {
        tags: ['principals'],
        summary: 'List principals (admin)',
        querystring: PageQuery,
        response: { 200: PageOf(Type.Ref('Principal')), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT } = request.query
      const rows = await service.listPrincipals(deps, limit + 1, request.query.starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(view) }
    },
  )

  app.get(
    '/v1/principals/me',
    {
      schema: {
        tags: ['principals'],
        summary: 'The principal behind the API key of this request',
        response: { 200: Type.Ref('Principal'), ...problemResponses() },
      },
    },
    async (request, reply) => {
      const me = principalOf(request)
      setEtag(reply, me.version)
      return view(me)
    },
  )

  app.get(
    '/v1/principals/:id',
    {
      config: { roles: PRINCIPAL_ADMINS },
      schema: {
        tags: ['principals'],
        summary: 'Read a principal (admin)',
        params: IdParams,
        response: { 200: Type.Ref('Principal'), ...problemResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const principal = await service.getPrincipal(deps, request.params.id)
      setEtag(reply, principal.version)
      return view(principal)
    },
  )

  app.patch(
    '/v1/principals/:id',
    {
      config: { roles: PRINCIPAL_ADMINS },
      schema: {
        tags: ['principals'],
        summary: 'Change name, roles or manager (admin); needs If-Match',
        params: IdParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 64 })) }),
        body: Type.Object(
          { name: Type.Optional(Name), roles: Type.Optional(Roles), managerId: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('Principal'), ...problemResponses(403, 404, 412, 428) },
      },
    },
    async (request, reply) => {
      const updated = await service.updatePrincipal(deps, request.params.id, expectedVersion(request), request.body, principalOf(request).id)
      setEtag(reply, updated.version)
      return view(updated)
    },
  )

  app.post(
    '/v1/principals/:id/revoke',
    {
      config: { roles: PRINCIPAL_ADMINS },
      schema: {
        tags: ['principals'],
        summary: 'Revoke a principal and all its keys (admin)',
        params: IdParams,
        response: { 200: Type.Ref('Principal'), ...problemResponses(403, 404) },
      },
    },
    async (request) => view(await service.revokePrincipal(deps, principalOf(request), request.params.id)),
  )
}

export { PrincipalView }

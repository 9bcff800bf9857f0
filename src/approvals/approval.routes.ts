import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IsoDate } from '../catalog/catalog.schema.js'
import { AppError } from '../errors.js'
import { principalOf } from '../http/auth.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { problemResponses } from '../http/problem.js'
import * as service from './approval.service.js'
import { APPROVER_ROLES } from './approval.service.js'

const Loose = Type.Object({}, { additionalProperties: true })

export const approvalRoutes: FastifyPluginAsyncTypebox<{ deps: service.ApprovalDeps }> = async (app, { deps }) => {
  // Deciding is checked per step (the step's role, or a delegation from one who holds it), so
  // these routes admit any principal: a delegate need not hold an approver role.
  app.get('/v1/approvals', {
    schema: {
      tags: ['approvals'], summary: 'Your approval queue: open steps you may decide now, directly or as a delegate',
      querystring: Type.Object({ assignee: Type.Literal('me', { default: 'me' }), limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ data: Type.Array(Loose) }), ...problemResponses(403) },
    },
  }, async (request) => ({ data: await service.approvalQueue(deps, principalOf(request), request.query.limit) }))

  for (const decision of ['approve', 'reject'] as const) {
    app.post(`/v1/approvals/:id/${decision}`, {
      // A decision may come with no body at all: it is then a decision without a comment.
      preValidation: async (request) => {
        request.body ??= {}
      },
      schema: {
        tags: ['approvals'],
        summary: decision === 'approve' ? 'Approve an approval step' : 'Reject an approval step (rejects the quote); a comment is required',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        headers: IdempotencyHeaders,
        body: Type.Object({ comment: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }, { additionalProperties: false }),
        response: { 200: Loose, ...problemResponses(403, 404, 409, 422) },
      },
    }, async (request, reply) => {
      const comment = request.body?.comment ?? null
      if (decision === 'reject' && !comment) {
        throw new AppError('VALIDATION_FAILED', 'A rejection needs a comment saying why.', { errors: [{ pointer: '/comment', detail: 'required to reject' }] })
      }
      return sendStored(reply, await service.decideStep(deps, principalOf(request), request.params.id, decision, comment, idempotencyOf(request)))
    })
  }

  app.post('/v1/delegations', {
    config: { roles: APPROVER_ROLES },
    schema: {
      tags: ['approvals'], summary: 'Delegate your approvals to another principal for a date range', headers: IdempotencyHeaders,
      body: Type.Object({ delegateId: Type.String({ minLength: 1, maxLength: 64 }), startsOn: IsoDate, endsOn: IsoDate }, { additionalProperties: false }),
      response: { 201: Loose, 200: Loose, ...problemResponses(403, 409, 422) },
    },
  }, async (request, reply) => sendStored(reply, await service.createDelegation(deps, principalOf(request), request.body, idempotencyOf(request))))

  app.get('/v1/delegations', {
    schema: { tags: ['approvals'], summary: 'Delegations you gave or received', response: { 200: Type.Object({ data: Type.Array(Loose) }), ...problemResponses() } },
  }, async (request) => ({ data: await service.listDelegations(deps, principalOf(request)) }))
}

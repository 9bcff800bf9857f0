import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.js'
import { principalOf } from '../http/auth.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { problemResponses } from '../http/problem.js'
import { decideApproval } from './decide-approval.js'
import type { QuoteDeps } from './quote.js'

/**
 * POST /v1/approvals/:id/approve|reject. A decision is a quote use case (it may move the
 * quote), so its route lives with the quotes; the approvals module never calls back into them.
 */
export const approvalDecisionRoutes: FastifyPluginAsyncTypebox<{ deps: QuoteDeps }> = async (app, { deps }) => {
  // Deciding is checked per step (the step's role, or a delegation from one who holds it), so
  // these routes admit any principal: a delegate need not hold an approver role.
  for (const decision of ['approve', 'reject'] as const) {
    app.post(
      `/v1/approvals/:id/${decision}`,
      {
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
          response: { 200: Type.Ref('ApprovalRequest'), ...problemResponses(403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const comment = request.body?.comment ?? null
        if (decision === 'reject' && !comment) {
          throw new AppError('VALIDATION_FAILED', 'A rejection needs a comment saying why.', {
            errors: [{ pointer: '/comment', detail: 'required to reject' }],
          })
        }
        return sendStored(reply, await decideApproval(deps, principalOf(request), request.params.id, decision, comment, idempotencyOf(request)))
      },
    )
  }
}

import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { problemResponses } from '../http/problem.js'
import { AUDIT_READERS } from '../principals/roles.js'
import { checkpointAudit, verifyAudit, type CheckpointDeps } from './audit.service.js'
import { AuditCheckpointSchema } from './checkpoint.js'

const VerifyResultSchema = Type.Object({
  ok: Type.Boolean(),
  entries: Type.Integer(),
  brokenAt: Type.Optional(Type.Object({ seq: Type.String(), reason: Type.String() })),
  checkpoint: Type.Optional(
    Type.Object(
      { seq: Type.String(), ok: Type.Boolean(), reason: Type.Optional(Type.String()) },
      { description: 'Whether the chain still holds the entry the checkpoint signed' },
    ),
  ),
})

export const auditRoutes: FastifyPluginAsyncTypebox<{ deps: Omit<CheckpointDeps, 'log'> }> = async (app, { deps }) => {
  app.get(
    '/v1/audit/verify',
    {
      config: { roles: AUDIT_READERS },
      schema: {
        tags: ['audit'],
        summary: 'Verify the hash chain of the audit log; names the first entry that does not verify',
        response: { 200: VerifyResultSchema, ...problemResponses(403) },
      },
    },
    async () => verifyAudit(deps.db),
  )

  app.post(
    '/v1/audit/verify',
    {
      config: { roles: AUDIT_READERS },
      schema: {
        tags: ['audit'],
        summary: 'Verify the chain and that it still holds the entry a checkpoint signed (no cut tail, no re-chained edit)',
        body: Type.Object({ checkpoint: AuditCheckpointSchema }, { additionalProperties: false }),
        response: { 200: VerifyResultSchema, ...problemResponses(403, 503) },
      },
    },
    async (request) => verifyAudit(deps.db, { checkpoint: request.body.checkpoint, auditKey: deps.auditKey }),
  )

  app.post(
    '/v1/audit/checkpoints',
    {
      config: { roles: AUDIT_READERS },
      schema: {
        tags: ['audit'],
        summary: "Sign the chain's head with QTC_AUDIT_KEY; also written to the log and the outbox (audit.checkpoint). Keep it outside the database.",
        headers: IdempotencyHeaders,
        response: { 201: AuditCheckpointSchema, ...problemResponses(403, 409, 422, 503) },
      },
    },
    async (request, reply) => sendStored(reply, await checkpointAudit({ ...deps, log: request.log }, idempotencyOf(request))),
  )
}

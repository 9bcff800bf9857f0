import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Db } from '../db/database.js'
import { problemResponses } from '../http/problem.js'
import { verifyAudit } from './audit.service.js'

export const auditRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get('/v1/audit/verify', {
    config: { roles: ['finance', 'admin'] },
    schema: {
      tags: ['audit'], summary: 'Verify the hash chain of the audit log; names the first entry that does not verify',
      response: { 200: Type.Object({ ok: Type.Boolean(), entries: Type.Integer(), brokenAt: Type.Optional(Type.Object({ seq: Type.String(), reason: Type.String() })) }), ...problemResponses(403) },
    },
  }, async () => verifyAudit(db))
}

import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import type { DatabaseHandle } from '../db/database.js'
import { pendingMigrations } from '../db/migrate.js'
import { AppError } from '../errors.js'
import { problemResponses } from '../http/problem.js'

export interface ReadinessCheck {
  name: string
  /** Resolves to a failure reason, or null when ready. */
  check(): Promise<string | null>
}

/** The content hashes of the rule set and price books an instance serves, when it serves one. */
export type ServingHashes = () => { ruleSetHash: string; priceBookHash: string } | undefined

export const healthRoutes: FastifyPluginAsyncTypebox<{ database: DatabaseHandle; extraChecks: ReadinessCheck[]; serving: ServingHashes }> = async (
  app,
  { database, extraChecks, serving },
) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: { tags: ['health'], summary: 'The process is up', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'The service can answer: database reachable, migrations applied, the activated rule set served; with the hashes it serves',
        security: [],
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            checks: Type.Record(Type.String(), Type.String()),
            // Compared across instances (and with an evaluation's hashes) to see that they all serve the activated set.
            ruleSetHash: Type.String(),
            priceBookHash: Type.String(),
          }),
          ...problemResponses({ public: true }, 503),
        },
      },
    },
    async () => {
      const checks: Record<string, string> = {}
      const failures: string[] = []
      try {
        await sql`select 1`.execute(database.db)
        checks.database = 'ok'
        const pending = await pendingMigrations(database)
        if (pending.length > 0) failures.push(`migrations pending: ${pending.join(', ')}`)
        else checks.migrations = 'ok'
      } catch {
        failures.push('database unreachable')
      }
      for (const extra of extraChecks) {
        const reason = await extra.check()
        if (reason) failures.push(`${extra.name}: ${reason}`)
        else checks[extra.name] = 'ok'
      }
      const hashes = serving()
      if (failures.length > 0 || !hashes) throw new AppError('NOT_READY', `Not ready: ${failures.join('; ') || 'no rule set served'}.`)
      return { status: 'ready' as const, checks, ...hashes }
    },
  )
}

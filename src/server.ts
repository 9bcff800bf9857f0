import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { checkpointAudit } from './audit/audit.service.js'
import type { Config } from './config.js'
import { openDatabase, type DatabaseHandle } from './db/database.js'
import { migrateToLatest } from './db/migrate.js'
import { ensureBootstrapAdmin, seedDemoPrincipals } from './principals/principal.service.js'
import { expireDueQuotes } from './quotes/quote.service.js'
import { purgeExpiredIdempotencyKeys } from './shared/idempotency.js'
import { systemClock } from './shared/clock.js'

export interface RunningService {
  app: FastifyInstance
  database: DatabaseHandle
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  stop(): Promise<void>
}

/**
 * Everything `npm start` does before listening: open the database, migrate, ensure the
 * bootstrap admin, seed demo principals on a fresh embedded database, build the app.
 */
export async function startService(config: Config): Promise<RunningService> {
  const database = await openDatabase(config, { purpose: 'server' })
  try {
    const applied = await migrateToLatest(database)
    const app = await buildApp({ config, database, clock: systemClock })
    if (applied.length > 0) app.log.info({ applied, database: database.kind }, 'migrations applied')
    const deps = { db: database.db, clock: systemClock }
    if (config.bootstrapAdminKey) {
      const id = await ensureBootstrapAdmin(deps, config.bootstrapAdminKey)
      app.log.info({ principalId: id }, 'bootstrap admin key is active')
    }
    if (config.seedDemo) await seedDemoPrincipals({ ...deps, log: app.log as never }, config.dataDir)
    await app.listen({ port: config.port, host: config.host })
    // Expiry also happens on read; the sweep catches quotes nobody reads (and drops
    // idempotency keys past their 24 hours). Every instance may
    // sweep: each quote is expired under its row lock, so two sweeps never expire it twice.
    let sweeping = false
    const sweep =
      config.expirySweepMs > 0
        ? setInterval(() => {
            if (sweeping) return
            sweeping = true
            Promise.all([expireDueQuotes(deps), purgeExpiredIdempotencyKeys(deps.db, systemClock.now())])
              .then(([n]) => n > 0 && app.log.info({ expired: n }, 'expired quotes past their validity'))
              .catch((error) => app.log.error({ err: error }, 'quote expiry sweep failed'))
              .finally(() => (sweeping = false))
          }, config.expirySweepMs).unref()
        : undefined
    // Periodic checkpoints put the chain's head, signed, where the database cannot reach it (the log).
    if (config.auditCheckpointMs > 0 && !config.auditKey) app.log.info('audit checkpoints are off: QTC_AUDIT_KEY is not set')
    const checkpoints =
      config.auditCheckpointMs > 0 && config.auditKey
        ? setInterval(() => {
            checkpointAudit({ ...deps, auditKey: config.auditKey, log: app.log }).catch((error) => app.log.error({ err: error }, 'audit checkpoint failed'))
          }, config.auditCheckpointMs).unref()
        : undefined
    let stopping: Promise<void> | undefined
    const stop = () =>
      (stopping ??= (async () => {
        if (sweep) clearInterval(sweep)
        if (checkpoints) clearInterval(checkpoints)
        await app.close()
        await database.close()
      })())
    return { app, database, stop }
  } catch (error) {
    await database.close()
    throw error
  }
}

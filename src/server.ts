import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { REDACTED_PATHS, buildApp } from './app.js'
import type { Config } from './config.js'
import { openDatabase, type DatabaseHandle } from './db/database.js'
import { migrateToLatest } from './db/migrate.js'
import { JobEngine } from './jobs/job-engine.js'
import { ensureBootstrapAdmin, seedDemoPrincipals } from './principals/principal.service.js'
import { systemClock } from './shared/clock.js'

export interface RunningService {
  app: FastifyInstance
  database: DatabaseHandle
  jobs: JobEngine
  /** Stops accepting connections, lets in-flight requests finish, stops the job workers (running jobs get a deadline), then closes the database. */
  stop(): Promise<void>
}

/**
 * Everything `npm start` does before listening: open the database, migrate, ensure the
 * bootstrap admin, seed demo principals on a fresh embedded database, build the app, start the
 * job engine's workers and schedules.
 */
export async function startService(config: Config): Promise<RunningService> {
  const database = await openDatabase(config, { purpose: 'server' })
  let jobs: JobEngine | undefined
  try {
    const applied = await migrateToLatest(database)
    // The engine exists before the app (whose routes send to it), so it logs through a logger of its own, configured alike.
    const log = pino({ level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }).child({ module: 'jobs' })
    jobs = new JobEngine({ database, config, clock: systemClock, log, workers: true })
    const app = await buildApp({ config, database, clock: systemClock, jobs })
    if (applied.length > 0) app.log.info({ applied, database: database.kind }, 'migrations applied')
    const deps = { db: database.db, clock: systemClock }
    if (config.bootstrapAdminKey) {
      const id = await ensureBootstrapAdmin(deps, config.bootstrapAdminKey)
      app.log.info({ principalId: id }, 'bootstrap admin key is active')
    }
    if (config.seedDemo) await seedDemoPrincipals({ ...deps, log: app.log as never }, config.dataDir)
    // Workers and schedules run in every instance; pg-boss hands each run to one of them.
    await jobs.start()
    await app.listen({ port: config.port, host: config.host })
    let stopping: Promise<void> | undefined
    const engine = jobs
    const stop = () =>
      (stopping ??= (async () => {
        await app.close()
        // After the requests (which may send jobs), before the database the running jobs need.
        await engine.stop()
        await database.close()
      })())
    return { app, database, jobs: engine, stop }
  } catch (error) {
    await jobs?.stop()
    await database.close()
    throw error
  }
}

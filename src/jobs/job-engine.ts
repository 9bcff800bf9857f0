import { webhookDeps } from '../webhooks/index.js'
import { CompiledQuery, type Kysely } from 'kysely'
import PgBoss from 'pg-boss'
import { ConfigError, type Config } from '../config.js'
import type { DatabaseHandle } from '../db/database.js'
import type { Database } from '../db/schema.js'
import type { Clock } from '../shared/clock.js'
import type { InvoicingDeps } from '../invoicing/invoice.service.js'
import { JOB_CATALOGUE } from './job-catalogue.js'
import { scheduleSettingOf, type JobDefinition, type JobDeps, type JobLog } from './job.js'
import * as repo from './job.repository.js'

/** How long a stop waits for running jobs before pg-boss fails them (they are then retried per policy). */
export const JOB_STOP_DEADLINE_MS = 8_000

export type JobEngineConfig = Pick<
  Config,
  'jobSchedules' | 'jobsPollMs' | 'auditKey' | 'webhookAllowHttp' | 'webhookAllowedNetworks' | 'webhookTimeoutMs' | 'webhookMaxAttempts' | 'einvoicingPlatform'
>

export interface JobEngineOptions {
  database: DatabaseHandle
  config: JobEngineConfig
  clock: Clock
  log: JobLog
  /**
   * true: this process runs jobs and applies the schedules (the service). false: it only
   * sends and reads jobs (an app built for tests, a CLI); nothing is fetched or scheduled.
   */
  workers: boolean
  /** The jobs known; the catalogue unless a test brings its own. */
  definitions?: readonly JobDefinition[]
}

/** A job's schedule as this instance applies it, and where it came from. */
export interface ResolvedSchedule {
  cron: string | null
  setting: string
  source: 'default' | 'setting'
}

/**
 * pg-boss's schema for a database: beside the application's schema on a server, so test
 * files (each with its own schema) never share queues; `pgboss` otherwise.
 */
export function jobsSchemaOf(database: Pick<DatabaseHandle, 'kind' | 'schema'>): string {
  return database.kind === 'postgres' && database.schema ? `${database.schema}_jobs` : 'pgboss'
}

/**
 * pg-boss over kysely: every pg-boss query goes through the application's own pool. On PGlite
 * that pool is one connection, so a pg-boss query waits for an open application transaction
 * instead of landing inside it; given a transaction, the query is part of it (a job sent
 * commits with the change that sent it).
 */
function executorOver(db: Kysely<Database>): { executeSql(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number }> } {
  return {
    async executeSql(text, values) {
      const result = await db.executeQuery(CompiledQuery.raw(text, values ?? []))
      return { rows: result.rows as any[], rowCount: Number(result.numAffectedRows ?? 0n) }
    },
  }
}

/**
 * The job engine: pg-boss on the database QTC uses, with one queue per definition. Starting
 * is lazy and once: installing or migrating pg-boss's schema and creating the queues happen on
 * the first use (or `start()`), so an app that never touches jobs pays nothing.
 */
export class JobEngine {
  readonly schema: string
  readonly definitions: readonly JobDefinition[]
  readonly schedules: ReadonlyMap<string, ResolvedSchedule>
  private readonly boss: PgBoss
  private readonly deps: JobDeps
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined

  constructor(private readonly options: JobEngineOptions) {
    this.definitions = options.definitions ?? JOB_CATALOGUE
    this.schema = jobsSchemaOf(options.database)
    this.schedules = resolveSchedules(this.definitions, options.config.jobSchedules)
    this.deps = {
      db: options.database.db,
      clock: options.clock,
      log: options.log,
      auditKey: options.config.auditKey,
      webhooks: webhookDeps(options.config, options.database.db, options.clock),
      invoicing: null,
    }
    this.boss = new PgBoss({
      db: executorOver(options.database.db),
      schema: this.schema,
      migrate: true,
      // Maintenance (expiring stuck runs, archiving, deleting old ones) and cron belong to the instances that work.
      supervise: options.workers,
      schedule: options.workers,
    } as PgBoss.ConstructorOptions)
    this.boss.on('error', (error) => options.log.error({ err: error }, 'job engine error'))
  }

  /** Gives jobs the services the app builds after the engine (the rule set registry…). */
  attach(services: { invoicing: InvoicingDeps }): void {
    this.deps.invoicing = services.invoicing
  }

  definition(name: string): JobDefinition | undefined {
    return this.definitions.find((d) => d.name === name)
  }

  /** Why a job cannot run here, or null. */
  disabledReason(definition: JobDefinition): string | null {
    return definition.disabledReason({ auditKey: this.options.config.auditKey, einvoicingPlatform: this.options.config.einvoicingPlatform })
  }

  /** Installs or migrates pg-boss's schema, creates the queues; with workers, starts them and applies the schedules. */
  start(): Promise<void> {
    this.starting ??= this.startOnce().catch((error) => {
      this.starting = undefined
      throw error
    })
    return this.starting
  }

  private async startOnce(): Promise<void> {
    await this.boss.start()
    for (const definition of this.definitions) {
      const policy = {
        name: definition.name,
        policy: definition.queuePolicy,
        retryLimit: definition.retry.retryLimit,
        retryDelay: definition.retry.retryDelaySeconds,
        retryBackoff: definition.retry.retryBackoff,
        expireInSeconds: definition.expireInSeconds,
      }
      // create_queue does nothing when the queue exists (another instance made it); the update applies this catalogue's policy.
      await this.boss.createQueue(definition.name, policy)
      await this.boss.updateQueue(definition.name, policy)
    }
    if (!this.options.workers) return
    for (const definition of this.definitions) {
      const disabled = this.disabledReason(definition)
      const cron = disabled ? null : (this.schedules.get(definition.name)?.cron ?? null)
      // Schedules live in the database, shared by all instances: each applies its settings (give them all the same).
      if (cron)
        await this.boss.schedule(definition.name, cron, undefined, { tz: 'UTC', ...(definition.singletonKey ? { singletonKey: definition.singletonKey } : {}) })
      else await this.boss.unschedule(definition.name)
      if (disabled) {
        this.options.log.info({ job: definition.name, reason: disabled }, 'job disabled')
        continue
      }
      await this.boss.work(definition.name, { pollingIntervalSeconds: this.options.config.jobsPollMs / 1000, batchSize: 1 }, async ([job]) =>
        this.runJob(definition, job!.id),
      )
    }
  }

  private async runJob(definition: JobDefinition, jobId: string) {
    const context = {
      jobId,
      reportProgress: (done: number, total: number) => repo.writeProgress(this.deps.db, this.schema, definition.name, jobId, done, total),
    }
    try {
      return await definition.run(this.deps, context)
    } catch (error) {
      // pg-boss records the error as the run's output and retries per policy; the log says so too.
      this.options.log.error({ err: error, job: definition.name, jobId }, 'job failed')
      throw error
    }
  }

  /**
   * Queues a run in the caller's transaction; with a stately queue already holding a queued
   * run, that run is the answer (it will do the work) and `queued` is false.
   */
  async sendIn(trx: Kysely<Database>, definition: JobDefinition, data: Record<string, unknown>): Promise<{ id: string; queued: boolean }> {
    await this.start()
    // A queued run can start (and so stop blocking) between the refused insert and the look-up: try again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = await this.boss.send(definition.name, data, {
        db: executorOver(trx),
        ...(definition.singletonKey ? { singletonKey: definition.singletonKey } : {}),
      } as PgBoss.SendOptions)
      if (id) return { id, queued: true }
      const existing = await repo.findQueuedRun(trx, this.schema, definition.name, definition.singletonKey)
      if (existing) return { id: existing, queued: false }
    }
    throw new Error(`could not queue ${definition.name}: a run kept appearing and starting`)
  }

  /** Stops fetching, lets running jobs finish within the deadline (then fails them, to be retried), stops the schedules. */
  stop(deadlineMs = JOB_STOP_DEADLINE_MS): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.starting) return
      await this.starting.catch(() => undefined)
      await this.boss.stop({ graceful: true, wait: true, close: false, timeout: deadlineMs })
    })()
    return this.stopping
  }
}

function resolveSchedules(definitions: readonly JobDefinition[], settings: Record<string, string>): Map<string, ResolvedSchedule> {
  const known = new Map(definitions.map((d) => [scheduleSettingOf(d.name), d]))
  for (const name of Object.keys(settings)) {
    if (!known.has(name)) {
      throw new ConfigError(`Invalid ${name}: no job is named by it; the schedule settings are ${[...known.keys()].join(', ')}`)
    }
  }
  const resolved = new Map<string, ResolvedSchedule>()
  for (const [setting, definition] of known) {
    const value = settings[setting]
    resolved.set(
      definition.name,
      value === undefined
        ? { cron: definition.defaultSchedule, setting, source: 'default' }
        : { cron: value === 'off' ? null : value, setting, source: 'setting' },
    )
  }
  return resolved
}

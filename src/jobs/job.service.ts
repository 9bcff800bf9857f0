import { appendAudit } from '../audit/audit.service.js'
import type { Db } from '../db/database.js'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { Clock } from '../shared/clock.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import type { JobEngine, ResolvedSchedule } from './job-engine.js'
import type { JobRun, QueuePolicy, RetryPolicy } from './job.js'
import * as repo from './job.repository.js'

export interface JobServiceDeps {
  db: Db
  clock: Clock
  engine: JobEngine
}

/** Runs shown per job in the catalogue: the default and the most a caller may ask for. */
export const DEFAULT_LAST_RUNS = 5
export const MAX_LAST_RUNS = 20

export interface JobQueueView {
  name: string
  description: string
  enabled: boolean
  disabledReason: string | null
  queuePolicy: QueuePolicy
  singletonKey: string | null
  retry: RetryPolicy
  expireInSeconds: number
  schedule: ResolvedSchedule
  lastRuns: JobRun[]
}

/** The catalogue with each job's policy, schedule and newest runs. */
export async function listJobs(deps: JobServiceDeps, runs: number): Promise<JobQueueView[]> {
  await deps.engine.start()
  const views: JobQueueView[] = []
  for (const definition of deps.engine.definitions) {
    const disabledReason = deps.engine.disabledReason(definition)
    const schedule = deps.engine.schedules.get(definition.name)!
    views.push({
      name: definition.name,
      description: definition.description,
      enabled: disabledReason === null,
      disabledReason,
      queuePolicy: definition.queuePolicy,
      singletonKey: definition.singletonKey,
      retry: definition.retry,
      expireInSeconds: definition.expireInSeconds,
      // A disabled job is not scheduled, whatever its setting says.
      schedule: disabledReason ? { ...schedule, cron: null } : schedule,
      lastRuns: await repo.lastRuns(deps.db, deps.engine.schema, definition.name, runs),
    })
  }
  return views
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** One run of a catalogued job; pg-boss's internal queues are not shown. */
export async function getJobRun(deps: JobServiceDeps, id: string): Promise<JobRun> {
  const run = UUID.test(id)
    ? (await deps.engine.start(),
      await repo.findRun(
        deps.db,
        deps.engine.schema,
        id,
        deps.engine.definitions.map((d) => d.name),
      ))
    : undefined
  if (!run) throw new AppError('NOT_FOUND', `No job run ${id}.`)
  return run
}

export interface RunRequested {
  id: string
  name: string
  /** false when a run of this job was already queued: that run is the answer, none was added. */
  queued: boolean
}

/**
 * Queues a run now, in one transaction with its audit entry and the Idempotency-Key's record:
 * the same key answers with the same run, and a run exists if and only if the request committed.
 */
export async function requestJobRun(
  deps: JobServiceDeps,
  principal: Principal,
  name: string,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<RunRequested>> {
  const definition = deps.engine.definition(name)
  if (!definition) throw new AppError('NOT_FOUND', `No job ${name}.`)
  const disabled = deps.engine.disabledReason(definition)
  if (disabled) throw new AppError('JOB_DISABLED', `Job ${name} is disabled: ${disabled}.`)
  await deps.engine.start()
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const sent = await deps.engine.sendIn(trx, definition, { requestedBy: principal.id })
      await appendAudit(trx, deps.clock.now(), {
        actorId: principal.id,
        action: 'job.run_requested',
        entityType: 'job',
        entityId: sent.id,
        after: { name, queued: sent.queued },
      })
      return { status: 202, body: { id: sent.id, name, queued: sent.queued } }
    },
  )
}

import type { InvoicingDeps } from '../invoicing/invoice.service.js'
import type { WebhookDeps } from '../webhooks/index.js'
import type { Db } from '../db/database.js'
import type { Clock } from '../shared/clock.js'

/** What every job may use; built once by the engine from the service's own dependencies. */
export interface JobDeps {
  db: Db
  clock: Clock
  log: JobLog
  /** The audit key, when configured: `audit.checkpoint` signs with it. */
  auditKey: string | null
  /** What relaying and delivering webhooks need: the URL policy, timeout and attempts from the settings. */
  webhooks: WebhookDeps
  /**
   * What invoice runs need (the rule set in service, the seller legal entities): built by the
   * app, which attaches it to the engine (`JobEngine.attach`); null until then.
   */
  invoicing: InvoicingDeps | null
}

export interface JobLog {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

/** What a running job is given besides its dependencies. */
export interface JobContext {
  jobId: string
  /** Records how far a long run is (done of total), readable at `GET /v1/jobs/:id` while it runs. */
  reportProgress(done: number, total: number): Promise<void>
}

/** A job's result: counts and the like, stored by pg-boss as the job's output. */
export type JobOutcome = Record<string, string | number | boolean | null>

/**
 * How pg-boss queues a job: `standard` lets runs overlap; `stately` keeps at most one queued
 * and one running per singleton key, so a schedule firing while a run is queued adds nothing.
 */
export type QueuePolicy = 'standard' | 'stately'

export interface RetryPolicy {
  /** Retries after the first attempt fails (0: none). */
  retryLimit: number
  /** Seconds before a retry. */
  retryDelaySeconds: number
  /** Doubles the delay at each retry (with jitter) when true. */
  retryBackoff: boolean
}

/** One entry of the catalogue: data about a job and the plain function that does it. */
export interface JobDefinition {
  /** Queue name: `<module>.<verb>`, lower case. */
  name: string
  description: string
  queuePolicy: QueuePolicy
  /** Runs sharing this key never overlap (with `stately`); null when overlapping runs are harmless. */
  singletonKey: string | null
  retry: RetryPolicy
  /** A run still active after this long is failed (and retried per policy). */
  expireInSeconds: number
  /** Default schedule, a 5-field cron expression in UTC, or null: only when sent. */
  defaultSchedule: string | null
  /** Null when the job can run; otherwise why it cannot (a setting it needs is missing). */
  disabledReason(settings: JobSettings): string | null
  run(deps: JobDeps, context: JobContext): Promise<JobOutcome>
}

/** The settings a definition may look at to know whether it can run. */
export interface JobSettings {
  auditKey: string | null
  einvoicingPlatform: string
}

/** `quotes.expire` → `QTC_SCHEDULE_QUOTES_EXPIRE`: the variable that sets a job's schedule. */
export function scheduleSettingOf(jobName: string): string {
  return `QTC_SCHEDULE_${jobName.toUpperCase().replaceAll(/[^A-Z0-9]/g, '_')}`
}

export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const
export type JobState = (typeof JOB_STATES)[number]

/** One run of a job as the API shows it. */
export interface JobRun {
  id: string
  name: string
  state: JobState
  progress: { done: number; total: number } | null
  outcome: Record<string, unknown> | null
  error: { message: string } | null
  retryCount: number
  retryLimit: number
  createdAt: Date
  startedAt: Date | null
  completedAt: Date | null
}

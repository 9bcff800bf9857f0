import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../db/schema.js'
import type { JobRun, JobState } from './job.js'

/**
 * Reads of pg-boss's own tables (in the engine's schema), for what pg-boss has no call for:
 * a run by id alone, the last runs of a queue, progress written into a running job's output.
 * Jobs live in `job` until pg-boss archives them (completed after 12 hours), then in `archive`
 * until deleted (after 7 days), so reads look at both.
 */

type Executor = Kysely<Database>

interface RunRow {
  id: string
  name: string
  state: JobState
  output: unknown
  retry_count: number
  retry_limit: number
  created_on: Date
  started_on: Date | null
  completed_on: Date | null
}

const COLUMNS = sql.raw('id::text as id, name, state::text as state, output, retry_count, retry_limit, created_on, started_on, completed_on')

function table(schema: string, name: 'job' | 'archive'): RawBuilder<unknown> {
  return sql`${sql.id(schema, name)}`
}

export async function findRun(db: Executor, schema: string, id: string, names: readonly string[]): Promise<JobRun | undefined> {
  const { rows } = await sql<RunRow>`
    select ${COLUMNS} from ${table(schema, 'job')} where id = ${id}::uuid and name = any(${[...names]}::text[])
    union all
    select ${COLUMNS} from ${table(schema, 'archive')} where id = ${id}::uuid and name = any(${[...names]}::text[])
    limit 1`.execute(db)
  return rows[0] && toRun(rows[0])
}

/** The newest `limit` runs of a queue, newest first. */
export async function lastRuns(db: Executor, schema: string, name: string, limit: number): Promise<JobRun[]> {
  const { rows } = await sql<RunRow>`
    select * from (
      (select ${COLUMNS} from ${table(schema, 'job')} where name = ${name} order by created_on desc limit ${limit})
      union all
      (select ${COLUMNS} from ${table(schema, 'archive')} where name = ${name} order by created_on desc limit ${limit})
    ) runs order by created_on desc, id limit ${limit}`.execute(db)
  return rows.map(toRun)
}

/** The queued (created, not yet running) run of a queue, if any: what a stately queue refused a second of. */
export async function findQueuedRun(db: Executor, schema: string, name: string, singletonKey: string | null): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    select id::text as id from ${table(schema, 'job')}
    where name = ${name} and state = 'created' and coalesce(singleton_key, '') = ${singletonKey ?? ''}
    order by created_on limit 1`.execute(db)
  return rows[0]?.id
}

/**
 * Progress of a running job, kept in its output until pg-boss replaces it with the outcome
 * (or the error). Only while active: a late write never overwrites a finished run's result.
 */
export async function writeProgress(db: Executor, schema: string, name: string, id: string, done: number, total: number): Promise<void> {
  await sql`
    update ${table(schema, 'job')} set output = ${JSON.stringify({ progress: { done, total } })}::jsonb
    where name = ${name} and id = ${id}::uuid and state = 'active'`.execute(db)
}

function toRun(row: RunRow): JobRun {
  const output = isObject(row.output) ? row.output : null
  const failed = row.state === 'failed' || row.state === 'retry'
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    progress: row.state === 'active' && output && isProgress(output.progress) ? output.progress : null,
    outcome: row.state === 'completed' ? output : null,
    error: failed && output ? { message: errorMessage(output) } : null,
    retryCount: row.retry_count,
    retryLimit: row.retry_limit,
    createdAt: row.created_on,
    startedAt: row.started_on,
    completedAt: row.completed_on,
  }
}

/** pg-boss stores a thrown error serialised (`message`, `stack`…), a timeout as `{ value: { message } }`. */
function errorMessage(output: Record<string, unknown>): string {
  if (typeof output.message === 'string') return output.message.slice(0, 1000)
  if (isObject(output.value) && typeof output.value.message === 'string') return output.value.message.slice(0, 1000)
  return JSON.stringify(output).slice(0, 1000)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isProgress(value: unknown): value is { done: number; total: number } {
  return isObject(value) && typeof value.done === 'number' && typeof value.total === 'number'
}

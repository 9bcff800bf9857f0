import { sql, type Transaction } from 'kysely'
import { AppError } from '../errors.js'
import type { Db } from '../db/database.js'
import type { Database } from '../db/schema.js'
import { contentHash } from './hash.js'

/** Keys older than this are forgotten: a retry after a day is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000

export interface IdempotencyRequest {
  principalId: string
  key: string
  method: string
  path: string
  body: unknown
  /** The API form of the response body, when the domain result is not JSON itself (a snapshot with bigints): what is stored and replayed. */
  present?: (body: never) => unknown
}

export interface IdempotentResult<T> {
  status: number
  body: T
  /** What a replay returns, when it must differ from the first answer (a secret shown once). */
  replayBody?: T
}

export interface StoredResponse<T> {
  status: number
  body: T
  /** True when this response is the replay of an earlier one. */
  replayed: boolean
}

/**
 * Runs `work` in one transaction, at most once per (principal, Idempotency-Key).
 *
 * Concurrency: the transaction first takes a transaction-scoped advisory lock on the key
 * with `pg_try_advisory_xact_lock`. If another transaction holds it, the same key is in
 * flight and we answer 409 at once rather than queue behind it. Holding the lock, we read
 * the stored row: a live one is replayed (same request) or refused (422, different
 * request). Otherwise the work runs and its response is inserted in the same transaction,
 * so the key is claimed if and only if the work commits. A failure (validation included)
 * rolls back both: nothing is stored and the key stays free for a corrected retry.
 */
export async function runIdempotent<T>(
  db: Db,
  request: IdempotencyRequest | null,
  now: () => Date,
  work: (trx: Transaction<Database>) => Promise<IdempotentResult<T>>,
): Promise<StoredResponse<T>> {
  if (!request) {
    return db.transaction().execute(async (trx) => {
      const { status, body } = await work(trx)
      return { status, body, replayed: false }
    })
  }
  const requestHash = contentHash({ method: request.method, path: request.path, body: request.body ?? null })
  return db.transaction().execute(async (trx) => {
    const lockKey = contentHash([request.principalId, request.key])
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(('x' || substr(${lockKey}, 1, 16))::bit(64)::bigint) as locked`.execute(trx)
    if (!rows[0]?.locked) {
      throw new AppError('IDEMPOTENCY_IN_FLIGHT', 'A request with this Idempotency-Key is still in progress; retry later.')
    }
    const existing = await trx
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('principal_id', '=', request.principalId)
      .where('key', '=', request.key)
      .executeTakeFirst()
    const expired = existing && now().getTime() - existing.created_at.getTime() > IDEMPOTENCY_TTL_MS
    if (existing && !expired) {
      if (existing.request_hash !== requestHash) {
        throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request.', {
          firstRequest: { method: existing.method, path: existing.path },
        })
      }
      return { status: existing.response_status, body: existing.response_body as T, replayed: true }
    }
    if (existing) {
      await trx.deleteFrom('idempotency_keys').where('principal_id', '=', request.principalId).where('key', '=', request.key).execute()
    }
    const result = await work(trx)
    await trx
      .insertInto('idempotency_keys')
      .values({
        principal_id: request.principalId,
        key: request.key,
        method: request.method,
        path: request.path,
        request_hash: requestHash,
        response_status: result.status,
        response_body: JSON.stringify((request.present as ((body: T) => unknown) | undefined)?.(result.replayBody ?? result.body) ?? result.replayBody ?? result.body),
        created_at: now(),
      })
      .execute()
    return { status: result.status, body: result.body, replayed: false }
  })
}

/** Deletes keys past their time to live; returns how many. Safe to run from any instance. */
export async function purgeExpiredIdempotencyKeys(db: Db, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', new Date(now.getTime() - IDEMPOTENCY_TTL_MS))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

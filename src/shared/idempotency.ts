import { sql, type Transaction } from 'kysely'
import { AppError } from '../errors.js'
import type { Db } from '../db/database.js'
import type { Database } from '../db/schema.js'
import { contentHash } from './hash.js'

/** Keys older than this are forgotten: a retry after a day is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000

/** An answer as bytes on the wire, with the content type they were sent with. */
export interface RenderedResponse {
  bytes: Buffer
  contentType: string
}

export interface IdempotencyRequest {
  principalId: string
  key: string
  method: string
  path: string
  /** The body as the client sent it: with the method and path, what makes a retry the same request. */
  body: unknown
  /** The API form of the response body, when the domain result is not JSON itself (a snapshot with bigints): what is rendered and stored. */
  present?: (body: never) => unknown
  /** The request's hash when the HTTP edge computed it already (before validation filled in defaults). */
  requestHash?: string
  /**
   * Renders an answer to the bytes the client receives. The first answer is stored as these
   * bytes and a replay sends them unchanged. Without it (in-process callers) answers are
   * stored as plain JSON.
   */
  render?: (status: number, body: unknown) => RenderedResponse
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
  /** The bytes to send, when the request came with a renderer: the first answer's, or the stored ones. */
  rendered?: RenderedResponse
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** What identifies "the same request" for a key: method, path with query, and the body's canonical JSON. */
export function requestHashOf(request: Pick<IdempotencyRequest, 'method' | 'path' | 'body'>): string {
  return contentHash({ method: request.method, path: request.path, body: request.body ?? null })
}

/**
 * The stored answer for this key and request, or null: none, expired, or stored for a
 * different request (which `runIdempotent` then refuses under the key's lock). Read without
 * the lock: a row is only ever visible once its work has committed, so replaying it is safe.
 */
export async function findReplay(
  db: Db,
  principalId: string,
  key: string,
  requestHash: string,
  now: Date,
): Promise<{ status: number; rendered: RenderedResponse } | null> {
  const row = await db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'response_status', 'response_bytes', 'response_type', 'created_at'])
    .where('principal_id', '=', principalId)
    .where('key', '=', key)
    .executeTakeFirst()
  if (!row || row.request_hash !== requestHash || isExpired(row.created_at, now)) return null
  return { status: row.response_status, rendered: { bytes: row.response_bytes, contentType: row.response_type } }
}

function isExpired(createdAt: Date, now: Date): boolean {
  return now.getTime() - createdAt.getTime() > IDEMPOTENCY_TTL_MS
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
  const requestHash = request.requestHash ?? requestHashOf(request)
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
    const expired = existing && isExpired(existing.created_at, now())
    if (existing && !expired) {
      if (existing.request_hash !== requestHash) {
        throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request.', {
          firstRequest: { method: existing.method, path: existing.path },
        })
      }
      const rendered = { bytes: existing.response_bytes, contentType: existing.response_type }
      // The parsed body serves callers that read the answer (an ETag from its version); the bytes are what is sent.
      const body = JSON.parse(rendered.bytes.toString('utf8')) as T
      return { status: existing.response_status, body, replayed: true, ...(request.render ? { rendered } : {}) }
    }
    if (existing) {
      await trx.deleteFrom('idempotency_keys').where('principal_id', '=', request.principalId).where('key', '=', request.key).execute()
    }
    const result = await work(trx)
    // Rendered inside the transaction: the key is stored with exactly the bytes the client gets.
    const show = (body: T) => (request.present ? (request.present as (b: T) => unknown)(body) : body)
    const sent = request.render?.(result.status, show(result.body))
    const kept = result.replayBody === undefined ? sent : request.render?.(result.status, show(result.replayBody))
    await trx
      .insertInto('idempotency_keys')
      .values({
        principal_id: request.principalId,
        key: request.key,
        method: request.method,
        path: request.path,
        request_hash: requestHash,
        response_status: result.status,
        response_bytes: kept?.bytes ?? Buffer.from(JSON.stringify(show(result.replayBody ?? result.body)), 'utf8'),
        response_type: kept?.contentType ?? JSON_CONTENT_TYPE,
        created_at: now(),
      })
      .execute()
    return { status: result.status, body: result.body, replayed: false, ...(sent ? { rendered: sent } : {}) }
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

import { sql, type Kysely, type Selectable } from 'kysely'
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from '../db/schema.js'
import type { DeliveryAttempt, DeliveryState, WebhookDelivery, WebhookEndpoint } from './webhook.js'

type Executor = Kysely<Database>

function toEndpoint(r: Selectable<WebhookEndpointsTable>): WebhookEndpoint {
  return {
    id: r.id,
    url: r.url,
    eventTypes: r.event_types,
    description: r.description,
    enabled: r.enabled,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

function toDelivery(r: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    eventType: r.event_type,
    state: r.state,
    attemptCount: r.attempt_count,
    nextAttemptAt: r.next_attempt_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

/** Serialises endpoint creation, so the count checked against MAX_ENDPOINTS cannot be passed by two at once. */
export async function lockEndpointRegistry(trx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(7355608003)`.execute(trx)
}

export async function countEndpoints(trx: Executor): Promise<number> {
  const row = await trx
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function insertEndpoint(
  trx: Executor,
  e: { id: string; url: string; eventTypes: string[]; description: string | null; enabled: boolean; secret: string; createdBy: string; now: Date },
): Promise<WebhookEndpoint> {
  const row = await trx
    .insertInto('webhook_endpoints')
    .values({
      id: e.id,
      url: e.url,
      event_types: e.eventTypes,
      description: e.description,
      enabled: e.enabled,
      secret: e.secret,
      created_by: e.createdBy,
      created_at: e.now,
      updated_at: e.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toEndpoint(row)
}

export async function findEndpoint(db: Executor, id: string): Promise<WebhookEndpoint | undefined> {
  const row = await db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toEndpoint(row) : undefined
}

export async function listEndpoints(db: Executor, limit: number, after: string | undefined): Promise<WebhookEndpoint[]> {
  let q = db.selectFrom('webhook_endpoints').selectAll().orderBy('id').limit(limit)
  if (after) q = q.where('id', '>', after)
  return (await q.execute()).map(toEndpoint)
}

/** Compare-and-swap on the version: undefined when the endpoint is gone or changed since it was read. */
export async function updateEndpoint(
  trx: Executor,
  id: string,
  expectedVersion: number,
  patch: { url?: string; eventTypes?: string[]; description?: string | null; enabled?: boolean; secret?: string },
  now: Date,
): Promise<WebhookEndpoint | undefined> {
  const row = await trx
    .updateTable('webhook_endpoints')
    .set({
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.eventTypes !== undefined ? { event_types: patch.eventTypes } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(patch.secret !== undefined ? { secret: patch.secret } : {}),
      version: sql`version + 1`,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .returningAll()
    .executeTakeFirst()
  return row ? toEndpoint(row) : undefined
}

export async function lockEndpoint(trx: Executor, id: string): Promise<WebhookEndpoint | undefined> {
  const row = await trx.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  return row ? toEndpoint(row) : undefined
}

export async function deleteEndpoint(trx: Executor, id: string): Promise<void> {
  await trx.deleteFrom('webhook_endpoints').where('id', '=', id).execute()
}

/** Enabled endpoints with what they subscribe to: the relay's fan-out (at most MAX_ENDPOINTS). */
export async function enabledSubscriptions(trx: Executor): Promise<Array<{ id: string; eventTypes: string[] }>> {
  const rows = await trx.selectFrom('webhook_endpoints').select(['id', 'event_types']).where('enabled', '=', true).orderBy('id').execute()
  return rows.map((r) => ({ id: r.id, eventTypes: r.event_types }))
}

export interface NewDelivery {
  id: string
  endpointId: string
  eventId: string
  eventType: string
  aggregateType: string
  aggregateId: string
  eventSeq: bigint
  now: Date
}

/** Inserts deliveries, skipping any (endpoint, event) that has one already; returns how many were new. */
export async function insertDeliveries(trx: Executor, deliveries: NewDelivery[]): Promise<number> {
  if (deliveries.length === 0) return 0
  const result = await trx
    .insertInto('webhook_deliveries')
    .values(
      deliveries.map((d) => ({
        id: d.id,
        endpoint_id: d.endpointId,
        event_id: d.eventId,
        event_type: d.eventType,
        aggregate_type: d.aggregateType,
        aggregate_id: d.aggregateId,
        event_seq: d.eventSeq,
        next_attempt_at: d.now,
        created_at: d.now,
        updated_at: d.now,
      })),
    )
    .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n)
}

export interface ClaimedDelivery {
  id: string
  eventId: string
  attempt: number
  url: string
  secret: string
}

/**
 * Claims up to `limit` due deliveries for one attempt each: pending, due, not leased, their
 * endpoint enabled, and no earlier event of the same aggregate still pending for the same
 * endpoint. Rows another claim has locked are skipped (SKIP LOCKED), and the lease written
 * here keeps every other instance off them after this statement commits, until `leaseUntil`.
 * The attempt is counted now, so an attempt cut short by a crash still counts.
 */
export async function claimDue(db: Executor, now: Date, leaseUntil: Date, token: string, limit: number): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<{ id: string; event_id: string; attempt_count: number; url: string; secret: string }>`
    with due as (
      select d.id from webhook_deliveries d
      join webhook_endpoints e on e.id = d.endpoint_id
      where d.state = 'pending' and d.next_attempt_at <= ${now} and (d.locked_until is null or d.locked_until <= ${now}) and e.enabled
        and not exists (
          select 1 from webhook_deliveries p
          where p.endpoint_id = d.endpoint_id and p.aggregate_type = d.aggregate_type and p.aggregate_id = d.aggregate_id
            and p.state = 'pending' and p.event_seq < d.event_seq)
      order by d.next_attempt_at, d.event_seq
      limit ${limit}
      for update of d skip locked
    )
    update webhook_deliveries w
    set locked_until = ${leaseUntil}, lease_token = ${token}, attempt_count = w.attempt_count + 1, updated_at = ${now}
    from due, webhook_endpoints e
    where w.id = due.id and e.id = w.endpoint_id
    returning w.id, w.event_id, w.attempt_count, e.url, e.secret`.execute(db)
  return rows.map((r) => ({ id: r.id, eventId: r.event_id, attempt: r.attempt_count, url: r.url, secret: r.secret }))
}

/** Records an attempt's outcome if the claim `token` still holds the delivery; false when it does not (deleted, or re-claimed after the lease ran out). */
export async function recordAttempt(
  trx: Executor,
  deliveryId: string,
  token: string,
  outcome: { state: DeliveryState; nextAttemptAt: Date; lastStatus: number | null; lastError: string | null; deliveredAt: Date | null; now: Date },
  attempt: DeliveryAttempt,
): Promise<boolean> {
  const updated = await trx
    .updateTable('webhook_deliveries')
    .set({
      state: outcome.state,
      next_attempt_at: outcome.nextAttemptAt,
      locked_until: null,
      lease_token: null,
      last_status: outcome.lastStatus,
      last_error: outcome.lastError,
      delivered_at: outcome.deliveredAt,
      updated_at: outcome.now,
    })
    .where('id', '=', deliveryId)
    .where('lease_token', '=', token)
    .returning('id')
    .executeTakeFirst()
  if (!updated) return false
  await trx
    .insertInto('webhook_delivery_attempts')
    .values({
      delivery_id: deliveryId,
      attempt: attempt.attempt,
      attempted_at: attempt.attemptedAt,
      status: attempt.status,
      error: attempt.error,
      response_body: attempt.responseBody,
      response_truncated: attempt.responseTruncated,
      duration_ms: attempt.durationMs,
    })
    .execute()
  return true
}

export async function listDeliveries(
  db: Executor,
  endpointId: string,
  state: DeliveryState | undefined,
  limit: number,
  after: string | undefined,
): Promise<WebhookDelivery[]> {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId).orderBy('id').limit(limit)
  if (state) q = q.where('state', '=', state)
  if (after) q = q.where('id', '>', after)
  return (await q.execute()).map(toDelivery)
}

export async function findDelivery(db: Executor, id: string): Promise<WebhookDelivery | undefined> {
  const row = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toDelivery(row) : undefined
}

/** The newest `limit` attempts of a delivery, oldest first. */
export async function attemptsOf(db: Executor, deliveryId: string, limit: number): Promise<DeliveryAttempt[]> {
  const rows = await db.selectFrom('webhook_delivery_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('id', 'desc').limit(limit).execute()
  return rows.reverse().map((r) => ({
    attempt: r.attempt,
    attemptedAt: r.attempted_at,
    status: r.status,
    error: r.error,
    responseBody: r.response_body,
    responseTruncated: r.response_truncated,
    durationMs: r.duration_ms,
  }))
}

/** Queues a finished delivery again with a fresh attempt count; undefined when it is not finished (pending). */
export async function requeue(trx: Executor, id: string, now: Date): Promise<WebhookDelivery | undefined> {
  const row = await trx
    .updateTable('webhook_deliveries')
    .set({ state: 'pending', attempt_count: 0, next_attempt_at: now, locked_until: null, lease_token: null, updated_at: now })
    .where('id', '=', id)
    .where('state', 'in', ['failed', 'delivered'])
    .returningAll()
    .executeTakeFirst()
  return row ? toDelivery(row) : undefined
}

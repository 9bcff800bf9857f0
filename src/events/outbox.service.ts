import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { newId } from '../shared/ids.js'
import { checkedPayload, EVENT_CATALOGUE, type EventPayload, type EventType } from './event-catalogue.js'
import * as repo from './outbox.repository.js'
import type { OutboxRow } from './outbox.repository.js'

export type { OutboxRow }
type Executor = Kysely<Database>

/** Any 64-bit constant: the advisory lock that lets one relay at a time read the outbox. */
const OUTBOX_RELAY_LOCK = 7_355_608_002

export interface NewEvent<T extends EventType> {
  type: T
  aggregateType: string
  aggregateId: string
  payload: EventPayload<T>
}

/**
 * Writes a domain event to the outbox in the caller's transaction: it exists if and only if
 * the change commits. Only catalogue types, with their payloads checked against the schema
 * of the type's current version (a mismatch throws: the change rolls back).
 */
export async function appendEvent<T extends EventType>(trx: Executor, at: Date, event: NewEvent<T>): Promise<void> {
  const payload = checkedPayload(event.type, event.payload)
  await repo.insertEvent(trx, {
    id: newId('evt'),
    type: event.type,
    version: EVENT_CATALOGUE[event.type].version,
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    payload,
    createdAt: at,
  })
}

/**
 * Hands the oldest unpublished events, in write order, to `handle` and marks them published,
 * all in one transaction. One relay at a time (a transaction-scoped advisory lock, waited
 * for): two relays taking interleaved batches could otherwise hand on event N+1 of an
 * aggregate before event N, whose batch is not yet committed.
 */
export async function relayEvents<R>(
  db: Kysely<Database>,
  at: () => Date,
  limit: number,
  handle: (trx: Executor, events: OutboxRow[]) => Promise<R>,
): Promise<{ events: OutboxRow[]; result: R }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${OUTBOX_RELAY_LOCK})`.execute(trx)
    const events = await repo.unpublished(trx, limit)
    const result = await handle(trx, events)
    await repo.markPublished(
      trx,
      events.map((e) => e.id),
      at(),
    )
    return { events, result }
  })
}

export function eventsByIds(db: Executor, ids: string[]): Promise<OutboxRow[]> {
  return repo.eventsByIds(db, ids)
}

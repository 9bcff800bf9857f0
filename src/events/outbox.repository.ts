import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

type Executor = Kysely<Database>

export interface OutboxRow {
  id: string
  type: string
  version: number
  aggregateType: string
  aggregateId: string
  payload: unknown
  seq: bigint
  createdAt: Date
}

const COLUMNS = ['id', 'type', 'version', 'aggregate_type', 'aggregate_id', 'payload', 'seq', 'created_at'] as const

function toRow(r: {
  id: string
  type: string
  version: number
  aggregate_type: string
  aggregate_id: string
  payload: unknown
  seq: bigint
  created_at: Date
}): OutboxRow {
  return {
    id: r.id,
    type: r.type,
    version: r.version,
    aggregateType: r.aggregate_type,
    aggregateId: r.aggregate_id,
    payload: r.payload,
    seq: r.seq,
    createdAt: r.created_at,
  }
}

export async function insertEvent(
  trx: Executor,
  event: { id: string; type: string; version: number; aggregateType: string; aggregateId: string; payload: unknown; createdAt: Date },
): Promise<void> {
  await trx
    .insertInto('outbox_events')
    .values({
      id: event.id,
      type: event.type,
      version: event.version,
      aggregate_type: event.aggregateType,
      aggregate_id: event.aggregateId,
      payload: JSON.stringify(event.payload),
      created_at: event.createdAt,
    })
    .execute()
}

/** The oldest unpublished events in write order. */
export async function unpublished(trx: Executor, limit: number): Promise<OutboxRow[]> {
  const rows = await trx.selectFrom('outbox_events').select(COLUMNS).where('published_at', 'is', null).orderBy('seq').limit(limit).execute()
  return rows.map(toRow)
}

export async function markPublished(trx: Executor, ids: string[], at: Date): Promise<void> {
  if (ids.length === 0) return
  await trx.updateTable('outbox_events').set({ published_at: at }).where('id', 'in', ids).where('published_at', 'is', null).execute()
}

export async function eventsByIds(db: Executor, ids: string[]): Promise<OutboxRow[]> {
  if (ids.length === 0) return []
  const rows = await db.selectFrom('outbox_events').select(COLUMNS).where('id', 'in', ids).execute()
  return rows.map(toRow)
}

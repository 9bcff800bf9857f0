import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { LifecycleStatus } from './einvoice-platform.js'

type Executor = Kysely<Database>

export type SubmissionStatus = 'pending' | LifecycleStatus

/** What is deposited: an invoice or a credit note, by id. */
export type EDocument = { kind: 'invoice'; id: string } | { kind: 'credit_note'; id: string }

const column = (document: EDocument) => (document.kind === 'invoice' ? 'invoice_id' : 'credit_note_id')

export interface Submission {
  document: EDocument
  platform: string
  status: SubmissionStatus
  reference: string | null
  attempts: number
  lastError: string | null
  nextAttemptAt: Date
}

export interface TimelineEvent {
  status: LifecycleStatus
  reason: string | null
  eventId: string
  occurredAt: Date
  receivedAt: Date
}

export async function insertSubmission(db: Executor, s: { document: EDocument; platform: string; now: Date }): Promise<void> {
  await db
    .insertInto('einvoice_submissions')
    .values({
      invoice_id: s.document.kind === 'invoice' ? s.document.id : null,
      credit_note_id: s.document.kind === 'credit_note' ? s.document.id : null,
      platform: s.platform,
      status: 'pending',
      next_attempt_at: s.now,
      created_at: s.now,
      updated_at: s.now,
    })
    .execute()
}

function toSubmission(r: {
  invoice_id: string | null
  credit_note_id: string | null
  platform: string
  status: string
  reference: string | null
  attempts: number
  last_error: string | null
  next_attempt_at: Date
}): Submission {
  return {
    document: r.invoice_id ? { kind: 'invoice', id: r.invoice_id } : { kind: 'credit_note', id: r.credit_note_id! },
    platform: r.platform,
    status: r.status as SubmissionStatus,
    reference: r.reference,
    attempts: r.attempts,
    lastError: r.last_error,
    nextAttemptAt: r.next_attempt_at,
  }
}

export async function findSubmission(db: Executor, document: EDocument): Promise<Submission | undefined> {
  const row = await db.selectFrom('einvoice_submissions').selectAll().where(column(document), '=', document.id).executeTakeFirst()
  return row && toSubmission(row)
}

/**
 * Claims up to `limit` deposits that are due: pending, their next attempt come. The claim
 * pushes the next attempt `leaseSeconds` ahead (SKIP LOCKED: two workers take different
 * ones), so a worker that dies mid-deposit leaves it to be tried again after the lease.
 */
export async function claimDueDeposits(db: Executor, platform: string, now: Date, limit: number, leaseSeconds: number): Promise<Submission[]> {
  const rows = await db
    .updateTable('einvoice_submissions')
    .set({ next_attempt_at: sql`${now}::timestamptz + make_interval(secs => ${leaseSeconds})`, attempts: sql`attempts + 1`, updated_at: now })
    .where('document_id', 'in', (eb) =>
      eb
        .selectFrom('einvoice_submissions')
        .select('document_id')
        .where('platform', '=', platform)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute()
  // Credit notes first: the one cancelling a rejected invoice reaches the platform before the replacement.
  return rows
    .map(toSubmission)
    .sort((a, b) => (a.document.kind === b.document.kind ? (a.document.id < b.document.id ? -1 : 1) : a.document.kind === 'credit_note' ? -1 : 1))
}

export async function recordDeposit(db: Executor, document: EDocument, reference: string, now: Date): Promise<void> {
  await db
    .updateTable('einvoice_submissions')
    .set({ status: 'deposited', reference, last_error: null, updated_at: now })
    .where('document_id', '=', document.id)
    .where('status', '=', 'pending')
    .execute()
}

export async function recordDepositFailure(db: Executor, document: EDocument, error: string, retryAt: Date, now: Date): Promise<void> {
  await db
    .updateTable('einvoice_submissions')
    .set({ last_error: error.slice(0, 1000), next_attempt_at: retryAt, updated_at: now })
    .where('document_id', '=', document.id)
    .where('status', '=', 'pending')
    .execute()
}

export async function submissionByReference(db: Executor, platform: string, reference: string): Promise<Submission | undefined> {
  const row = await db
    .selectFrom('einvoice_submissions')
    .selectAll()
    .where('platform', '=', platform)
    .where('reference', '=', reference)
    .forUpdate()
    .executeTakeFirst()
  return row && toSubmission(row)
}

/** Adds a status to a document's timeline; false when the platform's report was kept already. */
export async function insertEvent(
  db: Executor,
  e: { document: EDocument; platform: string; eventId: string; status: LifecycleStatus; reason: string | null; occurredAt: Date; now: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto('einvoice_events')
    .values({
      invoice_id: e.document.kind === 'invoice' ? e.document.id : null,
      credit_note_id: e.document.kind === 'credit_note' ? e.document.id : null,
      platform: e.platform,
      event_id: e.eventId,
      status: e.status,
      reason: e.reason,
      occurred_at: e.occurredAt,
      received_at: e.now,
    })
    .onConflict((oc) => oc.columns(['platform', 'event_id']).doNothing())
    .returning('seq')
    .executeTakeFirst()
  return inserted !== undefined
}

export async function setStatus(db: Executor, document: EDocument, status: LifecycleStatus, now: Date): Promise<void> {
  await db.updateTable('einvoice_submissions').set({ status, updated_at: now }).where('document_id', '=', document.id).execute()
}

export async function timeline(db: Executor, document: EDocument): Promise<TimelineEvent[]> {
  const rows = await db.selectFrom('einvoice_events').selectAll().where(column(document), '=', document.id).orderBy('seq').execute()
  return rows.map((r) => ({ status: r.status as LifecycleStatus, reason: r.reason, eventId: r.event_id, occurredAt: r.occurred_at, receivedAt: r.received_at }))
}

export async function readCursor(db: Executor, platform: string): Promise<string | null> {
  const row = await db.selectFrom('einvoice_platform_cursors').select('cursor').where('platform', '=', platform).forUpdate().executeTakeFirst()
  return row?.cursor ?? null
}

export async function saveCursor(db: Executor, platform: string, cursor: string | null, now: Date): Promise<void> {
  await db
    .insertInto('einvoice_platform_cursors')
    .values({ platform, cursor, updated_at: now })
    .onConflict((oc) => oc.column('platform').doUpdateSet({ cursor, updated_at: now }))
    .execute()
}

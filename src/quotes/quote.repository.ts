import { sql, type Kysely, type Selectable } from 'kysely'
import { givenColumns } from '../db/columns.js'
import type { Database, QuoteRevisionsTable, QuotesTable } from '../db/schema.js'
import type { QuoteStatus } from './quote-state.js'
import type { Quote, QuoteRevision } from './quote.js'
import type { Cart } from '../evaluation/cart.schema.js'
import type { TermsRef } from '../documents/terms.js'
import { decodeSnapshot, encodeSnapshot } from '../evaluation/evaluation.js'

export type { Quote, QuoteRevision }

type Executor = Kysely<Database>

function toQuote(r: Selectable<QuotesTable>): Quote {
  return {
    id: r.id,
    number: r.number,
    accountId: r.account_id,
    ownerId: r.owner_id,
    currency: r.currency,
    status: r.status as QuoteStatus,
    currentRevision: r.current_revision,
    validUntil: r.valid_until,
    paymentTermsDays: r.payment_terms_days,
    notes: r.notes,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

function toRevision(r: Selectable<QuoteRevisionsTable>): QuoteRevision {
  return {
    quoteId: r.quote_id,
    revision: r.revision,
    cart: r.cart as Cart,
    evaluation: decodeSnapshot(r.evaluation),
    decisionId: r.decision_id,
    fingerprint: r.fingerprint,
    fingerprintHash: r.fingerprint_hash,
    createdBy: r.created_by,
    createdAt: r.created_at,
    terms: (r.terms as TermsRef | null) ?? null,
  }
}

/** Human-readable, unique, gap-tolerant numbers from a sequence: Q-2026-000042. */
export async function nextQuoteNumber(db: Executor, year: number): Promise<string> {
  const { rows } = await sql<{ n: bigint }>`select nextval('quote_number_seq') as n`.execute(db)
  return `Q-${year}-${rows[0]!.n.toString().padStart(6, '0')}`
}

export async function insertQuote(db: Executor, q: Omit<Quote, 'version'>): Promise<Quote> {
  const row = await db
    .insertInto('quotes')
    .values({
      id: q.id,
      number: q.number,
      account_id: q.accountId,
      owner_id: q.ownerId,
      currency: q.currency,
      status: q.status,
      current_revision: q.currentRevision,
      valid_until: q.validUntil,
      payment_terms_days: q.paymentTermsDays,
      notes: q.notes,
      created_at: q.createdAt,
      updated_at: q.updatedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toQuote(row)
}

export async function insertRevision(db: Executor, r: QuoteRevision): Promise<void> {
  await db
    .insertInto('quote_revisions')
    .values({
      quote_id: r.quoteId,
      revision: r.revision,
      cart: JSON.stringify(r.cart),
      evaluation: JSON.stringify(encodeSnapshot(r.evaluation)),
      snapshot_version: r.evaluation.version,
      decision_id: r.decisionId,
      fingerprint: JSON.stringify(r.fingerprint),
      fingerprint_hash: r.fingerprintHash,
      created_by: r.createdBy,
      created_at: r.createdAt,
      terms: r.terms && JSON.stringify(r.terms),
    })
    .execute()
}

export async function findQuote(db: Executor, id: string): Promise<Quote | undefined> {
  const row = await db.selectFrom('quotes').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toQuote(row)
}

/** Locks the quote row for the rest of the transaction: its state changes are serialised. */
export async function lockQuote(db: Executor, id: string): Promise<Quote | undefined> {
  const row = await db.selectFrom('quotes').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  return row && toQuote(row)
}

export async function findRevision(db: Executor, quoteId: string, revision: number): Promise<QuoteRevision | undefined> {
  const row = await db.selectFrom('quote_revisions').selectAll().where('quote_id', '=', quoteId).where('revision', '=', revision).executeTakeFirst()
  return row && toRevision(row)
}

/** Quotes of the given owners (null: of anyone), by id. */
export async function listQuotes(db: Executor, owners: string[] | null, limit: number, startingAfter?: string, status?: string): Promise<Quote[]> {
  let q = db.selectFrom('quotes').selectAll().orderBy('id').limit(limit)
  if (owners) q = q.where('owner_id', 'in', owners)
  if (startingAfter) q = q.where('id', '>', startingAfter)
  if (status) q = q.where('status', '=', status)
  return (await q.execute()).map(toQuote)
}

/** Compare-and-swap update of the quote row; undefined when its version moved. */
export async function updateQuote(
  db: Executor,
  id: string,
  expectedVersion: number,
  patch: Partial<Pick<Quote, 'status' | 'currentRevision' | 'validUntil' | 'paymentTermsDays' | 'notes'>>,
  now: Date,
): Promise<Quote | undefined> {
  const row = await db
    .updateTable('quotes')
    .set((eb) => ({
      ...givenColumns(patch, {
        status: 'status',
        currentRevision: 'current_revision',
        validUntil: 'valid_until',
        paymentTermsDays: 'payment_terms_days',
        notes: 'notes',
      }),
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .returningAll()
    .executeTakeFirst()
  return row && toQuote(row)
}

/** Everyone who wrote a revision of the quote (who may therefore not approve it). */
export async function revisionAuthors(db: Executor, quoteId: string): Promise<string[]> {
  return (await db.selectFrom('quote_revisions').select('created_by').where('quote_id', '=', quoteId).distinct().execute()).map((r) => r.created_by)
}

/** Quotes past their validity in a state that can expire, for the sweep. */
export async function findExpirable(db: Executor, today: string, limit: number): Promise<Array<{ id: string }>> {
  return db
    .selectFrom('quotes')
    .select('id')
    .where('valid_until', '<', today)
    .where('status', 'in', ['draft', 'pending_approval', 'approved', 'presented'])
    .orderBy('valid_until')
    .limit(limit)
    .execute()
}

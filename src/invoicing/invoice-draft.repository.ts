import type { Kysely, Selectable } from 'kysely'
import type { Database, InvoiceDraftsTable } from '../db/schema.js'
import { moneyOf } from '../money/money-value.js'
import type { InvoiceDraft, InvoiceDraftStatus, InvoiceLine, Party, VatLine } from './invoice.js'
import { LINES_PER_INSERT, lineRow, toLine, toVatLine, vatRow } from './invoice.repository.js'

type Executor = Kysely<Database>

function toDraft(r: Selectable<InvoiceDraftsTable>): InvoiceDraft {
  return {
    id: r.id,
    status: r.status as InvoiceDraftStatus,
    runId: r.run_id,
    sellerId: r.seller_id,
    accountId: r.account_id,
    ownerId: r.owner_id,
    currency: r.currency,
    paymentTermsDays: r.payment_terms_days,
    buyer: r.buyer as Party,
    seller: r.seller as Party,
    net: moneyOf(r.net_minor, r.currency),
    tax: moneyOf(r.tax_minor, r.currency),
    total: moneyOf(r.total_minor, r.currency),
    ruleSetHash: r.rule_set_hash,
    draftedOn: r.drafted_on,
    invoiceId: r.invoice_id,
    discardReason: r.discard_reason,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export async function insertDraft(db: Executor, draft: Omit<InvoiceDraft, 'version'>, lines: InvoiceLine[], vat: VatLine[]): Promise<void> {
  await db
    .insertInto('invoice_drafts')
    .values({
      id: draft.id,
      status: draft.status,
      run_id: draft.runId,
      seller_id: draft.sellerId,
      account_id: draft.accountId,
      owner_id: draft.ownerId,
      currency: draft.currency,
      payment_terms_days: draft.paymentTermsDays,
      buyer: JSON.stringify(draft.buyer),
      seller: JSON.stringify(draft.seller),
      net_minor: draft.net.minor,
      tax_minor: draft.tax.minor,
      total_minor: draft.total.minor,
      rule_set_hash: draft.ruleSetHash,
      drafted_on: draft.draftedOn,
      invoice_id: null,
      discard_reason: null,
      created_at: draft.createdAt,
      updated_at: draft.updatedAt,
    })
    .execute()
  for (let start = 0; start < lines.length; start += LINES_PER_INSERT) {
    await db
      .insertInto('invoice_draft_lines')
      .values(lines.slice(start, start + LINES_PER_INSERT).map((l) => ({ draft_id: draft.id, ...lineRow(l) })))
      .execute()
  }
  await db
    .insertInto('invoice_draft_tax_lines')
    .values(vat.map((v) => ({ draft_id: draft.id, ...vatRow(v) })))
    .execute()
}

export async function findDraft(db: Executor, id: string): Promise<InvoiceDraft | undefined> {
  const row = await db.selectFrom('invoice_drafts').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toDraft(row)
}

/** The draft, its row locked until commit: one issue or discard at a time. */
export async function lockDraft(db: Executor, id: string): Promise<InvoiceDraft | undefined> {
  const row = await db.selectFrom('invoice_drafts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  return row && toDraft(row)
}

export async function draftLines(db: Executor, draft: Pick<InvoiceDraft, 'id' | 'currency'>): Promise<InvoiceLine[]> {
  const rows = await db.selectFrom('invoice_draft_lines').selectAll().where('draft_id', '=', draft.id).orderBy('line_no').execute()
  return rows.map((r) => toLine(r, draft.currency))
}

export async function draftVat(db: Executor, draft: Pick<InvoiceDraft, 'id' | 'currency'>): Promise<VatLine[]> {
  const rows = await db
    .selectFrom('invoice_draft_tax_lines')
    .selectAll()
    .where('draft_id', '=', draft.id)
    .orderBy('vat_category')
    .orderBy('vat_rate_bp', 'desc')
    .execute()
  return rows.map((r) => toVatLine(r, draft.currency))
}

export interface DraftFilter {
  owners: string[] | null
  status?: InvoiceDraftStatus
  runId?: string
}

export async function listDrafts(db: Executor, filter: DraftFilter, limit: number, startingAfter?: string): Promise<InvoiceDraft[]> {
  let query = db.selectFrom('invoice_drafts').selectAll().orderBy('id').limit(limit)
  if (filter.owners) query = query.where('owner_id', 'in', filter.owners.length > 0 ? filter.owners : [''])
  if (filter.status) query = query.where('status', '=', filter.status)
  if (filter.runId) query = query.where('run_id', '=', filter.runId)
  if (startingAfter) query = query.where('id', '>', startingAfter)
  return (await query.execute()).map(toDraft)
}

/** Marks the draft issued as the invoice; its lines stay, as the record of what was reviewed. */
export async function markIssued(db: Executor, id: string, invoiceId: string, now: Date): Promise<InvoiceDraft> {
  const row = await db
    .updateTable('invoice_drafts')
    .set((eb) => ({ status: 'issued', invoice_id: invoiceId, version: eb('version', '+', 1), updated_at: now }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return toDraft(row)
}

/** Marks the draft discarded and deletes its lines, so that their items fall due again. */
export async function markDiscarded(db: Executor, id: string, reason: string, now: Date): Promise<InvoiceDraft> {
  await db.deleteFrom('invoice_draft_lines').where('draft_id', '=', id).execute()
  await db.deleteFrom('invoice_draft_tax_lines').where('draft_id', '=', id).execute()
  const row = await db
    .updateTable('invoice_drafts')
    .set((eb) => ({ status: 'discarded', discard_reason: reason, version: eb('version', '+', 1), updated_at: now }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return toDraft(row)
}

import { sql, type Kysely, type Selectable } from 'kysely'
import type { CreditNotesTable, Database } from '../db/schema.js'
import { moneyOf } from '../money/money-value.js'
import type { CreditNote, CreditNoteLine, VatLine } from './invoice.js'
import { toVatLine, vatRow } from './invoice.repository.js'

type Executor = Kysely<Database>

function toCreditNote(r: Selectable<CreditNotesTable>): CreditNote {
  return {
    id: r.id,
    number: r.number,
    sellerId: r.seller_id,
    invoiceId: r.invoice_id,
    accountId: r.account_id,
    ownerId: r.owner_id,
    currency: r.currency,
    issueDate: r.issue_date,
    reason: r.reason,
    net: moneyOf(r.net_minor, r.currency),
    tax: moneyOf(r.tax_minor, r.currency),
    total: moneyOf(r.total_minor, r.currency),
    createdBy: r.created_by,
    createdAt: r.created_at,
  }
}

/** What credit notes already credited of an invoice: per invoice line its net, per VAT rate its base and tax. */
export async function creditedOf(
  db: Executor,
  invoiceId: string,
): Promise<{ lines: Map<number, bigint>; rates: Map<string, { base: bigint; tax: bigint }>; total: bigint }> {
  const lines = await db
    .selectFrom('credit_note_lines')
    .select(['invoice_line_no', sql<string>`sum(net_minor)`.as('net')])
    .where('invoice_id', '=', invoiceId)
    .groupBy('invoice_line_no')
    .execute()
  const rates = await db
    .selectFrom('credit_note_tax_lines as t')
    .innerJoin('credit_notes as c', 'c.id', 't.credit_note_id')
    .select(['t.vat_category', 't.vat_rate_bp', sql<string>`sum(t.base_minor)`.as('base'), sql<string>`sum(t.tax_minor)`.as('tax')])
    .where('c.invoice_id', '=', invoiceId)
    .groupBy(['t.vat_category', 't.vat_rate_bp'])
    .execute()
  const total = await db
    .selectFrom('credit_notes')
    .select(sql<string>`coalesce(sum(total_minor), 0)`.as('total'))
    .where('invoice_id', '=', invoiceId)
    .executeTakeFirstOrThrow()
  return {
    lines: new Map(lines.map((l) => [l.invoice_line_no, BigInt(l.net)])),
    rates: new Map(rates.map((r) => [`${r.vat_category}/${r.vat_rate_bp}`, { base: BigInt(r.base), tax: BigInt(r.tax) }])),
    total: BigInt(total.total),
  }
}

export async function insertCreditNote(
  db: Executor,
  note: CreditNote & { year: number; sequence: number },
  lines: CreditNoteLine[],
  vat: VatLine[],
): Promise<void> {
  await db
    .insertInto('credit_notes')
    .values({
      id: note.id,
      number: note.number,
      seller_id: note.sellerId,
      year: note.year,
      sequence: note.sequence,
      invoice_id: note.invoiceId,
      account_id: note.accountId,
      owner_id: note.ownerId,
      currency: note.currency,
      issue_date: note.issueDate,
      reason: note.reason,
      net_minor: note.net.minor,
      tax_minor: note.tax.minor,
      total_minor: note.total.minor,
      created_by: note.createdBy,
      created_at: note.createdAt,
    })
    .execute()
  await db
    .insertInto('credit_note_lines')
    .values(
      lines.map((l) => ({
        credit_note_id: note.id,
        line_no: l.lineNo,
        invoice_id: note.invoiceId,
        invoice_line_no: l.invoiceLineNo,
        description: l.description,
        net_minor: l.net.minor,
        vat_category: l.vatCategory,
        vat_rate_bp: l.vatRateBp,
      })),
    )
    .execute()
  await db
    .insertInto('credit_note_tax_lines')
    .values(vat.map((v) => ({ credit_note_id: note.id, ...vatRow(v) })))
    .execute()
}

export async function findCreditNote(db: Executor, id: string): Promise<CreditNote | undefined> {
  const row = await db.selectFrom('credit_notes').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toCreditNote(row)
}

export async function creditNotesOf(db: Executor, invoiceId: string): Promise<CreditNote[]> {
  return (await db.selectFrom('credit_notes').selectAll().where('invoice_id', '=', invoiceId).orderBy('id').execute()).map(toCreditNote)
}

export async function creditNoteLines(db: Executor, note: Pick<CreditNote, 'id' | 'currency'>): Promise<CreditNoteLine[]> {
  const rows = await db.selectFrom('credit_note_lines').selectAll().where('credit_note_id', '=', note.id).orderBy('line_no').execute()
  return rows.map((r) => ({
    lineNo: r.line_no,
    invoiceLineNo: r.invoice_line_no,
    description: r.description,
    net: moneyOf(r.net_minor, note.currency),
    vatCategory: r.vat_category,
    vatRateBp: r.vat_rate_bp,
  }))
}

export async function creditNoteVat(db: Executor, note: Pick<CreditNote, 'id' | 'currency'>): Promise<VatLine[]> {
  const rows = await db
    .selectFrom('credit_note_tax_lines')
    .selectAll()
    .where('credit_note_id', '=', note.id)
    .orderBy('vat_category')
    .orderBy('vat_rate_bp', 'desc')
    .execute()
  return rows.map((r) => toVatLine(r, note.currency))
}

export async function lockInvoiceRow(db: Executor, id: string): Promise<boolean> {
  return Boolean(await db.selectFrom('invoices').select('id').where('id', '=', id).forUpdate().executeTakeFirst())
}

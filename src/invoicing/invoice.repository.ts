import { sql, type Kysely, type Selectable } from 'kysely'
import type { Database, InvoiceLinesTable, InvoiceRunsTable, InvoicesTable, InvoiceTaxLinesTable } from '../db/schema.js'
import { moneyOf } from '../money/money-value.js'
import type { Invoice, InvoiceGroup, InvoiceLine, InvoiceRun, InvoiceRunStatus, InvoiceStatus, Party, VatLine } from './invoice.js'

type Executor = Kysely<Database>

function toInvoice(r: Selectable<InvoicesTable>): Invoice {
  return {
    id: r.id,
    number: r.number,
    sellerId: r.seller_id,
    accountId: r.account_id,
    ownerId: r.owner_id,
    currency: r.currency,
    status: r.status as InvoiceStatus,
    issueDate: r.issue_date,
    dueDate: r.due_date,
    paymentTermsDays: r.payment_terms_days,
    buyer: r.buyer as Party,
    seller: r.seller as Party,
    net: moneyOf(r.net_minor, r.currency),
    tax: moneyOf(r.tax_minor, r.currency),
    total: moneyOf(r.total_minor, r.currency),
    credited: moneyOf(r.credited_minor, r.currency),
    paid: moneyOf(r.paid_minor, r.currency),
    ruleSetHash: r.rule_set_hash,
    runId: r.run_id,
    replacesInvoiceId: r.replaces_invoice_id,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

/** An invoice line from its row, or a draft's (which has no generation: a draft is a first invoice). */
export function toLine(r: Omit<Selectable<InvoiceLinesTable>, 'invoice_id' | 'generation'> & { generation?: number }, currency: string): InvoiceLine {
  return {
    lineNo: r.line_no,
    orderId: r.order_id,
    orderNumber: r.order_number,
    orderLineNo: r.order_line_no,
    scheduleSeq: r.schedule_seq,
    quoteNumber: r.quote_number,
    sku: r.sku,
    description: r.description,
    qtyMilli: r.qty_milli,
    unit: r.unit,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    discountHundredths: r.discount_hundredths,
    net: moneyOf(r.net_minor, currency),
    revenueTreatment: r.revenue_treatment as InvoiceLine['revenueTreatment'],
    productTaxCategory: r.product_tax_category,
    vat: { category: r.vat_category, rateBp: r.vat_rate_bp, mention: r.vat_mention, exemptionCode: r.vat_exemption_code, ruleId: r.tax_rule_id },
    billedThroughMilli: r.billed_through_milli,
    generation: r.generation ?? 0,
  }
}

/** An invoice line as its row's columns, but for the document it belongs to (an invoice's or a draft's: the same ones). */
export function lineRow(l: InvoiceLine) {
  return {
    line_no: l.lineNo,
    order_id: l.orderId,
    order_line_no: l.orderLineNo,
    schedule_seq: l.scheduleSeq,
    billed_through_milli: l.billedThroughMilli,
    quote_number: l.quoteNumber,
    order_number: l.orderNumber,
    sku: l.sku,
    description: l.description,
    qty_milli: l.qtyMilli,
    unit: l.unit,
    period_start: l.periodStart,
    period_end: l.periodEnd,
    discount_hundredths: l.discountHundredths,
    net_minor: l.net.minor,
    revenue_treatment: l.revenueTreatment,
    product_tax_category: l.productTaxCategory,
    vat_category: l.vat.category,
    vat_rate_bp: l.vat.rateBp,
    vat_mention: l.vat.mention,
    vat_exemption_code: l.vat.exemptionCode,
    tax_rule_id: l.vat.ruleId,
  }
}

/** A VAT line as its row's columns (of an invoice or a credit note: the same ones). */
export function vatRow(v: VatLine) {
  return {
    vat_category: v.category,
    vat_rate_bp: v.rateBp,
    base_minor: v.base.minor,
    tax_minor: v.tax.minor,
    mention: v.mention,
    exemption_code: v.exemptionCode,
  }
}

/** A VAT breakdown row (of an invoice or a credit note: the same columns). */
export function toVatLine(r: Omit<Selectable<InvoiceTaxLinesTable>, 'invoice_id'>, currency: string): VatLine {
  return {
    category: r.vat_category,
    rateBp: r.vat_rate_bp,
    base: moneyOf(r.base_minor, currency),
    tax: moneyOf(r.tax_minor, currency),
    mention: r.mention,
    exemptionCode: r.exemption_code,
  }
}

function toRun(r: Selectable<InvoiceRunsTable>): InvoiceRun {
  return {
    id: r.id,
    asOf: r.as_of,
    status: r.status as InvoiceRunStatus,
    requestedBy: r.requested_by,
    jobId: r.job_id,
    total: r.total,
    done: r.done,
    invoices: r.invoices,
    failures: r.failures as InvoiceRun['failures'],
    drafts: r.drafts,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }
}

/**
 * The orders with something that may be due by `asOf`, grouped as they are invoiced: one
 * invoice per account, seller, currency and payment terms. Reads the orders' schedule in SQL
 * (read-only), so a daily run looks only at orders with an item not yet billed: a period or
 * on-order item due by then, a fulfilment-billed item with a fulfilment by then (how much
 * is left to bill is worked out under the lock), or a milestone reached by then. Canceled orders are left out.
 */
export async function candidateGroups(db: Executor, asOf: string): Promise<InvoiceGroup[]> {
  const rows = await sql<{ account_id: string; seller_id: string; currency: string; payment_terms_days: number; order_ids: string[] }>`
    select o.account_id, o.seller_id, o.currency, o.payment_terms_days, array_agg(o.id order by o.id) as order_ids
    from orders o
    where o.status <> 'canceled'
      and exists (
        select 1 from billing_schedule_items s
        where s.order_id = o.id
          and (s.bill_on <= ${asOf} or (s.trigger = 'fulfilment' and exists (
            select 1 from fulfilment_lines fl join fulfilments f on f.id = fl.fulfilment_id
            where fl.order_id = s.order_id and fl.line_no = s.line_no and f.occurred_on <= ${asOf}
          )) or (s.trigger = 'milestone' and exists (
            select 1 from order_milestones m
            where m.order_id = s.order_id and m.line_no = s.line_no and m.milestone_id = s.milestone_id and m.reached_on <= ${asOf}
          )))
          and not exists (
            select 1 from (
              select order_id, order_line_no, schedule_seq, billed_through_milli from invoice_lines
              union all
              select order_id, order_line_no, schedule_seq, billed_through_milli from invoice_draft_lines
            ) l
            join order_lines ol on ol.order_id = l.order_id and ol.line_no = l.order_line_no
            where l.order_id = s.order_id and l.order_line_no = s.line_no and l.schedule_seq = s.seq
              and l.billed_through_milli = ol.qty_milli
          )
      )
    group by o.account_id, o.seller_id, o.currency, o.payment_terms_days
    order by o.account_id, o.seller_id, o.currency, o.payment_terms_days`.execute(db)
  return rows.rows.map((r) => ({
    accountId: r.account_id,
    sellerId: r.seller_id,
    currency: r.currency,
    paymentTermsDays: r.payment_terms_days,
    orderIds: r.order_ids,
  }))
}

/**
 * How far invoices and open drafts billed each schedule item of these orders: item key →
 * largest billed_through_milli. A draft's lines count as billed (a second run must not draft
 * or issue them again); one statement reads both, so a draft issued meanwhile is seen once,
 * as a draft or as an invoice.
 */
export async function billedThrough(db: Executor, orderIds: readonly string[]): Promise<Map<string, bigint>> {
  if (orderIds.length === 0) return new Map()
  const billed = (table: 'invoice_lines' | 'invoice_draft_lines') =>
    db
      .selectFrom(table)
      .select(['order_id', 'order_line_no', 'schedule_seq', 'billed_through_milli'])
      .where('order_id', 'in', [...orderIds])
  const rows = await db
    .selectFrom(billed('invoice_lines').unionAll(billed('invoice_draft_lines')).as('l'))
    .select(['order_id', 'order_line_no', 'schedule_seq', sql<string>`max(billed_through_milli)`.as('through')])
    .groupBy(['order_id', 'order_line_no', 'schedule_seq'])
    .execute()
  return new Map(rows.map((r) => [`${r.order_id}/${r.order_line_no}/${r.schedule_seq}`, BigInt(r.through)]))
}

/** The next gapless number of a seller's sequence for a year, under the counter row's lock until commit. */
export async function takeNumber(db: Executor, sellerId: string, kind: 'invoice' | 'credit_note', year: number): Promise<number> {
  await db
    .insertInto('invoice_number_counters')
    .values({ seller_id: sellerId, kind, year, last_number: 0 })
    .onConflict((oc) => oc.doNothing())
    .execute()
  const row = await db
    .updateTable('invoice_number_counters')
    .set((eb) => ({ last_number: eb('last_number', '+', 1) }))
    .where('seller_id', '=', sellerId)
    .where('kind', '=', kind)
    .where('year', '=', year)
    .returning('last_number')
    .executeTakeFirstOrThrow()
  return row.last_number
}

export interface NewInvoice {
  invoice: Omit<Invoice, 'version'> & { year: number; sequence: number }
  lines: InvoiceLine[]
  vat: VatLine[]
}

export const LINES_PER_INSERT = 1000

export async function insertInvoice(db: Executor, { invoice: i, lines, vat }: NewInvoice): Promise<void> {
  await db
    .insertInto('invoices')
    .values({
      id: i.id,
      number: i.number,
      seller_id: i.sellerId,
      year: i.year,
      sequence: i.sequence,
      account_id: i.accountId,
      owner_id: i.ownerId,
      currency: i.currency,
      status: i.status,
      issue_date: i.issueDate,
      due_date: i.dueDate,
      payment_terms_days: i.paymentTermsDays,
      buyer: JSON.stringify(i.buyer),
      seller: JSON.stringify(i.seller),
      net_minor: i.net.minor,
      tax_minor: i.tax.minor,
      total_minor: i.total.minor,
      rule_set_hash: i.ruleSetHash,
      run_id: i.runId,
      replaces_invoice_id: i.replacesInvoiceId,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
    })
    .execute()
  for (let start = 0; start < lines.length; start += LINES_PER_INSERT) {
    await db
      .insertInto('invoice_lines')
      .values(lines.slice(start, start + LINES_PER_INSERT).map((l) => ({ invoice_id: i.id, ...lineRow(l), generation: l.generation })))
      .execute()
  }
  await db
    .insertInto('invoice_tax_lines')
    .values(vat.map((v) => ({ invoice_id: i.id, ...vatRow(v) })))
    .execute()
}

export async function findInvoice(db: Executor, id: string): Promise<Invoice | undefined> {
  const row = await db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toInvoice(row)
}

export async function invoiceLines(db: Executor, invoice: Pick<Invoice, 'id' | 'currency'>): Promise<InvoiceLine[]> {
  const rows = await db.selectFrom('invoice_lines').selectAll().where('invoice_id', '=', invoice.id).orderBy('line_no').execute()
  return rows.map((r) => toLine(r, invoice.currency))
}

export async function vatLines(db: Executor, invoice: Pick<Invoice, 'id' | 'currency'>): Promise<VatLine[]> {
  const rows = await db
    .selectFrom('invoice_tax_lines')
    .selectAll()
    .where('invoice_id', '=', invoice.id)
    .orderBy('vat_category')
    .orderBy('vat_rate_bp', 'desc')
    .execute()
  return rows.map((r) => toVatLine(r, invoice.currency))
}

export interface InvoiceFilter {
  owners: string[] | null
  accountId?: string
  runId?: string
}

/** Invoices in number order (seller, year, sequence), resumed after an invoice id. */
export async function listInvoices(db: Executor, filter: InvoiceFilter, limit: number, startingAfter?: string): Promise<Invoice[]> {
  let query = db.selectFrom('invoices').selectAll().orderBy('id').limit(limit)
  if (filter.owners) query = query.where('owner_id', 'in', filter.owners.length > 0 ? filter.owners : [''])
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId)
  if (filter.runId) query = query.where('run_id', '=', filter.runId)
  if (startingAfter) query = query.where('id', '>', startingAfter)
  return (await query.execute()).map(toInvoice)
}

export async function insertRun(db: Executor, run: Pick<InvoiceRun, 'id' | 'asOf' | 'requestedBy' | 'createdAt' | 'drafts'>): Promise<void> {
  await db
    .insertInto('invoice_runs')
    .values({ id: run.id, as_of: run.asOf, status: 'queued', requested_by: run.requestedBy, drafts: run.drafts, created_at: run.createdAt })
    .execute()
}

export async function setRunJob(db: Executor, id: string, jobId: string): Promise<void> {
  await db.updateTable('invoice_runs').set({ job_id: jobId }).where('id', '=', id).execute()
}

export async function findRun(db: Executor, id: string): Promise<InvoiceRun | undefined> {
  const row = await db.selectFrom('invoice_runs').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toRun(row)
}

/**
 * Marks the oldest unfinished run — queued, or running when the job that ran it was
 * interrupted — as running, and returns it. The invoices.run job is a singleton, so one
 * worker claims at a time; should a retry claim a run still alive elsewhere, both make
 * invoices under the orders' locks, and nothing is billed twice.
 */
export async function claimUnfinishedRun(db: Executor, now: Date): Promise<InvoiceRun | undefined> {
  const claimed = await db
    .updateTable('invoice_runs')
    .set({ status: 'running', started_at: sql`coalesce(started_at, ${now})` })
    .where('id', '=', (eb) =>
      eb.selectFrom('invoice_runs').select('id').where('status', 'in', ['queued', 'running']).orderBy('created_at').orderBy('id').limit(1),
    )
    .returningAll()
    .executeTakeFirst()
  return claimed && toRun(claimed)
}

export async function recordProgress(
  db: Executor,
  id: string,
  progress: { total?: number; done: number; invoices: number; failures: InvoiceRun['failures'] },
): Promise<void> {
  await db
    .updateTable('invoice_runs')
    .set({
      ...(progress.total === undefined ? {} : { total: progress.total }),
      done: progress.done,
      invoices: progress.invoices,
      failures: JSON.stringify(progress.failures),
    })
    .where('id', '=', id)
    .execute()
}

export async function finishRun(db: Executor, id: string, status: 'succeeded' | 'failed', now: Date): Promise<InvoiceRun> {
  const row = await db.updateTable('invoice_runs').set({ status, finished_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
  return toRun(row)
}

export async function listRuns(db: Executor, limit: number): Promise<InvoiceRun[]> {
  return (await db.selectFrom('invoice_runs').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()).map(toRun)
}

/** The invoice that reissued this one, if any. */
export async function replacementOf(db: Executor, invoiceId: string): Promise<Invoice | undefined> {
  const row = await db.selectFrom('invoices').selectAll().where('replaces_invoice_id', '=', invoiceId).executeTakeFirst()
  return row && toInvoice(row)
}

/** The product type of each order line these invoice lines bill (read from the orders' lines, read-only), by `orderId/lineNo`. */
export async function productTypesOf(db: Executor, lines: ReadonlyArray<Pick<InvoiceLine, 'orderId' | 'orderLineNo'>>): Promise<Map<string, string>> {
  const orderIds = [...new Set(lines.map((l) => l.orderId))]
  if (orderIds.length === 0) return new Map()
  const rows = await db.selectFrom('order_lines').select(['order_id', 'line_no', 'product_type']).where('order_id', 'in', orderIds).execute()
  return new Map(rows.map((r) => [`${r.order_id}/${r.line_no}`, r.product_type]))
}

/**
 * Invoices by id, locked for update, in id order: two transactions settling overlapping
 * invoices take their locks in the same order and never deadlock.
 */
export async function lockInvoices(db: Executor, ids: readonly string[]): Promise<Invoice[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('invoices')
    .selectAll()
    .where('id', 'in', [...ids])
    .orderBy('id')
    .forUpdate()
    .execute()
  return rows.map(toInvoice)
}

/** The open invoices of an account in a currency issued on or before a day, oldest due first (then oldest issued, then number), locked. */
export async function lockOpenInvoices(db: Executor, accountId: string, currency: string, issuedBy: string): Promise<Invoice[]> {
  const ids = await db
    .selectFrom('invoices')
    .select('id')
    .where('account_id', '=', accountId)
    .where('currency', '=', currency)
    .where('issue_date', '<=', issuedBy)
    .where(sql<boolean>`credited_minor + paid_minor < total_minor`)
    .execute()
  const locked = await lockInvoices(
    db,
    ids.map((r) => r.id),
  )
  // Locked, they are read again: one settled meanwhile is no longer open.
  return locked
    .filter((i) => i.credited.minor + i.paid.minor < i.total.minor)
    .sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.issueDate.localeCompare(b.issueDate) || a.number.localeCompare(b.number))
}

export interface NewAllocation {
  invoiceId: string
  accountId: string
  currency: string
  source: 'payment' | 'credit' | 'refund' | 'credit_note'
  paymentId?: string | null
  refundId?: string | null
  creditNoteId?: string | null
  amountMinor: bigint
  journalEntryId: string
  allocatedOn: string
  createdBy: string
  createdAt: Date
}

export async function insertAllocation(db: Executor, a: NewAllocation): Promise<void> {
  await db
    .insertInto('invoice_allocations')
    .values({
      invoice_id: a.invoiceId,
      account_id: a.accountId,
      currency: a.currency,
      source: a.source,
      payment_id: a.paymentId ?? null,
      refund_id: a.refundId ?? null,
      credit_note_id: a.creditNoteId ?? null,
      amount_minor: a.amountMinor,
      journal_entry_id: a.journalEntryId,
      allocated_on: a.allocatedOn,
      created_by: a.createdBy,
      created_at: a.createdAt,
    })
    .execute()
}

/** Sets what is settled of an invoice and its status; the database refuses more than its total. */
export async function updateSettlement(
  db: Executor,
  id: string,
  s: { creditedMinor: bigint; paidMinor: bigint; status: InvoiceStatus },
  now: Date,
): Promise<Invoice> {
  const row = await db
    .updateTable('invoices')
    .set({ credited_minor: s.creditedMinor, paid_minor: s.paidMinor, status: s.status, version: sql`version + 1`, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return toInvoice(row)
}

export interface AllocationRow {
  id: bigint
  invoiceId: string
  invoiceNumber: string
  source: NewAllocation['source']
  paymentId: string | null
  refundId: string | null
  creditNoteId: string | null
  amountMinor: bigint
  allocatedOn: string
  journalEntryId: string
}

/** The allocations of a payment, or to an invoice, in the order they were made. */
export async function allocationsOf(db: Executor, filter: { paymentId: string } | { invoiceId: string }): Promise<AllocationRow[]> {
  let query = db
    .selectFrom('invoice_allocations as a')
    .innerJoin('invoices as i', 'i.id', 'a.invoice_id')
    .select([
      'a.id',
      'a.invoice_id',
      'i.number',
      'a.source',
      'a.payment_id',
      'a.refund_id',
      'a.credit_note_id',
      'a.amount_minor',
      'a.allocated_on',
      'a.journal_entry_id',
    ])
    .orderBy('a.id')
  query = 'paymentId' in filter ? query.where('a.payment_id', '=', filter.paymentId) : query.where('a.invoice_id', '=', filter.invoiceId)
  return (await query.execute()).map((r) => ({
    id: r.id,
    invoiceId: r.invoice_id,
    invoiceNumber: r.number,
    source: r.source as NewAllocation['source'],
    paymentId: r.payment_id,
    refundId: r.refund_id,
    creditNoteId: r.credit_note_id,
    amountMinor: r.amount_minor,
    allocatedOn: r.allocated_on,
    journalEntryId: r.journal_entry_id,
  }))
}

export interface OpenInvoiceRow {
  id: string
  number: string
  accountId: string
  currency: string
  issueDate: string
  dueDate: string
  openMinor: bigint
}

/**
 * Every invoice open at the end of a day, with what was open of it then: its total, less the
 * credit notes issued and the allocations made on or before that day. Invoices issued later
 * are not there yet. What AR ageing is made of, and what the journal's receivable must equal.
 */
export async function openInvoicesAsOf(db: Executor, asOf: string, filter: { accountId?: string; currency?: string } = {}): Promise<OpenInvoiceRow[]> {
  let query = db
    .selectFrom('invoices as i')
    .select([
      'i.id',
      'i.number',
      'i.account_id',
      'i.currency',
      'i.issue_date',
      'i.due_date',
      sql<string>`i.total_minor
        - coalesce((select sum(c.total_minor) from credit_notes c where c.invoice_id = i.id and c.issue_date <= ${asOf}), 0)
        - coalesce((select sum(a.amount_minor) from invoice_allocations a where a.invoice_id = i.id and a.allocated_on <= ${asOf}), 0)`.as('open_minor'),
    ])
    .where('i.issue_date', '<=', asOf)
    .orderBy('i.account_id')
    .orderBy('i.due_date')
    .orderBy('i.number')
  if (filter.accountId) query = query.where('i.account_id', '=', filter.accountId)
  if (filter.currency) query = query.where('i.currency', '=', filter.currency)
  const rows = await query.execute()
  return rows
    .map((r) => ({
      id: r.id,
      number: r.number,
      accountId: r.account_id,
      currency: r.currency,
      issueDate: r.issue_date,
      dueDate: r.due_date,
      openMinor: BigInt(r.open_minor),
    }))
    .filter((r) => r.openMinor !== 0n)
}

/** Invoices still open whose due date has passed but whose status does not say so yet, oldest due first. */
export async function overdueCandidates(db: Executor, today: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('invoices')
    .select('id')
    .where('due_date', '<', today)
    .where('status', 'in', ['issued', 'partially_paid'])
    .where(sql<boolean>`credited_minor + paid_minor < total_minor`)
    .orderBy('due_date')
    .orderBy('id')
    .limit(limit)
    .execute()
  return rows.map((r) => r.id)
}

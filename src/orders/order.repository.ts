import { sql, type Kysely, type Selectable } from 'kysely'
import type { BillingScheduleItemsTable, Database, FulfilmentLinesTable, FulfilmentsTable, OrderLinesTable, OrdersTable } from '../db/schema.js'
import { moneyOf } from '../money/money-value.js'
import type { ScheduleItem, ScheduleTrigger } from './billing-schedule.js'
import type { BillingAlignment, Fulfilment, FulfilmentKind, FulfilmentMode, Order, OrderLine, OrderRampYear, OrderStatus } from './order.js'

type Executor = Kysely<Database>

function toOrder(r: Selectable<OrdersTable>): Order {
  return {
    id: r.id,
    number: r.number,
    quoteId: r.quote_id,
    revision: r.revision,
    quoteNumber: r.quote_number,
    contractId: r.contract_id,
    accountId: r.account_id,
    ownerId: r.owner_id,
    sellerId: r.seller_id,
    currency: r.currency,
    status: r.status as OrderStatus,
    paymentTermsDays: r.payment_terms_days,
    ruleSetHash: r.rule_set_hash,
    priceBookHash: r.price_book_hash,
    net: moneyOf(r.net_minor, r.currency),
    oneTime: moneyOf(r.one_time_minor, r.currency),
    annualRecurring: moneyOf(r.annual_recurring_minor, r.currency),
    cancelReason: r.cancel_reason,
    billingAlignment: r.billing_alignment as BillingAlignment,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

interface StoredRampYear {
  year: number
  periods: number
  amountPerPeriod: string
  amount: string
}

function toLine(r: Selectable<OrderLinesTable>, currency: string): OrderLine {
  const ramp = r.ramp as StoredRampYear[] | null
  return {
    lineNo: r.line_no,
    parentLineNo: r.parent_line_no,
    sku: r.sku,
    name: r.name,
    productType: r.product_type as OrderLine['productType'],
    fulfilment: r.fulfilment as FulfilmentMode,
    taxCategory: r.tax_category,
    revenueTreatment: r.revenue_treatment as OrderLine['revenueTreatment'],
    unit: r.unit,
    billingPeriod: r.billing_period as OrderLine['billingPeriod'],
    qtyMilli: r.qty_milli,
    termMonths: r.term_months,
    startDate: r.start_date,
    periods: r.periods,
    listUnitPrice: moneyOf(r.list_unit_price_minor, currency),
    netAmount: moneyOf(r.net_amount_minor, currency),
    contractAmount: moneyOf(r.contract_amount_minor, currency),
    discountHundredths: r.discount_hundredths,
    ramp:
      ramp?.map((y) => ({
        year: y.year,
        periods: y.periods,
        amountPerPeriod: moneyOf(BigInt(y.amountPerPeriod), currency),
        amount: moneyOf(BigInt(y.amount), currency),
      })) ?? null,
    fulfilled: { shipped: r.shipped_milli, delivered: r.delivered_milli, activated: r.activated_milli },
  }
}

function storedRamp(ramp: OrderRampYear[] | null): string | null {
  if (!ramp) return null
  return JSON.stringify(
    ramp.map((y) => ({ year: y.year, periods: y.periods, amountPerPeriod: y.amountPerPeriod.minor.toString(), amount: y.amount.minor.toString() })),
  )
}

const LINES_PER_INSERT = 1000

/** Inserts the order unless its quote has one; returns the new order, or undefined when one existed (a redelivery or a race). */
export async function insertOrder(db: Executor, order: Omit<Order, 'version'>, lines: OrderLine[]): Promise<Order | undefined> {
  const row = await db
    .insertInto('orders')
    .values({
      id: order.id,
      number: order.number,
      quote_id: order.quoteId,
      revision: order.revision,
      quote_number: order.quoteNumber,
      contract_id: order.contractId,
      account_id: order.accountId,
      owner_id: order.ownerId,
      seller_id: order.sellerId,
      currency: order.currency,
      status: order.status,
      payment_terms_days: order.paymentTermsDays,
      rule_set_hash: order.ruleSetHash,
      price_book_hash: order.priceBookHash,
      net_minor: order.net.minor,
      one_time_minor: order.oneTime.minor,
      annual_recurring_minor: order.annualRecurring.minor,
      cancel_reason: order.cancelReason,
      billing_alignment: order.billingAlignment,
      created_at: order.createdAt,
      updated_at: order.updatedAt,
    })
    .onConflict((oc) => oc.column('quote_id').doNothing())
    .returningAll()
    .executeTakeFirst()
  if (!row) return undefined
  // In slices: a quote may have 10,000 lines, and a statement at most 65,535 parameters.
  for (let i = 0; i < lines.length; i += LINES_PER_INSERT) {
    await db
      .insertInto('order_lines')
      .values(
        lines.slice(i, i + LINES_PER_INSERT).map((l) => ({
          order_id: order.id,
          line_no: l.lineNo,
          parent_line_no: l.parentLineNo,
          sku: l.sku,
          name: l.name,
          product_type: l.productType,
          fulfilment: l.fulfilment,
          tax_category: l.taxCategory,
          revenue_treatment: l.revenueTreatment,
          unit: l.unit,
          billing_period: l.billingPeriod,
          qty_milli: l.qtyMilli,
          term_months: l.termMonths,
          start_date: l.startDate,
          periods: l.periods,
          list_unit_price_minor: l.listUnitPrice.minor,
          net_amount_minor: l.netAmount.minor,
          contract_amount_minor: l.contractAmount.minor,
          discount_hundredths: l.discountHundredths,
          ramp: storedRamp(l.ramp),
        })),
      )
      .execute()
  }
  return toOrder(row)
}

/** Human-readable, unique, gap-tolerant numbers from a sequence: O-2026-000042. */
export async function nextOrderNumber(db: Executor, year: number): Promise<string> {
  const { rows } = await sql<{ n: bigint }>`select nextval('order_number_seq') as n`.execute(db)
  return `O-${year}-${String(rows[0]!.n).padStart(6, '0')}`
}

export async function findOrder(db: Executor, id: string): Promise<Order | undefined> {
  const row = await db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toOrder(row)
}

export async function findOrderOfQuote(db: Executor, quoteId: string): Promise<Order | undefined> {
  const row = await db.selectFrom('orders').selectAll().where('quote_id', '=', quoteId).executeTakeFirst()
  return row && toOrder(row)
}

export async function lockOrder(db: Executor, id: string): Promise<Order | undefined> {
  const row = await db.selectFrom('orders').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  return row && toOrder(row)
}

export async function orderLines(db: Executor, order: Pick<Order, 'id' | 'currency'>): Promise<OrderLine[]> {
  const rows = await db.selectFrom('order_lines').selectAll().where('order_id', '=', order.id).orderBy('line_no').execute()
  return rows.map((r) => toLine(r, order.currency))
}

export interface OrderFilter {
  owners: string[] | null
  status?: OrderStatus
  accountId?: string
}

export async function listOrders(db: Executor, filter: OrderFilter, limit: number, startingAfter?: string): Promise<Order[]> {
  let query = db.selectFrom('orders').selectAll().orderBy('id').limit(limit)
  if (filter.owners) query = query.where('owner_id', 'in', filter.owners)
  if (filter.status) query = query.where('status', '=', filter.status)
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId)
  if (startingAfter) query = query.where('id', '>', startingAfter)
  return (await query.execute()).map(toOrder)
}

/** Compare-and-swap on the version: undefined when the order changed meanwhile. */
export async function updateOrder(
  db: Executor,
  id: string,
  expectedVersion: number,
  patch: { status: OrderStatus; cancelReason?: string },
  now: Date,
): Promise<Order | undefined> {
  const row = await db
    .updateTable('orders')
    .set({
      status: patch.status,
      ...(patch.cancelReason !== undefined ? { cancel_reason: patch.cancelReason } : {}),
      version: sql`version + 1`,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .returningAll()
    .executeTakeFirst()
  return row && toOrder(row)
}

/** Records a fulfilment and adds its quantities to the lines' totals (the table's checks refuse more than ordered). */
export async function insertFulfilment(db: Executor, fulfilment: Fulfilment): Promise<void> {
  await db
    .insertInto('fulfilments')
    .values({
      id: fulfilment.id,
      order_id: fulfilment.orderId,
      occurred_on: fulfilment.occurredOn,
      reference: fulfilment.reference,
      recorded_by: fulfilment.recordedBy,
      created_at: fulfilment.createdAt,
    })
    .execute()
  await db
    .insertInto('fulfilment_lines')
    .values(
      fulfilment.lines.map((l) => ({ fulfilment_id: fulfilment.id, order_id: fulfilment.orderId, line_no: l.lineNo, kind: l.kind, qty_milli: l.qtyMilli })),
    )
    .execute()
  const column = { shipped: 'shipped_milli', delivered: 'delivered_milli', activated: 'activated_milli' } as const
  for (const l of fulfilment.lines) {
    await db
      .updateTable('order_lines')
      .set({ [column[l.kind]]: sql`${sql.ref(column[l.kind])} + ${l.qtyMilli}` })
      .where('order_id', '=', fulfilment.orderId)
      .where('line_no', '=', l.lineNo)
      .execute()
  }
}

function toFulfilment(r: Selectable<FulfilmentsTable>, lines: Selectable<FulfilmentLinesTable>[]): Fulfilment {
  return {
    id: r.id,
    orderId: r.order_id,
    occurredOn: r.occurred_on,
    reference: r.reference,
    recordedBy: r.recorded_by,
    createdAt: r.created_at,
    lines: lines.map((l) => ({ lineNo: l.line_no, kind: l.kind as FulfilmentKind, qtyMilli: l.qty_milli })),
  }
}

/** A page of an order's fulfilments, oldest first (ids are time-ordered), with their lines. */
export async function fulfilmentsOf(db: Executor, orderId: string, limit: number, startingAfter?: string): Promise<Fulfilment[]> {
  let query = db.selectFrom('fulfilments').selectAll().where('order_id', '=', orderId).orderBy('id').limit(limit)
  if (startingAfter) query = query.where('id', '>', startingAfter)
  const rows = await query.execute()
  if (!rows.length) return []
  const lines = await db
    .selectFrom('fulfilment_lines')
    .selectAll()
    .where(
      'fulfilment_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('line_no')
    .orderBy('kind')
    .execute()
  return rows.map((r) =>
    toFulfilment(
      r,
      lines.filter((l) => l.fulfilment_id === r.id),
    ),
  )
}

/** Stores the billing schedule of a new order, in slices (a statement takes at most 65,535 parameters). */
export async function insertSchedule(db: Executor, orderId: string, items: ScheduleItem[]): Promise<void> {
  for (let i = 0; i < items.length; i += LINES_PER_INSERT) {
    await db
      .insertInto('billing_schedule_items')
      .values(
        items.slice(i, i + LINES_PER_INSERT).map((item) => ({
          order_id: orderId,
          line_no: item.lineNo,
          seq: item.seq,
          trigger: item.trigger,
          period_start: item.periodStart,
          period_end: item.periodEnd,
          bill_on: item.billOn,
          contract_year: item.contractYear,
          prorated: item.prorated,
          amount_minor: item.amount.minor,
          milestone_id: item.milestone?.id ?? null,
          milestone_name: item.milestone?.name ?? null,
          milestone_percent: item.milestone?.percent ?? null,
        })),
      )
      .execute()
  }
}

function toScheduleItem(r: Selectable<BillingScheduleItemsTable>, currency: string): ScheduleItem {
  return {
    lineNo: r.line_no,
    seq: r.seq,
    trigger: r.trigger as ScheduleTrigger,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    billOn: r.bill_on,
    contractYear: r.contract_year,
    prorated: r.prorated,
    amount: moneyOf(r.amount_minor, currency),
    milestone: r.milestone_id ? { id: r.milestone_id, name: r.milestone_name!, percent: r.milestone_percent! } : null,
  }
}

/** A page of an order's schedule in billing order (line, then sequence), resumed after `(lineNo, seq)`. */
export async function scheduleOf(
  db: Executor,
  order: Pick<Order, 'id' | 'currency'>,
  limit: number,
  after?: { lineNo: number; seq: number },
): Promise<ScheduleItem[]> {
  let query = db.selectFrom('billing_schedule_items').selectAll().where('order_id', '=', order.id).orderBy('line_no').orderBy('seq').limit(limit)
  if (after) query = query.where((eb) => eb.or([eb('line_no', '>', after.lineNo), eb.and([eb('line_no', '=', after.lineNo), eb('seq', '>', after.seq)])]))
  return (await query.execute()).map((r) => toScheduleItem(r, order.currency))
}

/** Locks orders in id order (so two lockers of overlapping sets never deadlock). */
export async function lockOrders(db: Executor, ids: readonly string[]): Promise<Order[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('orders')
    .selectAll()
    .where('id', 'in', [...ids])
    .orderBy('id')
    .forUpdate()
    .execute()
  return rows.map(toOrder)
}

/** Every schedule item of an order, in billing order. */
export async function wholeSchedule(db: Executor, order: Pick<Order, 'id' | 'currency'>): Promise<ScheduleItem[]> {
  const rows = await db.selectFrom('billing_schedule_items').selectAll().where('order_id', '=', order.id).orderBy('line_no').orderBy('seq').execute()
  return rows.map((r) => toScheduleItem(r, order.currency))
}

/** Per line and kind, the quantity fulfilled on or before a day (thousandths). */
export async function fulfilledBy(db: Executor, orderId: string, day: string): Promise<Map<number, Record<FulfilmentKind, bigint>>> {
  const rows = await db
    .selectFrom('fulfilment_lines as l')
    .innerJoin('fulfilments as f', 'f.id', 'l.fulfilment_id')
    .select(['l.line_no', 'l.kind', sql<string>`sum(l.qty_milli)`.as('qty')])
    .where('l.order_id', '=', orderId)
    .where('f.occurred_on', '<=', day)
    .groupBy(['l.line_no', 'l.kind'])
    .execute()
  const out = new Map<number, Record<FulfilmentKind, bigint>>()
  for (const r of rows) {
    const line = out.get(r.line_no) ?? { shipped: 0n, delivered: 0n, activated: 0n }
    line[r.kind as FulfilmentKind] = BigInt(r.qty)
    out.set(r.line_no, line)
  }
  return out
}

/** Whether any invoice bills the order (invoicing's table, read-only): an invoiced order is corrected by credit notes, not canceled. */
export async function isInvoiced(db: Executor, orderId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('invoice_lines').select('order_id').where('order_id', '=', orderId).limit(1).executeTakeFirst())
}

/** Whether an open invoice draft bills the order (invoicing's tables, read-only): it is issued or discarded before the order is canceled. */
export async function isDrafted(db: Executor, orderId: string): Promise<boolean> {
  const row = await db
    .selectFrom('invoice_draft_lines as l')
    .innerJoin('invoice_drafts as d', 'd.id', 'l.draft_id')
    .select('l.order_id')
    .where('l.order_id', '=', orderId)
    .where('d.status', '=', 'draft')
    .limit(1)
    .executeTakeFirst()
  return Boolean(row)
}

/** The milestones an order reached on or before a day: `lineNo/milestoneId` → the day reached. */
export async function milestonesReached(db: Executor, orderId: string, day: string): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('order_milestones')
    .select(['line_no', 'milestone_id', 'reached_on'])
    .where('order_id', '=', orderId)
    .where('reached_on', '<=', day)
    .execute()
  return new Map(rows.map((r) => [`${r.line_no}/${r.milestone_id}`, r.reached_on]))
}

/** Records a milestone reached; false when the line had reached it already. */
export async function insertMilestone(
  db: Executor,
  m: { orderId: string; lineNo: number; milestoneId: string; reachedOn: string; recordedBy: string; note: string | null; now: Date },
): Promise<boolean> {
  const row = await db
    .insertInto('order_milestones')
    .values({
      order_id: m.orderId,
      line_no: m.lineNo,
      milestone_id: m.milestoneId,
      reached_on: m.reachedOn,
      recorded_by: m.recordedBy,
      note: m.note,
      created_at: m.now,
    })
    .onConflict((oc) => oc.columns(['order_id', 'line_no', 'milestone_id']).doNothing())
    .returning('milestone_id')
    .executeTakeFirst()
  return row !== undefined
}

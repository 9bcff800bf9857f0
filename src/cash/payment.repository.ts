import { sql, type Kysely, type Selectable } from 'kysely'
import type { Database, PaymentsTable, RefundsTable } from '../db/schema.js'
import { moneyOf } from '../money/money-value.js'
import type { Payment, PaymentMethod, PaymentStatus, Refund } from './payment.js'

type Executor = Kysely<Database>

function toPayment(r: Selectable<PaymentsTable>): Payment {
  return {
    id: r.id,
    accountId: r.account_id,
    method: r.method as PaymentMethod,
    amount: moneyOf(r.amount_minor, r.currency),
    receivedDate: r.received_date,
    reference: r.reference,
    status: r.status as PaymentStatus,
    refunded: moneyOf(r.refunded_minor, r.currency),
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
  }
}

function toRefund(r: Selectable<RefundsTable>): Refund {
  return {
    id: r.id,
    accountId: r.account_id,
    paymentId: r.payment_id,
    amount: moneyOf(r.amount_minor, r.currency),
    fromCredit: moneyOf(r.from_credit_minor, r.currency),
    reopened: moneyOf(r.reopened_minor, r.currency),
    reason: r.reason,
    refundDate: r.refund_date,
    createdBy: r.created_by,
    createdAt: r.created_at,
  }
}

export async function insertPayment(db: Executor, p: Payment): Promise<void> {
  await db
    .insertInto('payments')
    .values({
      id: p.id,
      account_id: p.accountId,
      method: p.method,
      currency: p.amount.currency,
      amount_minor: p.amount.minor,
      received_date: p.receivedDate,
      reference: p.reference,
      status: p.status,
      allocation: null,
      created_by: p.createdBy,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    })
    .execute()
}

export async function findPayment(db: Executor, id: string): Promise<Payment | undefined> {
  const row = await db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toPayment(row)
}

export async function lockPayment(db: Executor, id: string): Promise<Payment | undefined> {
  const row = await db.selectFrom('payments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  return row && toPayment(row)
}

export async function updatePaymentRefunded(db: Executor, id: string, refundedMinor: bigint, status: PaymentStatus, now: Date): Promise<Payment> {
  const row = await db
    .updateTable('payments')
    .set({ refunded_minor: refundedMinor, status, version: sql`version + 1`, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return toPayment(row)
}

export interface PaymentFilter {
  accountId?: string
  status?: PaymentStatus
}

/** Payments newest first (ids are time-ordered), resumed after a payment id. */
export async function listPayments(db: Executor, filter: PaymentFilter, limit: number, startingAfter?: string): Promise<Payment[]> {
  let query = db.selectFrom('payments').selectAll().orderBy('id', 'desc').limit(limit)
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId)
  if (filter.status) query = query.where('status', '=', filter.status)
  if (startingAfter) query = query.where('id', '<', startingAfter)
  return (await query.execute()).map(toPayment)
}

export async function insertRefund(db: Executor, r: Refund): Promise<void> {
  await db
    .insertInto('refunds')
    .values({
      id: r.id,
      account_id: r.accountId,
      currency: r.amount.currency,
      payment_id: r.paymentId,
      amount_minor: r.amount.minor,
      from_credit_minor: r.fromCredit.minor,
      reopened_minor: r.reopened.minor,
      reason: r.reason,
      refund_date: r.refundDate,
      created_by: r.createdBy,
      created_at: r.createdAt,
    })
    .execute()
}

export async function refundsOf(db: Executor, filter: { paymentId: string } | { accountId: string }): Promise<Refund[]> {
  let query = db.selectFrom('refunds').selectAll().orderBy('id')
  query = 'paymentId' in filter ? query.where('payment_id', '=', filter.paymentId) : query.where('account_id', '=', filter.accountId)
  return (await query.execute()).map(toRefund)
}

/**
 * Serialises the cash use cases of one account and currency (payments, credit applied,
 * refunds) for the rest of the transaction. The customer's credit balance is read from the
 * journal, so two refunds of it must not both read the same balance: this transaction-scoped
 * advisory lock, keyed on the account and currency, makes the second wait for the first's
 * commit and then read what it posted. Invoice rows are still locked one by one (in id order)
 * against the invoicing side's credit notes.
 */
export async function lockAccountCash(db: Executor, accountId: string, currency: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`qtc:cash:${accountId}:${currency}`}, 0))`.execute(db)
}

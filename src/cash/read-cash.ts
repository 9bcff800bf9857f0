import type { Kysely } from 'kysely'
import { getAccount } from '../accounts/account.service.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors.js'
import { allocationsOf } from '../invoicing/invoice.service.js'
import { partyBalances } from '../ledger/journal.js'
import { moneyOf, type Money } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import type { CashDeps, Payment, PaymentStatus, PaymentView, Refund } from './payment.js'
import * as repo from './payment.repository.js'

/** A payment with how it settled invoices and what of it went to credit. */
export async function paymentViewOf(db: Kysely<Database>, payment: Payment): Promise<PaymentView> {
  const rows = await allocationsOf(db, { paymentId: payment.id })
  const currency = payment.amount.currency
  const settledByPayment = rows.filter((r) => r.source === 'payment').reduce((s, r) => s + r.amountMinor, 0n)
  return {
    ...payment,
    allocations: rows.map((r) => ({
      invoiceId: r.invoiceId,
      invoiceNumber: r.invoiceNumber,
      source: r.source,
      amount: moneyOf(r.amountMinor, currency),
      date: r.allocatedOn,
      refundId: r.refundId,
    })),
    toCredit: moneyOf(payment.amount.minor - settledByPayment, currency),
  }
}

export async function getPayment(deps: CashDeps, id: string): Promise<PaymentView & { refunds: Refund[] }> {
  const payment = await repo.findPayment(deps.db, id)
  if (!payment) throw new AppError('NOT_FOUND', `No payment ${id}.`)
  return { ...(await paymentViewOf(deps.db, payment)), refunds: await repo.refundsOf(deps.db, { paymentId: id }) }
}

export async function listPayments(
  deps: CashDeps,
  filter: { accountId?: string; status?: PaymentStatus },
  limit: number,
  startingAfter?: string,
): Promise<Payment[]> {
  return repo.listPayments(deps.db, filter, limit, startingAfter)
}

export interface AccountBalance {
  currency: string
  /** What the account owes on its invoices (the journal's receivable for it). */
  receivable: Money
  /** What QTC owes the account: over-payments and credit released by credit notes, not yet applied or refunded. */
  credit: Money
  /** Receivable less credit: what the account owes, net. */
  net: Money
}

/** The account's balances per currency, read from the journal. */
export async function accountBalance(deps: CashDeps, actor: Principal, accountId: string): Promise<AccountBalance[]> {
  await getAccount(deps, actor, accountId)
  const rows = await partyBalances(deps.db, accountId, ['receivable', 'customerCredit'])
  const currencies = [...new Set(rows.map((r) => r.currency))]
  return currencies.map((currency) => {
    const receivable = rows.find((r) => r.currency === currency && r.account === 'receivable')?.balance ?? 0n
    // A credit balance: the journal shows it as credit minus debit.
    const credit = -(rows.find((r) => r.currency === currency && r.account === 'customerCredit')?.balance ?? 0n)
    return { currency, receivable: moneyOf(receivable, currency), credit: moneyOf(credit, currency), net: moneyOf(receivable - credit, currency) }
  })
}

/** The account's credit balance in a currency, in minor units (read inside the caller's transaction, after `lockAccountCash`). */
export async function creditBalanceOf(db: Kysely<Database>, accountId: string, currency: string): Promise<bigint> {
  const rows = await partyBalances(db, accountId, ['customerCredit'], currency)
  return -(rows[0]?.balance ?? 0n)
}

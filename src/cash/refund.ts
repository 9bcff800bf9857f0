import type { Transaction } from 'kysely'
import { getAccount } from '../accounts/account.service.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { AppError, type FieldError } from '../errors.js'
import { allocateToInvoice, allocationsOf, lockInvoicesToSettle, standingAllocationsOf } from '../invoicing/invoice.service.js'
import { postEntry } from '../ledger/journal.js'
import { minMinor } from '../money/money.js'
import { formatMoney, moneyOf } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { assertTransition } from '../shared/state-machine.js'
import { PAYMENT_TRANSITIONS, type CashDeps, type Payment, type Refund } from './payment.js'
import * as repo from './payment.repository.js'
import { creditBalanceOf } from './read-cash.js'
import { parsed, todayOf } from './record-payment.js'

export interface RefundInput {
  /** A decimal string; absent: everything that can be refunded. */
  amount?: string
  reason: string
}

export interface PaymentRefund {
  refund: Refund
  payment: Payment
  /** The invoices owed again, and how much of each. */
  reopened: Array<{ invoiceId: string; number: string; amount: string }>
}

/**
 * Refunds a payment, in part or in full (never more than it has left): the money comes back
 * from the account's credit balance first — where an over-payment sits — and the rest by
 * reopening the invoices the payment settled, the latest settled first, which are owed again.
 * One journal entry (debit customer credit and receivable, credit cash), in one transaction.
 */
export async function refundPayment(
  deps: CashDeps,
  actor: Principal,
  paymentId: string,
  input: RefundInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<PaymentRefund>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => ({ status: 201, body: await refund(trx, deps, actor, paymentId, input) }),
  )
}

async function refund(trx: Transaction<Database>, deps: CashDeps, actor: Principal, paymentId: string, input: RefundInput): Promise<PaymentRefund> {
  const found = await repo.findPayment(trx, paymentId)
  if (!found) throw new AppError('NOT_FOUND', `No payment ${paymentId}.`)
  const currency = found.amount.currency
  await repo.lockAccountCash(trx, found.accountId, currency)
  const payment = (await repo.lockPayment(trx, paymentId))!
  const left = payment.amount.minor - payment.refunded.minor
  const errors: FieldError[] = []
  const amountMinor = input.amount === undefined ? left : parsed(input.amount, currency, '/amount', errors)
  if (amountMinor !== null && amountMinor <= 0n && input.amount !== undefined) errors.push({ pointer: '/amount', detail: 'must be more than 0' })
  if (errors.length > 0 || amountMinor === null) throw new AppError('REFUND_INVALID', 'The refund cannot be made as sent; nothing was written.', { errors })
  const status = assertTransition(
    { entity: 'payment', transitions: PAYMENT_TRANSITIONS },
    payment.status,
    amountMinor === left ? 'refund_in_full' : 'refund_in_part',
  )
  const describe = (m: bigint) => formatMoney(moneyOf(m, currency))
  if (amountMinor > left)
    throw new AppError('REFUND_INVALID', `At most ${describe(left)} of payment ${payment.id} can be refunded.`, {
      errors: [{ pointer: '/amount', detail: `at most ${describe(left)} is left to refund (${describe(payment.refunded.minor)} refunded already)` }],
    })

  // The credit balance first: an over-payment waits there. Then the invoices this payment still settles, latest first.
  const credit = await creditBalanceOf(trx, payment.accountId, currency)
  const fromCredit = minMinor(amountMinor, credit)
  let toReopen = amountMinor - fromCredit
  const standing = await standingAllocationsOf(trx, payment.id)
  const order = [...new Set((await allocationsOf(trx, { paymentId: payment.id })).map((a) => a.invoiceId))].reverse()
  const invoices = await lockInvoicesToSettle(trx, order)
  const plan: Array<{ invoice: (typeof invoices)[number]; amountMinor: bigint }> = []
  for (const id of order) {
    if (toReopen === 0n) break
    const invoice = invoices.find((i) => i.id === id)!
    // What the payment still settles of it, but never more than is paid of it now (a credit note may have released some).
    const still = standing.get(id) ?? 0n
    const amount = minMinor(still, invoice.paid.minor, toReopen)
    if (amount > 0n) plan.push({ invoice, amountMinor: amount })
    toReopen -= amount
  }
  if (toReopen > 0n)
    throw new AppError('REFUND_INVALID', `Only ${describe(amountMinor - toReopen)} of payment ${payment.id} can be refunded now.`, {
      errors: [
        {
          pointer: '/amount',
          detail: `the account's credit holds ${describe(fromCredit)} and the invoices the payment settles ${describe(amountMinor - toReopen - fromCredit)}; the rest was released or applied elsewhere`,
        },
      ],
    })

  const now = deps.clock.now()
  const today = todayOf(deps)
  const reopenedMinor = amountMinor - fromCredit
  const record: Refund = {
    id: newId('rfd'),
    accountId: payment.accountId,
    paymentId: payment.id,
    amount: moneyOf(amountMinor, currency),
    fromCredit: moneyOf(fromCredit, currency),
    reopened: moneyOf(reopenedMinor, currency),
    reason: input.reason,
    refundDate: today,
    createdBy: actor.id,
    createdAt: now,
  }
  await repo.insertRefund(trx, record)
  const entryId = await postEntry(
    trx,
    {
      date: today,
      currency,
      sourceType: 'refund',
      sourceId: record.id,
      memo: `Refund of payment ${payment.reference ?? payment.id}`,
      lines: [
        { account: 'customerCredit', debit: fromCredit, partyId: payment.accountId },
        { account: 'receivable', debit: reopenedMinor, partyId: payment.accountId },
        { account: 'cash', credit: amountMinor },
      ],
    },
    now,
  )
  const reopened = []
  for (const p of plan) {
    await allocateToInvoice(
      trx,
      p.invoice,
      { source: 'refund', amountMinor: -p.amountMinor, paymentId: payment.id, refundId: record.id, journalEntryId: entryId, date: today, actorId: actor.id },
      today,
      now,
    )
    reopened.push({ invoiceId: p.invoice.id, number: p.invoice.number, amount: describe(p.amountMinor) })
  }
  const updated = await repo.updatePaymentRefunded(trx, payment.id, payment.refunded.minor + amountMinor, status, now)
  await appendAudit(trx, now, {
    actorId: actor.id,
    action: 'payment.refunded',
    entityType: 'payment',
    entityId: payment.id,
    before: { status: payment.status, refunded: formatMoney(payment.refunded) },
    after: { status, refunded: formatMoney(updated.refunded), refundId: record.id, reason: input.reason },
  })
  await appendEvent(trx, now, {
    type: 'payment.refunded',
    aggregateType: 'payment',
    aggregateId: payment.id,
    payload: {
      paymentId: payment.id,
      refundId: record.id,
      accountId: payment.accountId,
      currency,
      amount: describe(amountMinor),
      fromCredit: describe(fromCredit),
      reopened,
      status: status as 'partially_refunded' | 'refunded',
    },
  })
  return { refund: record, payment: updated, reopened }
}

export interface CreditRefundInput {
  currency: string
  /** A decimal string; absent: the whole credit balance. */
  amount?: string
  reason: string
}

/** Pays back part or all of an account's credit balance (debit customer credit, credit cash); never more than the balance. */
export async function refundCredit(
  deps: CashDeps,
  actor: Principal,
  accountId: string,
  input: CreditRefundInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<{ refund: Refund; creditLeft: string }>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const account = await getAccount({ db: trx }, actor, accountId)
      const { currency } = input
      const errors: FieldError[] = []
      const asked = input.amount === undefined ? undefined : parsed(input.amount, currency, '/amount', errors)
      if (asked === null || errors.length > 0) throw new AppError('REFUND_INVALID', 'The refund cannot be made as sent; nothing was written.', { errors })
      await repo.lockAccountCash(trx, account.id, currency)
      const credit = await creditBalanceOf(trx, account.id, currency)
      const describe = (m: bigint) => formatMoney(moneyOf(m, currency))
      const amountMinor = asked ?? credit
      if (amountMinor <= 0n || amountMinor > credit)
        throw new AppError('REFUND_INVALID', `Account ${account.id} has ${describe(credit)} of credit in ${currency}.`, {
          errors: [
            {
              pointer: input.amount === undefined ? '/currency' : '/amount',
              detail: `the credit balance is ${describe(credit)}: refund more than 0 and at most that`,
            },
          ],
        })
      const now = deps.clock.now()
      const today = todayOf(deps)
      const record: Refund = {
        id: newId('rfd'),
        accountId: account.id,
        paymentId: null,
        amount: moneyOf(amountMinor, currency),
        fromCredit: moneyOf(amountMinor, currency),
        reopened: moneyOf(0n, currency),
        reason: input.reason,
        refundDate: today,
        createdBy: actor.id,
        createdAt: now,
      }
      await repo.insertRefund(trx, record)
      await postEntry(
        trx,
        {
          date: today,
          currency,
          sourceType: 'refund',
          sourceId: record.id,
          memo: `Refund of credit to ${account.name}`,
          lines: [
            { account: 'customerCredit', debit: amountMinor, partyId: account.id },
            { account: 'cash', credit: amountMinor },
          ],
        },
        now,
      )
      const creditLeft = describe(credit - amountMinor)
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'credit.refunded',
        entityType: 'account',
        entityId: account.id,
        after: { refundId: record.id, amount: describe(amountMinor), currency, creditLeft, reason: input.reason },
      })
      await appendEvent(trx, now, {
        type: 'credit.refunded',
        aggregateType: 'account',
        aggregateId: account.id,
        payload: { refundId: record.id, accountId: account.id, currency, amount: describe(amountMinor), creditLeft },
      })
      return { status: 201, body: { refund: record, creditLeft } }
    },
  )
}

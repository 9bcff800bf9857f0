import type { Db } from '../db/database.js'
import type { FieldError } from '../errors.js'
import { minMinor } from '../money/money.js'
import type { Money } from '../money/money-value.js'
import type { Clock } from '../shared/clock.js'
import type { Transitions } from '../shared/state-machine.js'

/** What the cash use cases run with, built once at start-up. */
export interface CashDeps {
  db: Db
  clock: Clock
}

export const PAYMENT_METHODS = ['bank_transfer', 'card', 'direct_debit'] as const
export type PaymentMethod = (typeof PAYMENT_METHODS)[number]

export const PAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'refunded', 'partially_refunded'] as const
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number]
export type PaymentAction = 'succeed' | 'fail' | 'refund_in_part' | 'refund_in_full'

/**
 * A payment's life: pending until its outcome is known (a provider's card or debit), then
 * succeeded or failed; a succeeded payment is refunded in part, again, or in full. Failed
 * and refunded are final.
 */
export const PAYMENT_TRANSITIONS: Transitions<PaymentStatus, PaymentAction> = {
  pending: { succeed: 'succeeded', fail: 'failed' },
  succeeded: { refund_in_part: 'partially_refunded', refund_in_full: 'refunded' },
  partially_refunded: { refund_in_part: 'partially_refunded', refund_in_full: 'refunded' },
  failed: {},
  refunded: {},
}

export interface Payment {
  id: string
  accountId: string
  method: PaymentMethod
  amount: Money
  receivedDate: string
  reference: string | null
  status: PaymentStatus
  refunded: Money
  createdBy: string
  createdAt: Date
  updatedAt: Date
  version: number
}

export interface AllocationView {
  invoiceId: string
  invoiceNumber: string
  source: 'payment' | 'credit' | 'refund' | 'credit_note'
  amount: Money
  date: string
  refundId: string | null
}

export interface PaymentView extends Payment {
  /** How the payment settled invoices, in order (refunds reopening them negative). */
  allocations: AllocationView[]
  /** What of it settled no invoice and went to the account's credit balance. */
  toCredit: Money
}

export interface Refund {
  id: string
  accountId: string
  paymentId: string | null
  amount: Money
  /** Taken from the account's credit balance. */
  fromCredit: Money
  /** Taken back from invoices the payment had settled: they are owed again. */
  reopened: Money
  reason: string
  refundDate: string
  createdBy: string
  createdAt: Date
}

/** An invoice as allocation sees it: what is open of it, in the payment's currency. */
export interface OpenInvoice {
  id: string
  number: string
  openMinor: bigint
}

export interface AllocationPlan {
  allocations: Array<{ invoiceId: string; amountMinor: bigint }>
  /** What is left over: the account's credit. */
  creditMinor: bigint
}

/**
 * Splits an amount over open invoices: as asked (each amount within what is open of its
 * invoice, the sum within the amount), or, when nothing is asked, oldest due first (the order
 * `open` comes in) until the amount is spent. Whatever is left is credit. Pure, so the
 * property tests drive it directly; errors name the entry of `asked` at fault.
 */
export function planAllocation(
  amountMinor: bigint,
  open: readonly OpenInvoice[],
  asked: ReadonlyArray<{ invoiceId: string; amountMinor: bigint }> | null,
  describe: (minor: bigint) => string,
): { plan: AllocationPlan; errors: FieldError[] } {
  const errors: FieldError[] = []
  const allocations: AllocationPlan['allocations'] = []
  if (asked === null) {
    let left = amountMinor
    for (const invoice of open) {
      if (left === 0n) break
      const amount = minMinor(invoice.openMinor, left)
      if (amount > 0n) allocations.push({ invoiceId: invoice.id, amountMinor: amount })
      left -= amount
    }
    return { plan: { allocations, creditMinor: left }, errors }
  }
  const seen = new Set<string>()
  let sum = 0n
  asked.forEach((a, i) => {
    const invoice = open.find((o) => o.id === a.invoiceId)
    if (seen.has(a.invoiceId)) return void errors.push({ pointer: `/allocations/${i}/invoiceId`, detail: `invoice ${a.invoiceId} is given twice` })
    seen.add(a.invoiceId)
    if (!invoice) return void errors.push({ pointer: `/allocations/${i}/invoiceId`, detail: `no open invoice ${a.invoiceId} of this account in this currency` })
    if (a.amountMinor <= 0n) return void errors.push({ pointer: `/allocations/${i}/amount`, detail: 'must be more than 0' })
    if (a.amountMinor > invoice.openMinor)
      return void errors.push({ pointer: `/allocations/${i}/amount`, detail: `at most ${describe(invoice.openMinor)} is open on invoice ${invoice.number}` })
    sum += a.amountMinor
    allocations.push({ invoiceId: a.invoiceId, amountMinor: a.amountMinor })
  })
  if (errors.length === 0 && sum > amountMinor)
    errors.push({ pointer: '/allocations', detail: `the allocations add up to ${describe(sum)}, more than the ${describe(amountMinor)} available` })
  return { plan: { allocations, creditMinor: amountMinor - sum }, errors }
}

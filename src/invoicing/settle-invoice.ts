import type { Transaction } from 'kysely'
import { appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { assert } from '../errors.js'
import { formatMoney, moneyOf } from '../money/money-value.js'
import { openMinorOf, settlementOf, settlementStatus, type Invoice, type InvoicingDeps } from './invoice.js'
import * as repo from './invoice.repository.js'

/**
 * What the cash side asks of invoices, inside its own transaction: lock them, and move what
 * is paid of one. The invoice row is the one place its open amount lives (total − credited −
 * paid, kept within the total by the database), so every settler locks it first.
 */

export type { Invoice }
export type AllocationSource = 'payment' | 'credit' | 'refund'

/** Invoices by id, locked in id order (no deadlock between two settlers). Unknown ids are simply absent. */
export async function lockInvoicesToSettle(trx: Transaction<Database>, ids: readonly string[]): Promise<Invoice[]> {
  return repo.lockInvoices(trx, ids)
}

/** The account's invoices in a currency still open and issued by `issuedBy`, oldest due first, locked. */
export async function lockOpenInvoicesOf(trx: Transaction<Database>, accountId: string, currency: string, issuedBy: string): Promise<Invoice[]> {
  return repo.lockOpenInvoices(trx, accountId, currency, issuedBy)
}

/** What an invoice owes now, in minor units. */
export function openAmountOf(invoice: Invoice): bigint {
  return openMinorOf(settlementOf(invoice))
}

export interface AllocationInput {
  source: AllocationSource
  /** Positive settles, negative reopens (a refund). */
  amountMinor: bigint
  paymentId?: string
  refundId?: string
  journalEntryId: string
  /** The accounting day: the payment's receipt, the credit's application, the refund. */
  date: string
  actorId: string
}

/**
 * Moves what is paid of a locked invoice by a signed amount: records the allocation, sets the
 * status that follows, and emits `invoice.status_changed` when it changed. An amount beyond
 * what is open (or a reopening beyond what was paid) is a programming error here: callers
 * check first, and the database's check refuses it anyway.
 */
export async function allocateToInvoice(trx: Transaction<Database>, invoice: Invoice, a: AllocationInput, today: string, now: Date): Promise<Invoice> {
  assert(a.amountMinor !== 0n, 'an allocation moves something')
  const paidMinor = invoice.paid.minor + a.amountMinor
  assert(paidMinor >= 0n && a.amountMinor <= openAmountOf(invoice), `allocation of ${a.amountMinor} fits invoice ${invoice.number}`)
  await repo.insertAllocation(trx, {
    invoiceId: invoice.id,
    accountId: invoice.accountId,
    currency: invoice.currency,
    source: a.source,
    paymentId: a.paymentId ?? null,
    refundId: a.refundId ?? null,
    amountMinor: a.amountMinor,
    journalEntryId: a.journalEntryId,
    allocatedOn: a.date,
    createdBy: a.actorId,
    createdAt: now,
  })
  return resettle(trx, invoice, { creditedMinor: invoice.credited.minor, paidMinor }, today, now)
}

/** Writes an invoice's new settlement and status, and tells the world when the status moved. */
export async function resettle(
  trx: Transaction<Database>,
  invoice: Invoice,
  s: { creditedMinor: bigint; paidMinor: bigint },
  today: string,
  now: Date,
): Promise<Invoice> {
  const status = settlementStatus({ totalMinor: invoice.total.minor, dueDate: invoice.dueDate, ...s }, today)
  const updated = await repo.updateSettlement(trx, invoice.id, { ...s, status }, now)
  if (status !== invoice.status)
    await appendEvent(trx, now, {
      type: 'invoice.status_changed',
      aggregateType: 'invoice',
      aggregateId: invoice.id,
      payload: {
        invoiceId: invoice.id,
        number: invoice.number,
        accountId: invoice.accountId,
        from: invoice.status,
        to: status,
        currency: invoice.currency,
        amountDue: formatMoney(moneyOf(openAmountOf(updated), invoice.currency)),
      },
    })
  return updated
}

/** How much of each invoice a payment's allocations still settle (its allocations less the refunds that reopened them). */
export async function standingAllocationsOf(trx: Transaction<Database>, paymentId: string): Promise<Map<string, bigint>> {
  const standing = new Map<string, bigint>()
  for (const a of await repo.allocationsOf(trx, { paymentId })) standing.set(a.invoiceId, (standing.get(a.invoiceId) ?? 0n) + a.amountMinor)
  return standing
}

export { allocationsOf, openInvoicesAsOf, type AllocationRow, type OpenInvoiceRow } from './invoice.repository.js'

/**
 * Moves invoices past their due date with something still open to `overdue` (at most
 * `limit` a run, oldest due first), each in its own transaction under its row lock and read
 * again there: one settled meanwhile is left as it is, so a rerun changes nothing twice.
 */
export async function markOverdueInvoices(deps: Pick<InvoicingDeps, 'db' | 'clock'>, limit: number): Promise<number> {
  const today = deps.clock.now().toISOString().slice(0, 10)
  let marked = 0
  for (const id of await repo.overdueCandidates(deps.db, today, limit)) {
    marked += await deps.db.transaction().execute(async (trx) => {
      const [invoice] = await repo.lockInvoices(trx, [id])
      if (!invoice || invoice.status === 'overdue' || settlementStatus(settlementOf(invoice), today) !== 'overdue') return 0
      await resettle(trx, invoice, { creditedMinor: invoice.credited.minor, paidMinor: invoice.paid.minor }, today, deps.clock.now())
      return 1
    })
  }
  return marked
}

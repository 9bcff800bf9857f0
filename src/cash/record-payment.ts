import type { Transaction } from 'kysely'
import { Temporal } from 'temporal-polyfill'
import { getAccount } from '../accounts/account.service.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { AppError, type FieldError } from '../errors.js'
import { allocateToInvoice, lockInvoicesToSettle, lockOpenInvoicesOf, openAmountOf, type Invoice } from '../invoicing/invoice.service.js'
import { postEntry } from '../ledger/journal.js'
import { MoneyError, parseAmount } from '../money/money.js'
import { formatMoney, moneyOf } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { planAllocation, type AllocationPlan, type CashDeps, type OpenInvoice, type Payment, type PaymentMethod, type PaymentView } from './payment.js'
import * as repo from './payment.repository.js'
import { paymentViewOf } from './read-cash.js'

/** How far back a payment's receipt may be dated: a year, so a typo in the year is caught. */
export const MAX_RECEIVED_DAYS_BACK = 366

export interface PaymentInput {
  accountId: string
  method: PaymentMethod
  /** A decimal string in the currency, with at most its ISO 4217 digits. */
  amount: string
  currency: string
  /** The day the money arrived (the bank's value date); today when absent. */
  receivedDate?: string
  reference?: string
  /** Which invoices it pays and how much of each; absent: oldest due first. */
  allocations?: Array<{ invoiceId: string; amount: string }>
}

export function todayOf(deps: Pick<CashDeps, 'clock'>): string {
  return deps.clock.now().toISOString().slice(0, 10)
}

/**
 * Records a payment received and allocates it, in one transaction: to the invoices named
 * (each within what is open of it), or oldest due first; what settles no invoice goes to the
 * account's credit balance. Posts one balanced journal entry (debit cash; credit the
 * receivable and the customer's credit) and moves each invoice's status. Exactly once per
 * Idempotency-Key; bad input is refused with every error and writes nothing.
 */
export async function recordPayment(
  deps: CashDeps,
  actor: Principal,
  input: PaymentInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<PaymentView>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => ({ status: 201, body: await receive(trx, deps, actor, input) }),
  )
}

async function receive(trx: Transaction<Database>, deps: CashDeps, actor: Principal, input: PaymentInput): Promise<PaymentView> {
  const today = todayOf(deps)
  const errors: FieldError[] = []
  const amountMinor = parsed(input.amount, input.currency, '/amount', errors)
  const receivedDate = input.receivedDate ?? today
  const earliest = Temporal.PlainDate.from(today).subtract({ days: MAX_RECEIVED_DAYS_BACK }).toString()
  if (receivedDate > today) errors.push({ pointer: '/receivedDate', detail: `is after today (${today}): a payment is recorded once received` })
  else if (receivedDate < earliest) errors.push({ pointer: '/receivedDate', detail: `is more than ${MAX_RECEIVED_DAYS_BACK} days ago` })
  if (input.method !== 'bank_transfer')
    errors.push({ pointer: '/method', detail: `${input.method} payments are collected through a payment provider, and none is configured` })
  if (amountMinor !== null && amountMinor <= 0n) errors.push({ pointer: '/amount', detail: 'must be more than 0' })
  const asked = input.allocations?.map((a, i) => ({
    invoiceId: a.invoiceId,
    amountMinor: parsed(a.amount, input.currency, `/allocations/${i}/amount`, errors) ?? 0n,
  }))
  const account = await getAccount({ db: trx }, actor, input.accountId).catch((error: unknown) => {
    if (error instanceof AppError && error.code === 'NOT_FOUND') return void errors.push({ pointer: '/accountId', detail: `no account ${input.accountId}` })
    throw error
  })
  if (errors.length > 0 || !account || amountMinor === null) throw invalid(errors)

  await repo.lockAccountCash(trx, account.id, input.currency)
  const { open, errors: invoiceErrors } = await openInvoicesFor(trx, account.id, input.currency, receivedDate, asked)
  if (invoiceErrors.length > 0) throw invalid(invoiceErrors)
  const { plan, errors: planErrors } = planAllocation(amountMinor, open, asked ?? null, (m) => formatMoney(moneyOf(m, input.currency)))
  if (planErrors.length > 0) throw invalid(planErrors)

  const now = deps.clock.now()
  const payment: Payment = {
    id: newId('pay'),
    accountId: account.id,
    method: input.method,
    amount: moneyOf(amountMinor, input.currency),
    receivedDate,
    reference: input.reference ?? null,
    status: 'succeeded',
    refunded: moneyOf(0n, input.currency),
    createdBy: actor.id,
    createdAt: now,
    updatedAt: now,
    version: 1,
  }
  await repo.insertPayment(trx, payment)
  const allocated = await settle(trx, deps, actor, payment, plan, open)
  await appendAudit(trx, now, {
    actorId: actor.id,
    action: 'payment.received',
    entityType: 'payment',
    entityId: payment.id,
    after: { accountId: account.id, method: payment.method, amount: formatMoney(payment.amount), currency: input.currency, receivedDate, allocated },
  })
  await appendEvent(trx, now, {
    type: 'payment.received',
    aggregateType: 'payment',
    aggregateId: payment.id,
    payload: {
      paymentId: payment.id,
      accountId: account.id,
      method: payment.method,
      currency: input.currency,
      amount: formatMoney(payment.amount),
      receivedDate,
      allocations: allocated,
      toCredit: formatMoney(moneyOf(plan.creditMinor, input.currency)),
    },
  })
  return paymentViewOf(trx, payment)
}

/** Posts the payment's entry (cash in; receivable and customer credit out) and settles each invoice of the plan. */
async function settle(
  trx: Transaction<Database>,
  deps: CashDeps,
  actor: Principal,
  payment: Payment,
  plan: AllocationPlan,
  open: readonly InvoiceToSettle[],
): Promise<Array<{ invoiceId: string; number: string; amount: string }>> {
  const currency = payment.amount.currency
  const settled = plan.allocations.reduce((s, a) => s + a.amountMinor, 0n)
  const now = deps.clock.now()
  const entryId = await postEntry(
    trx,
    {
      date: payment.receivedDate,
      currency,
      sourceType: 'payment',
      sourceId: payment.id,
      memo: `Payment ${payment.reference ?? payment.id} from ${payment.accountId}`,
      lines: [
        { account: 'cash', debit: payment.amount.minor },
        { account: 'receivable', credit: settled, partyId: payment.accountId },
        { account: 'customerCredit', credit: plan.creditMinor, partyId: payment.accountId },
      ],
    },
    now,
  )
  const today = todayOf(deps)
  const allocated = []
  for (const a of plan.allocations) {
    const invoice = open.find((o) => o.id === a.invoiceId)!.invoice
    await allocateToInvoice(
      trx,
      invoice,
      { source: 'payment', amountMinor: a.amountMinor, paymentId: payment.id, journalEntryId: entryId, date: payment.receivedDate, actorId: actor.id },
      today,
      now,
    )
    allocated.push({ invoiceId: invoice.id, number: invoice.number, amount: formatMoney(moneyOf(a.amountMinor, currency)) })
  }
  return allocated
}

interface InvoiceToSettle extends OpenInvoice {
  invoice: Invoice
}

/**
 * The invoices a payment may settle, locked: those named (each checked to be the account's,
 * in the currency, issued by the day the money arrived, and open), or every open one of the
 * account in the currency, oldest due first.
 */
async function openInvoicesFor(
  trx: Transaction<Database>,
  accountId: string,
  currency: string,
  receivedDate: string,
  asked: ReadonlyArray<{ invoiceId: string }> | undefined,
): Promise<{ open: InvoiceToSettle[]; errors: FieldError[] }> {
  const toOpen = (i: Invoice) => ({ id: i.id, number: i.number, openMinor: openAmountOf(i), invoice: i })
  if (!asked) return { open: (await lockOpenInvoicesOf(trx, accountId, currency, receivedDate)).map(toOpen), errors: [] }
  const found = await lockInvoicesToSettle(trx, [...new Set(asked.map((a) => a.invoiceId))])
  const errors: FieldError[] = []
  const open: InvoiceToSettle[] = []
  asked.forEach((a, i) => {
    const invoice = found.find((f) => f.id === a.invoiceId)
    const pointer = `/allocations/${i}/invoiceId`
    if (!invoice || invoice.accountId !== accountId) return void errors.push({ pointer, detail: `account ${accountId} has no invoice ${a.invoiceId}` })
    if (invoice.currency !== currency)
      return void errors.push({ pointer, detail: `invoice ${invoice.number} is in ${invoice.currency}, the payment in ${currency}` })
    if (invoice.issueDate > receivedDate)
      return void errors.push({
        pointer,
        detail: `invoice ${invoice.number} was issued on ${invoice.issueDate}, after the money arrived: apply the credit instead`,
      })
    if (openAmountOf(invoice) === 0n) return void errors.push({ pointer, detail: `invoice ${invoice.number} is settled already (${invoice.status})` })
    if (!open.some((o) => o.id === invoice.id)) open.push(toOpen(invoice))
  })
  return { open, errors }
}

/** A decimal amount in minor units, or null with the error recorded (too many decimals for the currency, unknown currency). */
export function parsed(amount: string, currency: string, pointer: string, errors: FieldError[]): bigint | null {
  try {
    return parseAmount(amount, currency)
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error
    errors.push({ pointer, detail: error.message })
    return null
  }
}

function invalid(errors: FieldError[]): AppError {
  return new AppError('PAYMENT_INVALID', 'The payment cannot be recorded as sent; nothing was written.', { errors })
}

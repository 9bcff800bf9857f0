import type { Transaction } from 'kysely'
import { getAccount } from '../accounts/account.service.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { AppError, type FieldError } from '../errors.js'
import { allocateToInvoice, lockInvoicesToSettle, lockOpenInvoicesOf, openAmountOf } from '../invoicing/invoice.service.js'
import { postEntry } from '../ledger/journal.js'
import { formatMoney, moneyOf } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { planAllocation, type CashDeps } from './payment.js'
import * as repo from './payment.repository.js'
import { creditBalanceOf } from './read-cash.js'
import { parsed, todayOf } from './record-payment.js'

export interface CreditApplicationInput {
  currency: string
  /** Which invoices and how much of each; absent: oldest due first, as far as the credit goes. */
  allocations?: Array<{ invoiceId: string; amount: string }>
}

export interface CreditApplication {
  id: string
  accountId: string
  currency: string
  allocations: Array<{ invoiceId: string; number: string; amount: string }>
  creditLeft: string
  automatic: boolean
}

/** Applies an account's credit balance to its open invoices, on a person's request. Idempotent with a key. */
export async function applyCredit(
  deps: CashDeps,
  actor: Principal,
  accountId: string,
  input: CreditApplicationInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<CreditApplication>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const account = await getAccount({ db: trx }, actor, accountId)
      const errors: FieldError[] = []
      const asked = input.allocations?.map((a, i) => ({
        invoiceId: a.invoiceId,
        amountMinor: parsed(a.amount, input.currency, `/allocations/${i}/amount`, errors) ?? 0n,
      }))
      if (errors.length > 0) throw invalid(errors)
      const applied = await applyCreditIn(trx, deps, actor.id, account.id, input.currency, asked ?? null, false)
      if (!applied) throw invalid([{ pointer: '', detail: `account ${account.id} has no credit in ${input.currency}, or no open invoice to apply it to` }])
      return { status: 201, body: applied }
    },
  )
}

/**
 * Applies an account's credit to its open invoices in a currency, inside the caller's
 * transaction: as asked (within the balance and what is open of each), or oldest due first as
 * far as the balance goes. One journal entry (debit customer credit, credit receivable).
 * Null when there is nothing to apply (no credit, or nothing open), which the automatic
 * application after an invoice is issued takes as "nothing to do".
 */
export async function applyCreditIn(
  trx: Transaction<Database>,
  deps: CashDeps,
  actorId: string,
  accountId: string,
  currency: string,
  asked: Array<{ invoiceId: string; amountMinor: bigint }> | null,
  automatic: boolean,
): Promise<CreditApplication | null> {
  await repo.lockAccountCash(trx, accountId, currency)
  const credit = await creditBalanceOf(trx, accountId, currency)
  const today = todayOf(deps)
  const invoices = asked
    ? (
        await lockInvoicesToSettle(
          trx,
          asked.map((a) => a.invoiceId),
        )
      ).filter((i) => i.accountId === accountId && i.currency === currency)
    : await lockOpenInvoicesOf(trx, accountId, currency, today)
  const open = invoices.map((i) => ({ id: i.id, number: i.number, openMinor: openAmountOf(i) }))
  const describe = (m: bigint) => formatMoney(moneyOf(m, currency))
  const { plan, errors } = planAllocation(credit, open, asked, describe)
  if (errors.length > 0) throw invalid(errors)
  if (plan.allocations.length === 0) return null

  const now = deps.clock.now()
  const id = newId('cra')
  const appliedMinor = credit - plan.creditMinor
  const entryId = await postEntry(
    trx,
    {
      date: today,
      currency,
      sourceType: 'credit_application',
      sourceId: id,
      memo: `Credit applied to ${plan.allocations.length} invoice(s) of ${accountId}`,
      lines: [
        { account: 'customerCredit', debit: appliedMinor, partyId: accountId },
        { account: 'receivable', credit: appliedMinor, partyId: accountId },
      ],
    },
    now,
  )
  const allocations = []
  for (const a of plan.allocations) {
    const invoice = invoices.find((i) => i.id === a.invoiceId)!
    await allocateToInvoice(trx, invoice, { source: 'credit', amountMinor: a.amountMinor, journalEntryId: entryId, date: today, actorId }, today, now)
    allocations.push({ invoiceId: invoice.id, number: invoice.number, amount: describe(a.amountMinor) })
  }
  const application: CreditApplication = { id, accountId, currency, allocations, creditLeft: describe(plan.creditMinor), automatic }
  await appendAudit(trx, now, { actorId, action: 'credit.applied', entityType: 'account', entityId: accountId, after: application })
  await appendEvent(trx, now, {
    type: 'credit.applied',
    aggregateType: 'account',
    aggregateId: accountId,
    payload: { applicationId: id, accountId, currency, allocations, creditLeft: application.creditLeft, automatic },
  })
  return application
}

function invalid(errors: FieldError[]): AppError {
  return new AppError('PAYMENT_INVALID', 'The credit cannot be applied as sent; nothing was written.', { errors })
}

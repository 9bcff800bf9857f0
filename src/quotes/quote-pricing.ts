import type { Transaction } from 'kysely'
import { Temporal } from 'temporal-polyfill'
import type { Account } from '../accounts/account.service.js'
import { fingerprintHash, fingerprintOf } from '../approvals/approval-binding.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors.js'
import type { Cart } from '../evaluation/cart.schema.js'
import { recordDecision } from '../evaluation/evaluation.service.js'
import type { EvaluationSnapshot } from '../evaluation/evaluation.js'
import { MAX_SCHEDULE_ITEMS, scheduleItemsBound } from '../orders/order.service.js'
import type { Principal } from '../principals/principal.js'
import type { TermsRef } from '../documents/terms.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Clock } from '../shared/clock.js'
import { DEFAULT_PAYMENT_TERMS_DAYS, type QuoteDeps, type QuoteInput, type QuoteRevision } from './quote.js'
import * as repo from './quote.repository.js'

/** What creating and revising a quote share: its dates, the cart it prices, the revision it stores. */

export function today(clock: Clock): string {
  return clock.now().toISOString().slice(0, 10)
}

/** A calendar date `days` later, as a calendar date: no time zone or daylight saving can shift it. */
export function addDays(day: string, days: number): string {
  return Temporal.PlainDate.from(day).add({ days }).toString()
}

/** The longest an offer may stay open. */
const MAX_VALIDITY_DAYS = 365

/**
 * Dates a rep controls are bounded: an offer is valid from today up to a year, and a quote is
 * priced with the rules of today or of a later start, never of a past date (which could
 * revive an ended promotion).
 */
export function assertDates(input: { validUntil?: string | undefined; pricingDate?: string | undefined }, day: string): void {
  const errors = []
  if (input.validUntil !== undefined && (input.validUntil < day || input.validUntil > addDays(day, MAX_VALIDITY_DAYS))) {
    errors.push({ pointer: '/validUntil', detail: `must be from ${day} to ${addDays(day, MAX_VALIDITY_DAYS)}` })
  }
  if (input.pricingDate !== undefined && input.pricingDate < day) errors.push({ pointer: '/pricingDate', detail: `must be ${day} or later` })
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', 'A date is out of range.', { errors })
}

/** The cart a quote revision prices: the rep's lines and terms, the account's segment, country and VAT id. */
export function cartFor(account: Account, input: QuoteInput, currency: string, day: string, paymentTermsDays: number): Cart {
  return {
    currency,
    date: input.pricingDate ?? day,
    channel: input.channel ?? 'direct',
    account: {
      id: account.id,
      segment: account.segment,
      country: account.country,
      ...(account.vatId ? { vatId: account.vatId } : {}),
      ...(input.purchaseHistory ? { purchaseHistory: input.purchaseHistory } : {}),
    },
    lines: input.lines,
    ...(input.promoCodes ? { promoCodes: input.promoCodes } : {}),
    paymentTermsDays,
  }
}

/** A quote whose order could not be scheduled within bounds is refused before it is stored (see MAX_SCHEDULE_ITEMS). */
function assertBillable(evaluation: EvaluationSnapshot): void {
  const items = evaluation.lines.reduce((sum, line) => sum + scheduleItemsBound(line), 0)
  if (items > MAX_SCHEDULE_ITEMS)
    throw new AppError('CART_INVALID', 'The quote would be too large to bill.', {
      errors: [{ pointer: '/lines', detail: `its billing schedules would hold up to ${items} items; a quote may have at most ${MAX_SCHEDULE_ITEMS}` }],
    })
}

/** Stores a priced cart as a revision with its decision record, in the caller's transaction. */
export async function storeRevision(
  trx: Transaction<Database>,
  actor: Principal,
  quoteId: string,
  revision: number,
  cart: Cart,
  evaluation: EvaluationSnapshot,
  terms: TermsRef,
  now: Date,
): Promise<QuoteRevision> {
  assertBillable(evaluation)
  const decisionId = await recordDecision(trx, actor, cart, evaluation, now)
  const fingerprint = fingerprintOf(evaluation, cart.paymentTermsDays ?? DEFAULT_PAYMENT_TERMS_DAYS)
  const stored: QuoteRevision = {
    quoteId,
    revision,
    cart,
    evaluation,
    decisionId,
    fingerprint,
    fingerprintHash: fingerprintHash(fingerprint),
    createdBy: actor.id,
    createdAt: now,
    terms,
  }
  await repo.insertRevision(trx, stored)
  return stored
}

/**
 * The terms and conditions a revision is offered under: its price book's (a partner book names
 * partner terms), else the standard ones, at their latest version.
 */
export function termsFor(deps: Pick<QuoteDeps, 'documents'>, ruleSet: RuleSet, evaluation: EvaluationSnapshot): TermsRef {
  const book = ruleSet.priceBooks.books.find((b) => b.id === evaluation.priceBook.id)
  return deps.documents.terms.latest(book?.terms ?? 'standard')
}

import type { Kysely, Transaction } from 'kysely'
import { getAccount, type Account } from '../accounts/account.service.js'
import { openApprovalRequest, withdrawPendingRequest, type ApprovalView, approvalOf } from '../approvals/approval.service.js'
import { fingerprintHash, fingerprintOf } from '../approvals/approval-binding.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Db } from '../db/database.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors.js'
import type { Cart, CartLine } from '../evaluation/cart.schema.js'
import * as decisions from '../evaluation/decision.repository.js'
import { evaluateWith } from '../evaluation/evaluation.service.js'
import type { RenderedEvaluation } from '../evaluation/render.js'
import type { Principal } from '../principals/principal.repository.js'
import { canSeeOwned } from '../principals/visibility.js'
import type { RuleSetRegistry } from '../rules/rule-set.service.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { assertQuoteTransition, EXPIRABLE_STATUSES, type QuoteStatus } from './quote-state.js'
import * as repo from './quote.repository.js'
import type { Quote, QuoteRevision } from './quote.repository.js'

export type { Quote, QuoteRevision }

export interface QuoteDeps {
  db: Db
  clock: Clock
  ruleSets: RuleSetRegistry
  quoteValidityDays: number
}

/** What a rep sends to create or revise a quote; the account supplies segment, country and VAT id. */
export interface QuoteInput {
  lines: CartLine[]
  promoCodes?: string[]
  channel?: Cart['channel']
  /** The pricing date; defaults to today. */
  pricingDate?: string
  paymentTermsDays?: number
  validUntil?: string
  notes?: string | null
  purchaseHistory?: NonNullable<Cart['account']['purchaseHistory']>
}

export interface QuoteView extends Quote {
  revision: QuoteRevision
  approval: ApprovalView | null
}

type Trx = Transaction<Database>

function today(clock: Clock): string {
  return clock.now().toISOString().slice(0, 10)
}

function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/** The longest an offer may stay open. */
const MAX_VALIDITY_DAYS = 365

/**
 * Dates a rep controls are bounded: an offer is valid from today up to a year, and a quote is
 * priced with the rules of today or of a later start, never of a past date (which could
 * revive an ended promotion).
 */
function assertDates(input: { validUntil?: string | undefined; pricingDate?: string | undefined }, day: string): void {
  const errors = []
  if (input.validUntil !== undefined && (input.validUntil < day || input.validUntil > addDays(day, MAX_VALIDITY_DAYS))) {
    errors.push({ pointer: '/validUntil', detail: `must be from ${day} to ${addDays(day, MAX_VALIDITY_DAYS)}` })
  }
  if (input.pricingDate !== undefined && input.pricingDate < day) errors.push({ pointer: '/pricingDate', detail: `must be ${day} or later` })
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', 'A date is out of range.', { errors })
}

function cartFor(account: Account, input: QuoteInput, currency: string, day: string, paymentTermsDays: number): Cart {
  return {
    currency,
    date: input.pricingDate ?? day,
    channel: input.channel ?? 'direct',
    account: {
      id: account.id, segment: account.segment, country: account.country,
      ...(account.vatId ? { vatId: account.vatId } : {}),
      ...(input.purchaseHistory ? { purchaseHistory: input.purchaseHistory } : {}),
    },
    lines: input.lines,
    ...(input.promoCodes ? { promoCodes: input.promoCodes } : {}),
    paymentTermsDays,
  }
}

/** Prices a cart and stores it as a revision with its decision record, in the caller's transaction. */
async function storeRevision(trx: Trx, actor: Principal, quoteId: string, revision: number, cart: Cart, evaluation: RenderedEvaluation, now: Date): Promise<QuoteRevision> {
  const decisionId = newId('dec')
  await decisions.insertDecision(trx, {
    id: decisionId, ruleSetHash: evaluation.ruleSetHash, priceBookHash: evaluation.priceBookHash, principalId: actor.id, input: cart, output: evaluation, now,
  })
  const fingerprint = fingerprintOf(evaluation, cart.paymentTermsDays ?? 30)
  const stored: QuoteRevision = { quoteId, revision, cart, evaluation, decisionId, fingerprint, fingerprintHash: fingerprintHash(fingerprint), createdBy: actor.id, createdAt: now }
  await repo.insertRevision(trx, stored)
  return stored
}

/** The quote if the principal may see it, else 404 (existence is not revealed). */
async function visibleQuote(db: Kysely<Database>, actor: Principal, id: string, lock: boolean): Promise<Quote> {
  const quote = lock ? await repo.lockQuote(db, id) : await repo.findQuote(db, id)
  if (!quote || !(await canSeeOwned(db, actor, quote.ownerId))) throw new AppError('NOT_FOUND', `No quote ${id}.`)
  return quote
}

/**
 * Moves a quote to a new status through the transition table, with its audit entry and
 * outbox event, in the caller's transaction (the quote row must be locked by the caller).
 */
export async function changeStatus(trx: Trx, quote: Quote, to: QuoteStatus, action: string, actor: Principal | null, now: Date, details: Record<string, unknown> = {}): Promise<Quote> {
  assertQuoteTransition(quote.status, to, action)
  const updated = await repo.updateQuote(trx, quote.id, quote.version, { status: to }, now)
  if (!updated) throw new AppError('PRECONDITION_FAILED', `Quote ${quote.number} changed meanwhile; read it again.`)
  await appendAudit(trx, now, {
    actorId: actor?.id ?? null, action: `quote.${action}`, entityType: 'quote', entityId: quote.id,
    before: { status: quote.status, revision: quote.currentRevision }, after: { status: to, revision: updated.currentRevision, ...details },
  })
  await appendEvent(trx, now, { type: `quote.${to}`, aggregateType: 'quote', aggregateId: quote.id, payload: { quoteId: quote.id, number: quote.number, from: quote.status, to, ...details } })
  return updated
}

async function view(db: Kysely<Database>, quote: Quote): Promise<QuoteView> {
  const revision = (await repo.findRevision(db, quote.id, quote.currentRevision))!
  return { ...quote, revision, approval: await approvalOf(db, quote.id) }
}

/** Creates a quote with revision 1, priced and recorded; idempotent. Reps quote only for accounts they may see. */
export async function createQuote(deps: QuoteDeps, actor: Principal, input: QuoteInput & { accountId: string; currency?: string }, idempotency: IdempotencyRequest | null): Promise<StoredResponse<QuoteView>> {
  const account = await getAccount(deps, actor, input.accountId).catch((error: unknown) => {
    if (error instanceof AppError && error.code === 'NOT_FOUND') {
      throw new AppError('VALIDATION_FAILED', 'No such account.', { errors: [{ pointer: '/accountId', detail: 'no account with this id that you may quote for' }] })
    }
    throw error
  })
  const day = today(deps.clock)
  assertDates(input, day)
  const paymentTermsDays = input.paymentTermsDays ?? 30
  const currency = input.currency ?? account.currency
  const cart = cartFor(account, input, currency, day, paymentTermsDays)
  const evaluation = await evaluateWith(deps.ruleSets.get(), cart, 'fired')
  return runIdempotent(deps.db, idempotency, () => deps.clock.now(), async (trx) => {
    const now = deps.clock.now()
    const quote = await repo.insertQuote(trx, {
      id: newId('qt'), number: await repo.nextQuoteNumber(trx, now.getUTCFullYear()), accountId: account.id, ownerId: actor.id,
      currency, status: 'draft', currentRevision: 1, validUntil: input.validUntil ?? addDays(day, deps.quoteValidityDays), paymentTermsDays,
      notes: input.notes ?? null, createdAt: now, updatedAt: now,
    })
    const revision = await storeRevision(trx, actor, quote.id, 1, cart, evaluation, now)
    await appendAudit(trx, now, { actorId: actor.id, action: 'quote.created', entityType: 'quote', entityId: quote.id, after: { status: 'draft', revision: 1, fingerprintHash: revision.fingerprintHash, number: quote.number } })
    await appendEvent(trx, now, { type: 'quote.created', aggregateType: 'quote', aggregateId: quote.id, payload: { quoteId: quote.id, number: quote.number } })
    return { status: 201, body: { ...quote, revision, approval: null } }
  })
}

/**
 * A quote as the principal may see it. A quote past its validity is expired on read (and by
 * the periodic sweep), so nobody acts on a stale offer.
 */
export async function getQuote(deps: QuoteDeps, actor: Principal, id: string): Promise<QuoteView> {
  const quote = await visibleQuote(deps.db, actor, id, false)
  if (EXPIRABLE_STATUSES.includes(quote.status) && quote.validUntil < today(deps.clock)) {
    return deps.db.transaction().execute(async (trx) => {
      const locked = (await repo.lockQuote(trx, id))!
      if (!EXPIRABLE_STATUSES.includes(locked.status) || locked.validUntil >= today(deps.clock)) return view(trx, locked)
      const now = deps.clock.now()
      await withdrawPendingRequest(trx, locked.id, now, null)
      return view(trx, await changeStatus(trx, locked, 'expired', 'expire', null, now, { validUntil: locked.validUntil }))
    })
  }
  return view(deps.db, quote)
}

export async function listQuotes(deps: QuoteDeps, actor: Principal, limit: number, startingAfter?: string, status?: string): Promise<Quote[]> {
  return repo.listVisibleQuotes(deps.db, actor, limit, startingAfter, status)
}

export async function getRevision(deps: QuoteDeps, actor: Principal, id: string, revision: number): Promise<QuoteRevision> {
  const quote = await visibleQuote(deps.db, actor, id, false)
  const found = await repo.findRevision(deps.db, quote.id, revision)
  if (!found) throw new AppError('NOT_FOUND', `Quote ${quote.number} has no revision ${revision}.`)
  return found
}

/**
 * Revises a quote: a new revision, priced again, becomes current and the quote goes back to
 * draft; an open approval request is withdrawn (approvals already given stay on record and
 * carry over at the next submission when nothing they approved got worse). Needs the ETag.
 */
export async function reviseQuote(deps: QuoteDeps, actor: Principal, id: string, expectedVersion: number, patch: Partial<QuoteInput>): Promise<QuoteView> {
  const before = await visibleQuote(deps.db, actor, id, false)
  const day = today(deps.clock)
  assertDates(patch, day)
  const previous = (await repo.findRevision(deps.db, id, before.currentRevision))!
  const account = await getAccount(deps, actor, before.accountId)
  const prevCart = previous.cart as Cart
  const paymentTermsDays = patch.paymentTermsDays ?? before.paymentTermsDays
  const input: QuoteInput = {
    lines: patch.lines ?? prevCart.lines,
    ...(patch.promoCodes ?? prevCart.promoCodes ? { promoCodes: patch.promoCodes ?? prevCart.promoCodes } : {}),
    channel: patch.channel ?? prevCart.channel,
    // A revision is priced again as of today (or the later date the quote was set to start).
    pricingDate: patch.pricingDate ?? (prevCart.date < day ? day : prevCart.date),
    ...(patch.purchaseHistory ?? prevCart.account.purchaseHistory ? { purchaseHistory: patch.purchaseHistory ?? prevCart.account.purchaseHistory } : {}),
  }
  const cart = cartFor(account, input, before.currency, day, paymentTermsDays)
  const evaluation = await evaluateWith(deps.ruleSets.get(), cart, 'fired')
  return deps.db.transaction().execute(async (trx) => {
    const quote = (await repo.lockQuote(trx, id))!
    if (quote.version !== expectedVersion) throw new AppError('PRECONDITION_FAILED', `Quote ${quote.number} changed since you read it (now version ${quote.version}).`)
    assertQuoteTransition(quote.status, 'draft', 'revise')
    const now = deps.clock.now()
    await withdrawPendingRequest(trx, quote.id, now, actor)
    const revision = await storeRevision(trx, actor, quote.id, quote.currentRevision + 1, cart, evaluation, now)
    const updated = await repo.updateQuote(trx, quote.id, quote.version, {
      status: 'draft', currentRevision: revision.revision, paymentTermsDays,
      ...(patch.validUntil !== undefined ? { validUntil: patch.validUntil } : {}),
      ...(patch.notes !== undefined ? { notes: patch.notes } : {}),
    }, now)
    await appendAudit(trx, now, {
      actorId: actor.id, action: 'quote.revised', entityType: 'quote', entityId: quote.id,
      before: { status: quote.status, revision: quote.currentRevision, fingerprintHash: previous.fingerprintHash },
      after: { status: 'draft', revision: revision.revision, fingerprintHash: revision.fingerprintHash },
    })
    await appendEvent(trx, now, { type: 'quote.revised', aggregateType: 'quote', aggregateId: quote.id, payload: { quoteId: quote.id, revision: revision.revision, from: quote.status } })
    return view(trx, updated!)
  })
}

/**
 * Submits the current revision: a quote whose configuration is valid and that no guardrail
 * blocks gets an approval request for the steps its evaluation requires (approvals that
 * still hold carry over); with nothing to approve it is approved at once. Idempotent.
 */
export async function submitQuote(deps: QuoteDeps, actor: Principal, id: string, idempotency: IdempotencyRequest | null): Promise<StoredResponse<QuoteView>> {
  await visibleQuote(deps.db, actor, id, false)
  return runIdempotent(deps.db, idempotency, () => deps.clock.now(), async (trx) => {
    const quote = (await repo.lockQuote(trx, id))!
    assertQuoteTransition(quote.status, 'pending_approval', 'submit')
    const revision = (await repo.findRevision(trx, quote.id, quote.currentRevision))!
    const evaluation = revision.evaluation as RenderedEvaluation
    if (!evaluation.valid || evaluation.guardrails.outcome === 'blocked') {
      throw new AppError('QUOTE_NOT_SUBMITTABLE', evaluation.valid ? 'A guardrail blocks this quote; revise it first.' : 'The configuration is invalid; revise it first.', {
        configurationErrors: evaluation.configuration.errors,
        breaches: evaluation.guardrails.breaches,
        lineBreaches: evaluation.lines.flatMap((l) => l.guardrail.breaches.map((b) => ({ line: l.index, sku: l.sku, ...b }))),
      })
    }
    const now = deps.clock.now()
    const { allApproved } = await openApprovalRequest(trx, quote, revision, actor, now)
    const updated = await changeStatus(trx, quote, allApproved ? 'approved' : 'pending_approval', 'submit', actor, now, { fingerprintHash: revision.fingerprintHash })
    return { status: 200, body: await view(trx, updated) }
  })
}

/** Locks a quote row in the caller's transaction (the approval service decides steps under it). */
export async function lockQuoteForDecision(trx: Trx, quoteId: string): Promise<Quote> {
  const quote = await repo.lockQuote(trx, quoteId)
  if (!quote) throw new AppError('NOT_FOUND', `No quote ${quoteId}.`)
  return quote
}

/** Records the outcome of the approval request on the quote (called by the approval service in its transaction, quote locked). */
export async function applyApprovalOutcome(trx: Trx, quoteId: string, outcome: 'approved' | 'rejected', actor: Principal, now: Date): Promise<void> {
  const quote = (await repo.findQuote(trx, quoteId))!
  await changeStatus(trx, quote, outcome, outcome === 'approved' ? 'approve' : 'reject', actor, now)
}

/** The current revision of a quote, for the approval service. */
export async function currentRevisionOf(db: Kysely<Database>, quoteId: string): Promise<{ quote: Quote; revision: QuoteRevision }> {
  const quote = (await repo.findQuote(db, quoteId))!
  return { quote, revision: (await repo.findRevision(db, quoteId, quote.currentRevision))! }
}

async function simpleTransition(deps: QuoteDeps, actor: Principal, id: string, to: QuoteStatus, action: string): Promise<QuoteView> {
  await visibleQuote(deps.db, actor, id, false)
  return deps.db.transaction().execute(async (trx) => {
    const quote = (await repo.lockQuote(trx, id))!
    const now = deps.clock.now()
    if (to === 'presented' && quote.validUntil < today(deps.clock)) throw new AppError('INVALID_STATE_TRANSITION', `Quote ${quote.number} expired on ${quote.validUntil}.`, { from: quote.status, to })
    assertQuoteTransition(quote.status, to, action)
    if (to === 'canceled') await withdrawPendingRequest(trx, quote.id, now, actor)
    return view(trx, await changeStatus(trx, quote, to, action, actor, now))
  })
}

/** Approved → presented: the revision is frozen as what the buyer sees. */
export function presentQuote(deps: QuoteDeps, actor: Principal, id: string): Promise<QuoteView> {
  return simpleTransition(deps, actor, id, 'presented', 'present')
}

export function cancelQuote(deps: QuoteDeps, actor: Principal, id: string): Promise<QuoteView> {
  return simpleTransition(deps, actor, id, 'canceled', 'cancel')
}

/**
 * The periodic sweep: expires quotes past their validity, a batch at a time, each in its own
 * transaction with a lock, so several instances can sweep at once without double work.
 */
export async function expireDueQuotes(deps: Pick<QuoteDeps, 'db' | 'clock'>, batch = 100): Promise<number> {
  const day = today(deps.clock)
  let expired = 0
  for (const { id } of await repo.findExpirable(deps.db, day, batch)) {
    expired += await deps.db.transaction().execute(async (trx) => {
      const quote = await repo.lockQuote(trx, id)
      if (!quote || !EXPIRABLE_STATUSES.includes(quote.status) || quote.validUntil >= day) return 0
      const now = deps.clock.now()
      await withdrawPendingRequest(trx, quote.id, now, null)
      await changeStatus(trx, quote, 'expired', 'expire', null, now, { validUntil: quote.validUntil })
      return 1
    })
  }
  return expired
}

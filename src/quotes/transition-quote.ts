import type { Transaction } from 'kysely'
import { withdrawPendingRequest } from '../approvals/approval.service.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { ExternalActor } from '../audit/audit.js'
import { closeOpenContract } from '../contracts/contract.service.js'
import type { Database } from '../db/schema.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { runTransition, type StateMachine } from '../shared/state-machine.js'
import { QUOTE_TRANSITIONS, type QuoteAction, type QuoteStatus } from './quote-state.js'
import type { Quote, QuoteDeps, QuoteView } from './quote.js'
import { today } from './quote-pricing.js'
import * as repo from './quote.repository.js'
import { lockExisting, view, visibleQuote } from './quote-view.js'

type Trx = Transaction<Database>

/** What a quote transition runs with: the caller's transaction, who acts (null for the system) and when. */
export interface QuoteTransitionContext {
  trx: Trx
  quote: Quote
  actor: Principal | null
  now: Date
}

/** The quote machine: the table of quote-state.ts with what must happen on every transition. */
export const QUOTE_MACHINE: StateMachine<QuoteStatus, QuoteAction, QuoteTransitionContext> = {
  entity: 'quote',
  transitions: QUOTE_TRANSITIONS,
  onExit: {
    // However a quote leaves pending_approval (revised, canceled, expired; approved or rejected
    // after its request was closed), no approval request stays open for it.
    pending_approval: ({ trx, quote, now, actor }) => withdrawPendingRequest(trx, quote.id, now, actor),
    // However a quote leaves presented other than by the buyer (revised, canceled, expired), its
    // open contract closes and the buyer's link says so; a signature or a decline closed it already.
    presented: ({ trx, quote, now, actor }, { action }) =>
      closeOpenContract(trx, quote.id, action === 'expire' ? 'expire' : 'withdraw', actor?.id ?? null, now),
  },
}

/**
 * The one way a quote changes status: the machine's guard and hooks, the compare-and-swap
 * update, its audit entry (`quote.<action>`) and outbox event (`quote.<status>`), all in the
 * caller's transaction, which holds the quote's row lock.
 */
export async function transitionQuote(
  trx: Trx,
  quote: Quote,
  action: QuoteAction,
  actor: Principal | null,
  now: Date,
  details: { fingerprintHash?: string; reason?: string; validUntil?: string; contractId?: string; evidenceHash?: string | null } = {},
  /** Who acted when it is not a principal: the buyer accepting or declining by their link. */
  externalActor: ExternalActor | null = null,
): Promise<Quote> {
  return runTransition(QUOTE_MACHINE, { trx, quote, actor, now }, quote.status, action, async (to) => {
    // Back to draft is a revision: revise-quote.ts, with its own event (quote.revised).
    assert(to !== 'draft', `quote ${quote.number}: ${action} leads to a draft, which only a revision makes`)
    const updated = await repo.updateQuote(trx, quote.id, quote.version, { status: to }, now)
    if (!updated) throw new AppError('PRECONDITION_FAILED', `Quote ${quote.number} changed meanwhile; read it again.`)
    await appendAudit(trx, now, {
      actorId: actor?.id ?? null,
      externalActor,
      action: `quote.${action}`,
      entityType: 'quote',
      entityId: quote.id,
      before: { status: quote.status, revision: quote.currentRevision },
      after: { status: to, revision: updated.currentRevision, ...details },
    })
    await appendEvent(trx, now, {
      type: `quote.${to}`,
      aggregateType: 'quote',
      aggregateId: quote.id,
      payload: { quoteId: quote.id, number: quote.number, from: quote.status, to, ...details },
    })
    return updated
  })
}

/** Any state that is not final → canceled; an open approval request is withdrawn, an open contract too. */
export async function cancelQuote(deps: QuoteDeps, actor: Principal, id: string): Promise<QuoteView> {
  await visibleQuote(deps.db, actor, id)
  return deps.db.transaction().execute(async (trx) => view(trx, await transitionQuote(trx, await lockExisting(trx, id), 'cancel', actor, deps.clock.now())))
}

/** Expires a locked quote if it is past its validity and may expire; returns whether it did. */
export async function expireIfDue(trx: Trx, quote: Quote, day: string, now: Date): Promise<Quote | undefined> {
  if (!Object.hasOwn(QUOTE_TRANSITIONS[quote.status], 'expire') || quote.validUntil >= day) return undefined
  return transitionQuote(trx, quote, 'expire', null, now, { validUntil: quote.validUntil })
}

/**
 * The periodic sweep: expires quotes past their validity, a batch at a time, each in its own
 * transaction with a lock, so several instances can sweep at once without double work.
 */
export async function expireDueQuotes(
  deps: Pick<QuoteDeps, 'db' | 'clock'>,
  batch = 100,
  onProgress?: (done: number, total: number) => Promise<void>,
): Promise<number> {
  const day = today(deps.clock)
  let expired = 0
  const due = await repo.findExpirable(deps.db, day, batch)
  for (const [index, { id }] of due.entries()) {
    const done = await deps.db.transaction().execute(async (trx) => expireIfDue(trx, await lockExisting(trx, id), day, deps.clock.now()))
    if (done) expired++
    await onProgress?.(index + 1, due.length)
  }
  return expired
}

/** Locks a quote row in the caller's transaction (the approval service decides steps under it). */
export async function lockQuoteForDecision(trx: Trx, quoteId: string): Promise<Quote> {
  const quote = await repo.lockQuote(trx, quoteId)
  if (!quote) throw new AppError('NOT_FOUND', `No quote ${quoteId}.`)
  return quote
}

import { getAccount } from '../accounts/account.service.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { AppError, assert } from '../errors.js'
import type { Cart } from '../evaluation/cart.schema.js'
import { evaluateWith } from '../evaluation/evaluation.service.js'
import type { Principal } from '../principals/principal.js'
import { runTransition } from '../shared/state-machine.js'
import type { QuoteDeps, QuoteInput, QuoteView } from './quote.js'
import { assertDates, cartFor, storeRevision, termsFor, today } from './quote-pricing.js'
import * as repo from './quote.repository.js'
import { QUOTE_MACHINE } from './transition-quote.js'
import { lockExisting, view, visibleQuote } from './quote-view.js'

/**
 * Revises a quote: a new revision, priced again, becomes current and the quote goes back to
 * draft (the `revise` transition, whose exit hook withdraws an open approval request;
 * approvals already given stay on record and carry over at the next submission when nothing
 * they approved got worse). Needs the ETag.
 */
export async function reviseQuote(deps: QuoteDeps, actor: Principal, id: string, expectedVersion: number, patch: Partial<QuoteInput>): Promise<QuoteView> {
  const before = await visibleQuote(deps.db, actor, id)
  const day = today(deps.clock)
  assertDates(patch, day)
  const previous = await repo.findRevision(deps.db, id, before.currentRevision)
  assert(previous, `quote ${before.number} has its current revision ${before.currentRevision}`)
  const account = await getAccount(deps, actor, before.accountId)
  const prevCart = previous.cart as Cart
  const paymentTermsDays = patch.paymentTermsDays ?? before.paymentTermsDays
  const input: QuoteInput = {
    lines: patch.lines ?? prevCart.lines,
    ...((patch.promoCodes ?? prevCart.promoCodes) ? { promoCodes: patch.promoCodes ?? prevCart.promoCodes } : {}),
    channel: patch.channel ?? prevCart.channel,
    // A revision is priced again as of today (or the later date the quote was set to start).
    // biome-ignore lint/complexity/useMathMinMax: ISO dates are strings; Math.max would compare numbers
    pricingDate: patch.pricingDate ?? (prevCart.date < day ? day : prevCart.date),
    ...((patch.purchaseHistory ?? prevCart.account.purchaseHistory) ? { purchaseHistory: patch.purchaseHistory ?? prevCart.account.purchaseHistory } : {}),
  }
  const cart = cartFor(account, input, before.currency, day, paymentTermsDays)
  const ruleSet = deps.ruleSets.get()
  const evaluation = await evaluateWith(ruleSet, cart, 'fired')
  const terms = termsFor(deps, ruleSet, evaluation)
  return deps.db.transaction().execute(async (trx) => {
    const quote = await lockExisting(trx, id)
    if (quote.version !== expectedVersion)
      throw new AppError('PRECONDITION_FAILED', `Quote ${quote.number} changed since you read it (now version ${quote.version}).`)
    const now = deps.clock.now()
    return runTransition(QUOTE_MACHINE, { trx, quote, actor, now }, quote.status, 'revise', async (to) => {
      const revision = await storeRevision(trx, actor, quote.id, quote.currentRevision + 1, cart, evaluation, terms, now)
      const updated = await repo.updateQuote(
        trx,
        quote.id,
        quote.version,
        {
          status: to,
          currentRevision: revision.revision,
          paymentTermsDays,
          ...(patch.validUntil !== undefined ? { validUntil: patch.validUntil } : {}),
          ...(patch.notes !== undefined ? { notes: patch.notes } : {}),
        },
        now,
      )
      assert(updated, `quote ${quote.number} is locked at version ${quote.version}`)
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'quote.revised',
        entityType: 'quote',
        entityId: quote.id,
        before: { status: quote.status, revision: quote.currentRevision, fingerprintHash: previous.fingerprintHash },
        after: { status: to, revision: revision.revision, fingerprintHash: revision.fingerprintHash },
      })
      await appendEvent(trx, now, {
        type: 'quote.revised',
        aggregateType: 'quote',
        aggregateId: quote.id,
        payload: { quoteId: quote.id, revision: revision.revision, from: quote.status },
      })
      return view(trx, updated)
    })
  })
}

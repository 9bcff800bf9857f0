import { openApprovalRequest } from '../approvals/approval.service.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { assertTransition } from '../shared/state-machine.js'
import type { QuoteDeps, QuoteView } from './quote.js'
import * as repo from './quote.repository.js'
import { QUOTE_MACHINE, transitionQuote } from './transition-quote.js'
import { lockExisting, view, visibleQuote } from './quote-view.js'

/**
 * Submits the current revision: a quote whose configuration is valid and that no guardrail
 * blocks gets an approval request for the steps its evaluation requires (approvals that
 * still hold carry over). With nothing left to approve, the request is complete at once and
 * the quote moves on to approved in the same transaction. Idempotent.
 */
export async function submitQuote(deps: QuoteDeps, actor: Principal, id: string, idempotency: IdempotencyRequest | null): Promise<StoredResponse<QuoteView>> {
  await visibleQuote(deps.db, actor, id)
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const quote = await lockExisting(trx, id)
      assertTransition(QUOTE_MACHINE, quote.status, 'submit')
      const revision = await repo.findRevision(trx, quote.id, quote.currentRevision)
      assert(revision, `quote ${quote.number} has its current revision ${quote.currentRevision}`)
      const evaluation = revision.evaluation
      if (!evaluation.valid || evaluation.guardrails.outcome === 'blocked') {
        throw new AppError(
          'QUOTE_NOT_SUBMITTABLE',
          evaluation.valid ? 'A guardrail blocks this quote; revise it first.' : 'The configuration is invalid; revise it first.',
          {
            configurationErrors: evaluation.configuration.errors,
            breaches: evaluation.guardrails.breaches,
            lineBreaches: evaluation.lines.flatMap((l) => l.guardrail.breaches.map((b) => ({ line: l.index, sku: l.sku, ...b }))),
          },
        )
      }
      const now = deps.clock.now()
      const authors = await repo.revisionAuthors(trx, quote.id)
      const { allApproved } = await openApprovalRequest(trx, quote, { ...revision, authors }, actor, now)
      let updated = await transitionQuote(trx, quote, 'submit', actor, now, { fingerprintHash: revision.fingerprintHash })
      // Approved by the rules, not by the submitter: the audit entry has no actor.
      if (allApproved) updated = await transitionQuote(trx, updated, 'approve', null, now, { reason: 'nothing to approve' })
      return { status: 200, body: await view(trx, updated) }
    },
  )
}

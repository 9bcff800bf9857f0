import { approvalOf, decideStep, quoteOfStep, type ApprovalView } from '../approvals/approval.service.js'
import { assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import type { QuoteDeps } from './quote.js'
import { lockQuoteForDecision, transitionQuote } from './transition-quote.js'

/**
 * Approves or rejects a step of a quote's approval request; idempotent. The quote's row is
 * locked first (the lock order of every quote use case), the approvals module decides the
 * step and says what the request came to, and this use case moves the quote accordingly: its
 * last level approved → approved; a rejection → rejected.
 */
export async function decideApproval(
  deps: QuoteDeps,
  actor: Principal,
  stepId: string,
  decision: 'approve' | 'reject',
  comment: string | null,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<ApprovalView>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const quote = await lockQuoteForDecision(trx, await quoteOfStep(trx, stepId))
      const now = deps.clock.now()
      const { outcome } = await decideStep(trx, actor, { stepId, decision, comment, currentRevision: quote.currentRevision, now })
      if (outcome) await transitionQuote(trx, quote, outcome === 'approved' ? 'approve' : 'reject', actor, now)
      const view = await approvalOf(trx, quote.id)
      assert(view, `quote ${quote.number} has the approval request just decided`)
      return { status: 200, body: view }
    },
  )
}

import type { Transaction } from 'kysely'
import { appendAudit } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import type { ApprovalQuote, ApprovalRevision } from './approval.js'
import { boundFactsOf, worsening } from './approval-binding.js'
import { openNextLevel } from './approval-levels.js'
import * as repo from './approval.repository.js'
import type { ApprovalStep } from './approval.repository.js'

type Trx = Transaction<Database>

/**
 * Opens the approval request for a submitted revision. Each step the evaluation requires
 * either carries over the latest approval of the same level and role, when nothing it was
 * bound to got worse (see approval-binding.ts), or is requested with the reason. The first
 * level with an open step becomes pending; later levels wait.
 */
export async function openApprovalRequest(
  trx: Trx,
  quote: ApprovalQuote,
  revision: ApprovalRevision,
  actor: Principal,
  now: Date,
): Promise<{ allApproved: boolean }> {
  const evaluation = revision.evaluation
  const requestId = newId('apr')
  const steps: ApprovalStep[] = []
  for (const required of evaluation.approvals.steps) {
    const bound = boundFactsOf(required)
    const previous = await repo.latestApprovedStep(trx, quote.id, required.level, required.role)
    // A rule that did not ask for this step when it was approved brings a reason nobody has
    // reviewed yet: the approval cannot cover it, whatever the facts compared.
    const unreviewed = previous ? required.reasons.filter((r) => !previous.reasons.some((p) => p.ruleId === r.ruleId)) : []
    const worse = previous
      ? [
          unreviewed.length > 0 ? `newly required by ${unreviewed.map((r) => r.ruleId ?? 'the guardrails').join(', ')}` : null,
          worsening(previous.boundFacts, bound, evaluation),
        ]
          .filter(Boolean)
          .join('; ') || null
      : null
    const carried = previous !== undefined && worse === null
    steps.push({
      id: newId('aps'),
      requestId,
      quoteId: quote.id,
      level: required.level,
      role: required.role,
      mode: required.mode,
      reasons: required.reasons,
      status: carried ? 'approved' : 'waiting',
      // A carried approval stays bound to what was actually approved, so later revisions compare with that.
      boundFacts: carried ? previous.boundFacts : bound,
      fingerprintHash: carried ? previous.fingerprintHash : revision.fingerprintHash,
      rerequestReason: previous && worse ? worse : previous ? null : 'newly required',
      carriedFrom: carried ? previous.id : null,
      decidedBy: carried ? previous.decidedBy : null,
      actingFor: carried ? previous.actingFor : null,
      comment: carried ? `carried over from an earlier approval (${previous.fingerprintHash.slice(0, 12)})` : null,
      decidedAt: carried ? previous.decidedAt : null,
      createdAt: now,
    })
  }
  openNextLevel(steps)
  const allApproved = steps.every((s) => s.status === 'approved')
  const involved = [...new Set([quote.ownerId, actor.id, ...revision.authors])].sort()
  await repo.insertRequest(
    trx,
    {
      id: requestId,
      quoteId: quote.id,
      revision: revision.revision,
      status: allApproved ? 'approved' : 'pending',
      createdBy: actor.id,
      createdAt: now,
      decidedAt: allApproved ? now : null,
    },
    { number: quote.number, ownerId: quote.ownerId, involved, netTotal: evaluation.totals.net },
  )
  for (const step of steps) await repo.insertStep(trx, step)
  await appendAudit(trx, now, {
    actorId: actor.id,
    action: 'approval.requested',
    entityType: 'quote',
    entityId: quote.id,
    after: {
      requestId,
      revision: revision.revision,
      fingerprintHash: revision.fingerprintHash,
      steps: steps.map((s) => ({ level: s.level, role: s.role, status: s.status, reason: s.rerequestReason })),
    },
  })
  return { allApproved }
}

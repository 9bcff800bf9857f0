import type { Kysely, Transaction } from 'kysely'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned } from '../principals/visibility.js'
import { authorityFor } from './approval-authority.js'
import { openNextLevel } from './approval-levels.js'
import * as repo from './approval.repository.js'

type Trx = Transaction<Database>

/** The quote a step belongs to, so the quote's use case can lock it first; 404 for an unknown step. */
export async function quoteOfStep(db: Kysely<Database>, stepId: string): Promise<string> {
  const found = await repo.findStep(db, stepId)
  if (!found) throw new AppError('NOT_FOUND', `No approval step ${stepId}.`)
  return found.quoteId
}

/**
 * Approves or rejects a step, in the caller's transaction, and says what the request came to:
 * approved (its last level completed), rejected, or still pending. The caller — the quote's
 * use case — holds the quote's row lock and applies the outcome to the quote.
 *
 * Concurrency: lock order, everywhere, is the quote, then its request; revisions take the same
 * order, so they never deadlock with approvals. With the request locked, two approvers deciding
 * the last steps at once are serialised: the second sees the first's result, and the quote
 * moves exactly once. The step update is also conditional on its status, so a step is never
 * decided twice.
 */
export async function decideStep(
  trx: Trx,
  actor: Principal,
  decision: { stepId: string; decision: 'approve' | 'reject'; comment: string | null; currentRevision: number; now: Date },
): Promise<{ outcome: 'approved' | 'rejected' | null }> {
  const { stepId, comment, now } = decision
  const found = await repo.findStep(trx, stepId)
  if (!found) throw new AppError('NOT_FOUND', `No approval step ${stepId}.`)
  const request = await repo.lockRequest(trx, found.requestId)
  assert(request, `approval request ${found.requestId} of step ${stepId} exists (requests are never deleted)`)
  const subject = await repo.findSubject(trx, request.id)
  assert(subject, `approval request ${request.id} keeps its subject`)
  const step = await repo.findStep(trx, stepId)
  assert(step, `approval step ${stepId} still exists under its request's lock`)
  const { actingFor } = await authorityFor(trx, actor, step, subject, request, now.toISOString().slice(0, 10)).catch(async (error: unknown) => {
    // Someone who may neither decide the step nor see its quote learns nothing about it.
    if (error instanceof AppError && error.code === 'FORBIDDEN' && !(await canSeeOwned(trx, actor, subject.ownerId))) {
      throw new AppError('NOT_FOUND', `No approval step ${stepId}.`)
    }
    throw error
  })
  if (request.status === 'withdrawn' || request.revision !== decision.currentRevision) {
    throw new AppError(
      'APPROVAL_STALE',
      `Quote ${subject.number} changed since this approval was requested (now revision ${decision.currentRevision}); it will be requested again when resubmitted.`,
    )
  }
  if (step.status !== 'pending') {
    throw new AppError(
      'APPROVAL_STEP_CLOSED',
      step.status === 'waiting' ? 'An earlier approval level is still open.' : `This step is already ${step.status}.`,
      {
        stepStatus: step.status,
      },
    )
  }
  const approve = decision.decision === 'approve'
  const decided = await repo.updateStep(trx, step.id, 'pending', {
    status: approve ? 'approved' : 'rejected',
    decidedBy: actor.id,
    actingFor,
    comment,
    decidedAt: now,
  })
  if (!decided) throw new AppError('APPROVAL_STEP_CLOSED', 'This step was decided meanwhile.')
  await appendAudit(trx, now, {
    actorId: actor.id,
    actingFor,
    action: approve ? 'approval.approved' : 'approval.rejected',
    entityType: 'approval_step',
    entityId: step.id,
    before: { status: 'pending' },
    after: {
      status: approve ? 'approved' : 'rejected',
      quoteId: request.quoteId,
      level: step.level,
      role: step.role,
      fingerprintHash: step.fingerprintHash,
      comment,
    },
  })
  await appendEvent(trx, now, {
    type: `approval.${approve ? 'approved' : 'rejected'}`,
    aggregateType: 'quote',
    aggregateId: request.quoteId,
    payload: { stepId: step.id, level: step.level, role: step.role, actingFor },
  })

  const steps = await repo.stepsOfRequest(trx, request.id)
  if (!approve) {
    for (const s of steps)
      if (s.status === 'pending' || s.status === 'waiting') await repo.updateStep(trx, s.id, s.status, { status: 'withdrawn', decidedAt: now })
    await repo.updateRequestStatus(trx, request.id, 'rejected', now)
    return { outcome: 'rejected' }
  }
  const before = new Map(steps.map((s) => [s.id, s.status]))
  const open = openNextLevel(steps)
  for (const s of steps) {
    const was = before.get(s.id)!
    if (s.status !== was) await repo.updateStep(trx, s.id, was, { status: s.status, ...(s.status === 'skipped' ? { decidedAt: now } : {}) })
  }
  if (open) return { outcome: null }
  await repo.updateRequestStatus(trx, request.id, 'approved', now)
  return { outcome: 'approved' }
}

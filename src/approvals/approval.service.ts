import type { Kysely, Transaction } from 'kysely'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Db } from '../db/database.js'
import type { Database } from '../db/schema.js'
import { AppError, assert } from '../errors.js'
import { formatMoney } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { findPrincipal } from '../principals/principal.service.js'
import { canSeeOwned } from '../principals/visibility.js'
import type { Role } from '../principals/roles.js'
import type { EvaluationSnapshot } from '../evaluation/evaluation.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { boundFactsOf, worsening } from './approval-binding.js'
import * as repo from './approval.repository.js'
import type { ApprovalRequest, ApprovalStep, ApprovalSubject, Delegation } from './approval.repository.js'

export type { ApprovalRequest, ApprovalStep, Delegation }

export interface ApprovalDeps {
  db: Db
  clock: Clock
}

export interface ApprovalView extends ApprovalRequest {
  steps: ApprovalStep[]
}

type Trx = Transaction<Database>

/** What the approvals module needs of the quote it approves: it never reads the quotes' tables. */
export interface ApprovalQuote {
  id: string
  number: string
  ownerId: string
}

/** The revision submitted: what its evaluation requires, its fingerprint, and everyone who wrote a revision of the quote. */
export interface ApprovalRevision {
  revision: number
  evaluation: EvaluationSnapshot
  fingerprintHash: string
  authors: string[]
}

/** Roles that approve; a principal holding one may delegate it. */
export const APPROVER_ROLES: readonly Role[] = ['sales_manager', 'deal_desk', 'finance', 'admin']

/** The latest approval request of a quote with its steps, or null. */
export async function approvalOf(db: Kysely<Database>, quoteId: string): Promise<ApprovalView | null> {
  const request = await repo.findLatestRequest(db, quoteId)
  return request ? { ...request, steps: await repo.stepsOfRequest(db, request.id) } : null
}

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

/**
 * Opens the lowest level that is not complete (its waiting steps become pending). A level is
 * complete when all its steps are approved, or, in "any" mode, one is; the others are then
 * skipped. Returns false when every level is complete. Mutates the steps' statuses.
 */
function openNextLevel(steps: ApprovalStep[]): boolean {
  const levels = [...new Set(steps.map((s) => s.level))].sort((a, b) => a - b)
  for (const level of levels) {
    const ofLevel = steps.filter((s) => s.level === level)
    const anyDone = ofLevel[0]!.mode === 'any' && ofLevel.some((s) => s.status === 'approved')
    if (anyDone) {
      for (const s of ofLevel) if (s.status === 'pending' || s.status === 'waiting') s.status = 'skipped'
      continue
    }
    if (ofLevel.every((s) => s.status === 'approved' || s.status === 'skipped')) continue
    for (const s of ofLevel) if (s.status === 'waiting') s.status = 'pending'
    return true
  }
  return false
}

/** Withdraws the open request of a quote (it was revised, canceled or expired); given approvals stay on record. */
export async function withdrawPendingRequest(trx: Trx, quoteId: string, now: Date, actor: Principal | null): Promise<void> {
  const request = await repo.findPendingRequest(trx, quoteId)
  if (!request) return
  await repo.updateRequestStatus(trx, request.id, 'withdrawn', now)
  for (const step of await repo.stepsOfRequest(trx, request.id)) {
    if (step.status === 'pending' || step.status === 'waiting') await repo.updateStep(trx, step.id, step.status, { status: 'withdrawn', decidedAt: now })
  }
  await appendAudit(trx, now, {
    actorId: actor?.id ?? null,
    action: 'approval.withdrawn',
    entityType: 'quote',
    entityId: quoteId,
    after: { requestId: request.id },
  })
}

/**
 * Who may decide a step, and for whom: a holder of the step's role, or their delegate.
 * Segregation of duties:
 * - nobody decides a step of a quote they own, wrote a revision of, or submitted — an
 *   approver who edits the discount cannot then approve it;
 * - nobody decides two steps of one request (one person, one level of review), whether in
 *   their own name or for someone else;
 * - a sales-manager step of a rep who has a manager is that manager's.
 * The same rules apply to the principal a delegate acts for.
 */
async function authorityFor(
  db: Kysely<Database>,
  actor: Principal,
  step: ApprovalStep,
  subject: ApprovalSubject,
  request: ApprovalRequest,
  day: string,
): Promise<{ actingFor: string | null }> {
  const involved = new Set(subject.involved)
  if (involved.has(actor.id)) throw new AppError('FORBIDDEN', 'Nobody approves a quote they own, revised or submitted.')
  const deciders = new Set<string>()
  for (const other of await repo.stepsOfRequest(db, request.id)) {
    if (other.id === step.id || (other.status !== 'approved' && other.status !== 'rejected')) continue
    if (other.decidedBy) deciders.add(other.decidedBy)
    if (other.actingFor) deciders.add(other.actingFor)
  }
  if (deciders.has(actor.id)) throw new AppError('FORBIDDEN', 'You already decided another step of this approval: each level needs a different person.')
  const owner = await findPrincipal(db, subject.ownerId)
  const mayDecide = (p: Principal) =>
    p.status === 'active' &&
    !involved.has(p.id) &&
    !deciders.has(p.id) &&
    p.roles.includes(step.role as Role) &&
    (step.role !== 'sales_manager' || !owner?.managerId || owner.managerId === p.id)
  if (mayDecide(actor)) return { actingFor: null }
  for (const delegation of await repo.activeDelegationsTo(db, actor.id, day)) {
    const delegator = await findPrincipal(db, delegation.delegatorId)
    if (delegator && mayDecide(delegator)) return { actingFor: delegator.id }
  }
  throw new AppError(
    'FORBIDDEN',
    `This step is for ${step.role.replace('_', ' ')}${step.role === 'sales_manager' && owner?.managerId ? " (the quote owner's manager)" : ''}; you hold neither the role nor a delegation for it.`,
  )
}

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

export interface QueueItem {
  step: ApprovalStep
  quote: { id: string; number: string; ownerId: string; revision: number; netTotal: string; currency: string }
  /** Set when the principal would act as a delegate. */
  actingFor: string | null
}

/** Pending steps read from the database at a time while a queue page is filled. */
const QUEUE_SCAN_BATCH = 100

/**
 * The open steps the principal may decide now (directly or as a delegate), oldest first: at
 * most `limit`, after the step `startingAfter` when given. Which steps are the principal's is
 * decided per step (segregation of duties, teams, delegations), so pending steps of their
 * roles are read in batches until the page is full or none are left.
 */
export async function approvalQueue(deps: ApprovalDeps, actor: Principal, limit: number, startingAfter?: string): Promise<QueueItem[]> {
  let after: ApprovalStep | undefined
  if (startingAfter) {
    after = await repo.findStep(deps.db, startingAfter)
    if (!after)
      throw new AppError('VALIDATION_FAILED', `No approval step ${startingAfter} to start after.`, {
        errors: [{ pointer: '/starting_after', in: 'querystring', detail: 'must be the nextCursor of a previous page' }],
      })
  }
  const day = deps.clock.now().toISOString().slice(0, 10)
  const delegations = await repo.activeDelegationsTo(deps.db, actor.id, day)
  const delegators = (await Promise.all(delegations.map((d) => findPrincipal(deps.db, d.delegatorId)))).filter((p): p is Principal => Boolean(p))
  const roles = [...new Set([...actor.roles, ...delegators.flatMap((p) => p.roles)])]
  const items: QueueItem[] = []
  for (;;) {
    const batch = await repo.pendingStepsForRoles(deps.db, roles, QUEUE_SCAN_BATCH, after)
    for (const step of batch) {
      const request = await repo.findLatestRequest(deps.db, step.quoteId)
      assert(request, `pending step ${step.id} belongs to a request of quote ${step.quoteId}`)
      const subject = await repo.findSubject(deps.db, request.id)
      assert(subject, `approval request ${request.id} keeps its subject`)
      try {
        const { actingFor } = await authorityFor(deps.db, actor, step, subject, request, day)
        items.push({
          step,
          // A pending step's request is the quote's current revision: revising withdraws it.
          quote: {
            id: request.quoteId,
            number: subject.number,
            ownerId: subject.ownerId,
            revision: request.revision,
            netTotal: formatMoney(subject.netTotal),
            currency: subject.netTotal.currency,
          },
          actingFor,
        })
      } catch (error) {
        if (!(error instanceof AppError)) throw error
      }
      if (items.length >= limit) return items
    }
    if (batch.length < QUEUE_SCAN_BATCH) return items
    after = batch[batch.length - 1]
  }
}

/** A principal hands their approvals to another for a date range (holidays, leave); audited. */
export async function createDelegation(
  deps: ApprovalDeps,
  actor: Principal,
  input: { delegateId: string; startsOn: string; endsOn: string },
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<Delegation>> {
  if (!actor.roles.some((r) => APPROVER_ROLES.includes(r))) throw new AppError('FORBIDDEN', 'Only approvers delegate approvals.')
  if (input.delegateId === actor.id)
    throw new AppError('VALIDATION_FAILED', 'You cannot delegate to yourself.', { errors: [{ pointer: '/delegateId', detail: 'must be another principal' }] })
  if (input.endsOn < input.startsOn)
    throw new AppError('VALIDATION_FAILED', 'The delegation ends before it starts.', {
      errors: [{ pointer: '/endsOn', detail: 'must be on or after startsOn' }],
    })
  const delegate = await findPrincipal(deps.db, input.delegateId)
  if (!delegate || delegate.status !== 'active')
    throw new AppError('VALIDATION_FAILED', 'The delegate is not an active principal.', {
      errors: [{ pointer: '/delegateId', detail: 'no active principal with this id' }],
    })
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const delegation: Delegation = {
        id: newId('dlg'),
        delegatorId: actor.id,
        delegateId: delegate.id,
        startsOn: input.startsOn,
        endsOn: input.endsOn,
        createdAt: now,
        revokedAt: null,
      }
      await repo.insertDelegation(trx, delegation)
      await appendAudit(trx, now, { actorId: actor.id, action: 'delegation.created', entityType: 'delegation', entityId: delegation.id, after: delegation })
      await appendEvent(trx, now, { type: 'delegation.created', aggregateType: 'principal', aggregateId: actor.id, payload: delegation })
      return { status: 201, body: delegation }
    },
  )
}

export function listDelegations(deps: ApprovalDeps, actor: Principal): Promise<Delegation[]> {
  return repo.delegationsOf(deps.db, actor.id)
}

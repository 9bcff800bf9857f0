import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { AppError, assert } from '../errors.js'
import { formatMoney } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { findPrincipal } from '../principals/principal.service.js'
import type { ApprovalDeps, ApprovalView, QueueItem } from './approval.js'
import { authorityFor } from './approval-authority.js'
import * as repo from './approval.repository.js'
import type { ApprovalStep } from './approval.repository.js'

/** The latest approval request of a quote with its steps, or null. */
export async function approvalOf(db: Kysely<Database>, quoteId: string): Promise<ApprovalView | null> {
  const request = await repo.findLatestRequest(db, quoteId)
  return request ? { ...request, steps: await repo.stepsOfRequest(db, request.id) } : null
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

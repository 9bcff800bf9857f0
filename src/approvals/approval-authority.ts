import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { findPrincipal } from '../principals/principal.service.js'
import type { Role } from '../principals/roles.js'
import * as repo from './approval.repository.js'
import type { ApprovalRequest, ApprovalStep, ApprovalSubject } from './approval.repository.js'

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
export async function authorityFor(
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

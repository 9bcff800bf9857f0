import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { findPrincipal } from '../principals/principal.service.js'
import { APPROVER_ROLES } from '../principals/roles.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import type { ApprovalDeps } from './approval.js'
import * as repo from './approval.repository.js'
import type { Delegation } from './approval.repository.js'

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
  if (delegate?.status !== 'active')
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

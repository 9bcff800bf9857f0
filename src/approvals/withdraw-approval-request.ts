import type { Transaction } from 'kysely'
import { appendAudit } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import type { Principal } from '../principals/principal.js'
import * as repo from './approval.repository.js'

type Trx = Transaction<Database>

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

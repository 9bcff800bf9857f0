import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { AppError } from '../errors.js'
import { formatMoney } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import type { OrderDeps } from './order-deps.js'
import * as repo from './order.repository.js'
import { visibleOrder } from './read-orders.js'

export interface MilestoneInput {
  line: number
  milestone: string
  /** The day it was reached; today by default, never in the future. */
  reachedOn?: string
  note?: string
}

export interface MilestoneReached {
  orderId: string
  line: number
  milestone: { id: string; name: string; percent: string }
  reachedOn: string
  /** What the milestone bills: the next invoice run on or after `reachedOn` invoices it. */
  amount: string
}

/**
 * Records that a line billed on milestones reached one (the project's kick-off, its go-live),
 * once: its share of the line falls due for the next invoice run. Only an open order's
 * milestones, only those its schedule lists, never in the future. Idempotent with a key; a
 * milestone recorded already answers 409.
 */
export async function recordMilestone(
  deps: OrderDeps,
  actor: Principal,
  orderId: string,
  input: MilestoneInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<MilestoneReached>> {
  await visibleOrder(deps.db, actor, orderId)
  const today = deps.clock.now().toISOString().slice(0, 10)
  const reachedOn = input.reachedOn ?? today
  if (reachedOn > today) {
    throw new AppError('FULFILMENT_INVALID', 'A milestone is recorded once it is reached.', {
      errors: [{ pointer: '/reachedOn', detail: `${reachedOn} is after today (${today})` }],
    })
  }
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const order = await repo.lockOrder(trx, orderId)
      if (!order) throw new AppError('NOT_FOUND', `No order ${orderId}.`)
      if (order.status === 'canceled') {
        throw new AppError('INVALID_STATE_TRANSITION', `Order ${order.number} is canceled: it reaches no milestone.`, {
          from: order.status,
          action: 'milestone',
        })
      }
      const items = (await repo.wholeSchedule(trx, order)).filter((i) => i.lineNo === input.line && i.trigger === 'milestone')
      if (items.length === 0) {
        throw new AppError('FULFILMENT_INVALID', `Order ${order.number} has no line ${input.line} billed on milestones.`, {
          errors: [{ pointer: '/line', detail: `line ${input.line} is not billed on milestones` }],
        })
      }
      const item = items.find((i) => i.milestone!.id === input.milestone)
      if (!item) {
        throw new AppError('FULFILMENT_INVALID', `Line ${input.line} of order ${order.number} has no milestone ${input.milestone}.`, {
          errors: [{ pointer: '/milestone', detail: `one of ${items.map((i) => i.milestone!.id).join(', ')}` }],
        })
      }
      const inserted = await repo.insertMilestone(trx, {
        orderId: order.id,
        lineNo: input.line,
        milestoneId: input.milestone,
        reachedOn,
        recordedBy: actor.id,
        note: input.note ?? null,
        now,
      })
      if (!inserted) {
        throw new AppError('INVALID_STATE_TRANSITION', `Line ${input.line} of order ${order.number} reached ${item.milestone!.name} already.`, {
          from: 'reached',
          action: 'milestone',
          reason: 'reached',
        })
      }
      const milestone = item.milestone!
      const reached: MilestoneReached = { orderId: order.id, line: input.line, milestone, reachedOn, amount: formatMoney(item.amount) }
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'order.milestone_reached',
        entityType: 'order',
        entityId: order.id,
        after: { line: input.line, milestone: milestone.id, reachedOn, amount: reached.amount, note: input.note ?? null },
      })
      await appendEvent(trx, now, {
        type: 'order.milestone_reached',
        aggregateType: 'order',
        aggregateId: order.id,
        payload: {
          orderId: order.id,
          number: order.number,
          line: input.line,
          milestone: milestone.id,
          reachedOn,
          amount: reached.amount,
          currency: order.currency,
        },
      })
      return { status: 201, body: reached }
    },
  )
}

import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { runTransition, type StateMachine } from '../shared/state-machine.js'
import { nothingFulfilled, ORDER_TRANSITIONS, type Order, type OrderAction, type OrderLine, type OrderStatus } from './order.js'
import type { Trx } from './order-deps.js'
import * as repo from './order.repository.js'

export interface OrderTransitionContext {
  trx: Trx
  order: Order
  lines: OrderLine[]
  actor: Principal | null
  now: Date
}

/** The order machine: the table of order.ts with what every transition must respect. */
export const ORDER_MACHINE: StateMachine<OrderStatus, OrderAction, OrderTransitionContext> = {
  entity: 'order',
  transitions: ORDER_TRANSITIONS,
  onExit: {
    // Whichever use case cancels, an order that has shipped, delivered or activated anything is
    // past canceling: what was delivered is billed, and corrected by a credit note.
    // Nor one an invoice bills (a product billed on order): it is corrected by a credit note.
    open: async ({ trx, order, lines }, { action }) => {
      if (action !== 'cancel') return
      if (!nothingFulfilled(lines)) {
        throw new AppError('INVALID_STATE_TRANSITION', `Order ${order.number} has fulfilments recorded; it can no longer be canceled.`, {
          from: order.status,
          action,
          reason: 'fulfilments recorded',
        })
      }
      if (await repo.isInvoiced(trx, order.id)) {
        throw new AppError('INVALID_STATE_TRANSITION', `Order ${order.number} is invoiced; it can no longer be canceled: credit its invoices instead.`, {
          from: order.status,
          action,
          reason: 'invoiced',
        })
      }
      if (await repo.isDrafted(trx, order.id)) {
        throw new AppError('INVALID_STATE_TRANSITION', `Order ${order.number} is on an invoice draft; issue or discard the draft first.`, {
          from: order.status,
          action,
          reason: 'drafted',
        })
      }
    },
  },
}

/**
 * The one way an order changes status: the machine's guard and hooks, the compare-and-swap
 * update, its audit entry (`order.<action>`) and outbox event (`order.<status>`), in the
 * caller's transaction, which holds the order's row lock.
 */
export async function transitionOrder(context: OrderTransitionContext, action: OrderAction, details: { reason?: string } = {}): Promise<Order> {
  const { trx, order, actor, now } = context
  return runTransition(ORDER_MACHINE, context, order.status, action, async (to) => {
    assert(to !== 'open', `order ${order.number}: ${action} leads back to open, which no action does`)
    const updated = await repo.updateOrder(trx, order.id, order.version, { status: to, ...(details.reason ? { cancelReason: details.reason } : {}) }, now)
    if (!updated) throw new AppError('PRECONDITION_FAILED', `Order ${order.number} changed meanwhile; read it again.`)
    await appendAudit(trx, now, {
      actorId: actor?.id ?? null,
      action: `order.${action}`,
      entityType: 'order',
      entityId: order.id,
      before: { status: order.status },
      after: { status: to, ...details },
    })
    await appendEvent(trx, now, {
      type: `order.${to}`,
      aggregateType: 'order',
      aggregateId: order.id,
      payload: { orderId: order.id, number: order.number, quoteId: order.quoteId, ...details },
    })
    return updated
  })
}

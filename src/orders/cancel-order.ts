import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { OrderView } from './order.js'
import type { OrderDeps } from './order-deps.js'
import * as repo from './order.repository.js'
import { view, visibleOrder } from './read-orders.js'
import { transitionOrder } from './transition-order.js'

/**
 * Cancels an open order before anything was shipped, delivered or activated, with a reason
 * (the machine's exit hook refuses it after). Needs the order's version (If-Match).
 */
export async function cancelOrder(deps: OrderDeps, actor: Principal, id: string, expectedVersion: number, reason: string): Promise<OrderView> {
  await visibleOrder(deps.db, actor, id)
  return deps.db.transaction().execute(async (trx) => {
    const order = await repo.lockOrder(trx, id)
    if (!order) throw new AppError('NOT_FOUND', `No order ${id}.`)
    if (order.version !== expectedVersion) {
      throw new AppError('PRECONDITION_FAILED', `Order ${order.number} is at version ${order.version}, not ${expectedVersion}; read it again.`)
    }
    const lines = await repo.orderLines(trx, order)
    const canceled = await transitionOrder({ trx, order, lines, actor, now: deps.clock.now() }, 'cancel', { reason })
    return view(trx, canceled)
  })
}

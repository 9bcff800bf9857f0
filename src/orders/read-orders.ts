import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned, visibleOwnerIds } from '../principals/visibility.js'
import type { ScheduleItem } from './billing-schedule.js'
import type { Fulfilment, Order, OrderStatus, OrderView } from './order.js'
import type { OrderDeps, Trx } from './order-deps.js'
import * as repo from './order.repository.js'

/** An order the principal may see (its quote's owner, their manager, or a reviewer of every deal); 404 otherwise, so existence is not revealed. */
export async function visibleOrder(db: OrderDeps['db'], actor: Principal, id: string): Promise<Order> {
  const order = await repo.findOrder(db, id)
  if (!order || !(await canSeeOwned(db, actor, order.ownerId))) throw new AppError('NOT_FOUND', `No order ${id}.`)
  return order
}

export async function view(db: OrderDeps['db'] | Trx, order: Order): Promise<OrderView> {
  return { ...order, lines: await repo.orderLines(db, order) }
}

export async function getOrder(deps: OrderDeps, actor: Principal, id: string): Promise<OrderView> {
  return view(deps.db, await visibleOrder(deps.db, actor, id))
}

/** The order of a quote, when it has one and the principal may see it. */
export async function orderOfQuote(deps: OrderDeps, actor: Principal, quoteId: string): Promise<OrderView | undefined> {
  const order = await repo.findOrderOfQuote(deps.db, quoteId)
  if (!order || !(await canSeeOwned(deps.db, actor, order.ownerId))) return undefined
  return view(deps.db, order)
}

export async function listOrders(
  deps: OrderDeps,
  actor: Principal,
  filter: { status?: OrderStatus; accountId?: string },
  limit: number,
  startingAfter?: string,
): Promise<Order[]> {
  return repo.listOrders(deps.db, { owners: await visibleOwnerIds(deps.db, actor), ...filter }, limit, startingAfter)
}

export async function fulfilmentsOf(deps: OrderDeps, actor: Principal, id: string, limit: number, startingAfter?: string): Promise<Fulfilment[]> {
  const order = await visibleOrder(deps.db, actor, id)
  return repo.fulfilmentsOf(deps.db, order.id, limit, startingAfter)
}

/** A page of the order's billing schedule, in billing order. */
export async function billingScheduleOf(
  deps: OrderDeps,
  actor: Principal,
  id: string,
  limit: number,
  after?: { lineNo: number; seq: number },
): Promise<{ order: Order; items: ScheduleItem[] }> {
  const order = await visibleOrder(deps.db, actor, id)
  return { order, items: await repo.scheduleOf(deps.db, order, limit, after) }
}

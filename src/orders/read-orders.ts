import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned, visibleOwnerIds } from '../principals/visibility.js'
import type { ScheduleItem } from './billing-schedule.js'
import type { Fulfilment, FulfilmentKind, Order, OrderLine, OrderStatus, OrderView } from './order.js'
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
): Promise<{ order: Order; items: ScheduleItem[]; reached: Map<string, string> }> {
  const order = await visibleOrder(deps.db, actor, id)
  return { order, items: await repo.scheduleOf(deps.db, order, limit, after), reached: await repo.milestonesReached(deps.db, order.id, '9999-12-31') }
}

/** What invoicing reads of an order: its lines, its whole schedule, and per line what was fulfilled by the invoicing day. */
export interface BillableOrder {
  order: Order
  lines: OrderLine[]
  schedule: ScheduleItem[]
  fulfilledBy: Map<number, Record<FulfilmentKind, bigint>>
  /** The milestones reached by the invoicing day: `lineNo/milestoneId` → the day. */
  milestonesReached: Map<string, string>
}

/**
 * Locks the orders for invoicing, in id order, and reads what is billable of each as of a day:
 * inside the invoice's transaction, so two runs never bill the same fulfilment twice.
 * Canceled orders are left out (nothing of them is billed).
 */
export async function lockBillableOrders(trx: Trx, ids: readonly string[], asOf: string): Promise<BillableOrder[]> {
  const orders = (await repo.lockOrders(trx, ids)).filter((o) => o.status !== 'canceled')
  return Promise.all(
    orders.map(async (order) => ({
      order,
      lines: await repo.orderLines(trx, order),
      schedule: await repo.wholeSchedule(trx, order),
      fulfilledBy: await repo.fulfilledBy(trx, order.id, asOf),
      milestonesReached: await repo.milestonesReached(trx, order.id, asOf),
    })),
  )
}

import { roundDiv } from '../money/money.js'
import type { BillableOrder, FulfilmentKind, FulfilmentMode, Order, OrderLine, ScheduleItem } from '../orders/order.service.js'

/**
 * What is due for invoicing in an order as of a day, derived from its stored schedule, what
 * was fulfilled and which milestones were reached by then, and what earlier invoices billed. Pure: the invoice run calls it under
 * the orders' row locks, and the property tests call it directly.
 */

/** An invoice line before it has a number, a VAT decision or a place on an invoice. */
export interface DueLine {
  order: Order
  line: OrderLine
  item: ScheduleItem
  /** How far into the item this line bills, in thousandths of the line's unit (see invoice_lines). */
  billedThroughMilli: bigint
  qtyMilli: bigint
  net: bigint
}

/** Which fulfilment bills a one-time line billed as fulfilled: goods as shipped, services as delivered, the rest as activated. */
const BILLING_KIND: Record<FulfilmentMode, FulfilmentKind> = { shipment: 'shipped', delivery: 'delivered', activation: 'activated' }

export const itemKey = (orderId: string, lineNo: number, seq: number) => `${orderId}/${lineNo}/${seq}`

/**
 * The part of an item's amount billed once `through` of `ordered` thousandths are fulfilled:
 * in proportion, rounded half-even, and exactly the item's amount when all is — so the lines of
 * partial fulfilments always add up to it, whatever the steps.
 */
export function amountThrough(amount: bigint, through: bigint, ordered: bigint): bigint {
  if (through >= ordered) return amount
  return roundDiv(amount * through, ordered, 'half_even')
}

/**
 * The lines due in an order as of `asOf`: items due on order or per period whose day has come
 * and that no invoice billed; for items billed as fulfilled, the quantity fulfilled by then
 * beyond what earlier invoices billed. `billed` maps an item (itemKey) to how far invoices
 * billed it (the largest billed_through_milli).
 */
export function dueLines(billable: BillableOrder, billed: ReadonlyMap<string, bigint>, asOf: string): DueLine[] {
  const lines = new Map(billable.lines.map((l) => [l.lineNo, l]))
  const due: DueLine[] = []
  for (const item of billable.schedule) {
    const line = lines.get(item.lineNo)
    if (!line) continue
    const previous = billed.get(itemKey(billable.order.id, item.lineNo, item.seq)) ?? 0n
    if (item.trigger === 'fulfilment') {
      const fulfilled = billable.fulfilledBy.get(item.lineNo)?.[BILLING_KIND[line.fulfilment]] ?? 0n
      const through = fulfilled < line.qtyMilli ? fulfilled : line.qtyMilli
      if (through <= previous) continue
      const amount = item.amount.minor
      due.push({
        order: billable.order,
        line,
        item,
        billedThroughMilli: through,
        qtyMilli: through - previous,
        net: amountThrough(amount, through, line.qtyMilli) - amountThrough(amount, previous, line.qtyMilli),
      })
      continue
    }
    if (item.trigger === 'milestone') {
      // A milestone bills its share once reached, the whole of it: quantities do not divide it.
      if (previous > 0n || !billable.milestonesReached.has(`${item.lineNo}/${item.milestone!.id}`)) continue
      due.push({ order: billable.order, line, item, billedThroughMilli: line.qtyMilli, qtyMilli: line.qtyMilli, net: item.amount.minor })
      continue
    }
    if (previous > 0n || item.billOn === null || item.billOn > asOf) continue
    due.push({ order: billable.order, line, item, billedThroughMilli: line.qtyMilli, qtyMilli: line.qtyMilli, net: item.amount.minor })
  }
  return due
}

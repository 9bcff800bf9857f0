import type { Product } from '../catalog/catalog.schema.js'
import { AppError } from '../errors.js'
import type { Money } from '../money/money-value.js'
import type { Transitions } from '../shared/state-machine.js'

/**
 * The order domain: what an accepted quote revision commits the seller to deliver and bill.
 * Lines are copied from the revision's evaluation snapshot, never priced again; fulfilments
 * record what was shipped, delivered or activated against them.
 */

export const ORDER_STATUSES = ['open', 'fulfilled', 'canceled'] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]

/** When a recurring line's periods fall: from the service start's day of month, or on calendar months after a prorated first period. */
export const BILLING_ALIGNMENTS = ['anniversary', 'calendar'] as const
export type BillingAlignment = (typeof BILLING_ALIGNMENTS)[number]

export const ORDER_ACTIONS = ['complete', 'cancel'] as const
export type OrderAction = (typeof ORDER_ACTIONS)[number]

/**
 *   open ─complete (every line fulfilled)─► fulfilled
 *   open ─cancel (nothing fulfilled yet)─► canceled
 * A fulfilled or canceled order is final: what was delivered is corrected by a credit note,
 * not by reopening the order.
 */
export const ORDER_TRANSITIONS: Transitions<OrderStatus, OrderAction> = {
  open: { complete: 'fulfilled', cancel: 'canceled' },
  fulfilled: {},
  canceled: {},
}

/** How a line is fulfilled: goods are shipped then delivered, services delivered (in days), subscriptions activated. */
export type FulfilmentMode = 'shipment' | 'delivery' | 'activation'
export const FULFILMENT_KINDS = ['shipped', 'delivered', 'activated'] as const
export type FulfilmentKind = (typeof FULFILMENT_KINDS)[number]

/** The kinds a mode records, in the order they happen; the last one completes the line. */
export const KINDS_OF: Readonly<Record<FulfilmentMode, readonly FulfilmentKind[]>> = {
  shipment: ['shipped', 'delivered'],
  delivery: ['delivered'],
  activation: ['activated'],
}

/**
 * The fulfilment of a product, from the catalog: recurring and usage products are activated;
 * one-time products of the `goods` tax category are shipped and delivered; other one-time
 * products (services, sold in days or engagements) are delivered.
 */
export function fulfilmentModeOf(product: Pick<Product, 'type' | 'taxCategory'>): FulfilmentMode {
  if (product.type !== 'one_time') return 'activation'
  return product.taxCategory === 'goods' ? 'shipment' : 'delivery'
}

export interface OrderRampYear {
  year: number
  periods: number
  amountPerPeriod: Money
  amount: Money
}

export interface OrderLine {
  /** The line's index in the accepted snapshot. */
  lineNo: number
  parentLineNo: number | null
  sku: string
  name: string
  productType: 'one_time' | 'recurring' | 'usage'
  fulfilment: FulfilmentMode
  taxCategory: string
  revenueTreatment: 'point_in_time' | 'ratable'
  unit: string
  billingPeriod: 'month' | 'quarter' | 'year' | null
  qtyMilli: bigint
  termMonths: number | null
  startDate: string
  periods: number
  listUnitPrice: Money
  /** Per billing period, first year, after every discount. */
  netAmount: Money
  /** The whole term, ramps included. */
  contractAmount: Money
  discountHundredths: bigint
  ramp: OrderRampYear[] | null
  fulfilled: Record<FulfilmentKind, bigint>
}

export interface Order {
  id: string
  number: string
  quoteId: string
  revision: number
  quoteNumber: string
  contractId: string
  accountId: string
  ownerId: string
  sellerId: string
  currency: string
  status: OrderStatus
  paymentTermsDays: number
  ruleSetHash: string
  priceBookHash: string
  net: Money
  oneTime: Money
  annualRecurring: Money
  cancelReason: string | null
  /** Where the recurring periods fall, copied from the account when the order was made. */
  billingAlignment: BillingAlignment
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface OrderView extends Order {
  lines: OrderLine[]
}

export interface Fulfilment {
  id: string
  orderId: string
  occurredOn: string
  reference: string | null
  recordedBy: string
  createdAt: Date
  lines: Array<{ lineNo: number; kind: FulfilmentKind; qtyMilli: bigint }>
}

/** Whether a line has had its last kind of fulfilment for its whole quantity. */
export function lineComplete(line: Pick<OrderLine, 'fulfilment' | 'qtyMilli' | 'fulfilled'>): boolean {
  const kinds = KINDS_OF[line.fulfilment]
  return line.fulfilled[kinds[kinds.length - 1]!] >= line.qtyMilli
}

export function nothingFulfilled(lines: readonly Pick<OrderLine, 'fulfilled'>[]): boolean {
  return lines.every((l) => FULFILMENT_KINDS.every((k) => l.fulfilled[k] === 0n))
}

export interface FulfilmentEntry {
  line: number
  kind: FulfilmentKind
  qtyMilli: bigint
}

/**
 * Applies fulfilment entries to an order's lines, or refuses them all with 422 naming each
 * entry at fault: an unknown line, a kind the line does not record, more than ordered (over
 * every fulfilment so far), goods delivered before they were shipped. Pure: returns the lines
 * as they would be.
 */
export function applyFulfilment(lines: readonly OrderLine[], entries: readonly FulfilmentEntry[]): OrderLine[] {
  const next = new Map(lines.map((l) => [l.lineNo, { ...l, fulfilled: { ...l.fulfilled } }]))
  const errors: Array<{ pointer: string; detail: string }> = []
  const seen = new Set<string>()
  entries.forEach((entry, i) => {
    const pointer = `/lines/${i}`
    const line = next.get(entry.line)
    if (!line) return void errors.push({ pointer: `${pointer}/line`, detail: `the order has no line ${entry.line}` })
    const key = `${entry.line}:${entry.kind}`
    if (seen.has(key)) return void errors.push({ pointer, detail: `line ${entry.line} is given twice as ${entry.kind}` })
    seen.add(key)
    if (!KINDS_OF[line.fulfilment].includes(entry.kind)) {
      return void errors.push({
        pointer: `${pointer}/kind`,
        detail: `line ${entry.line} (${line.sku}) is fulfilled by ${line.fulfilment}: it records ${KINDS_OF[line.fulfilment].join(' and ')}, not ${entry.kind}`,
      })
    }
    const total = line.fulfilled[entry.kind] + entry.qtyMilli
    if (total > line.qtyMilli) {
      return void errors.push({
        pointer: `${pointer}/quantity`,
        detail: `line ${entry.line} (${line.sku}): ${formatQty(total)} ${entry.kind} in all would exceed the ${formatQty(line.qtyMilli)} ordered (${formatQty(line.fulfilled[entry.kind])} so far)`,
      })
    }
    line.fulfilled[entry.kind] = total
  })
  for (const line of next.values()) {
    if (line.fulfilment === 'shipment' && line.fulfilled.delivered > line.fulfilled.shipped) {
      const i = entries.findIndex((e) => e.line === line.lineNo && e.kind === 'delivered')
      errors.push({
        pointer: `/lines/${i}/quantity`,
        detail: `line ${line.lineNo} (${line.sku}): ${formatQty(line.fulfilled.delivered)} delivered but only ${formatQty(line.fulfilled.shipped)} shipped`,
      })
    }
  }
  if (errors.length) throw new AppError('FULFILMENT_INVALID', 'The fulfilment does not fit the order.', { errors })
  return lines.map((l) => next.get(l.lineNo)!)
}

/** A quantity in thousandths as the decimal a person reads: 2500 → "2.5". */
export function formatQty(milli: bigint): string {
  const whole = milli / 1000n
  const rest = milli % 1000n
  return rest === 0n ? `${whole}` : `${whole}.${rest.toString().padStart(3, '0').replace(/0+$/, '')}`
}

import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { ExternalActor } from '../audit/audit.js'
import type { Catalog } from '../catalog/catalog.js'
import { assert } from '../errors.js'
import type { EvaluationSnapshot, PricedLine } from '../evaluation/evaluation.js'
import { formatMoney } from '../money/money-value.js'
import { newId } from '../shared/ids.js'
import { lineSchedule } from './billing-schedule.js'
import { fulfilmentModeOf, type BillingAlignment, type Order, type OrderLine } from './order.js'
import * as repo from './order.repository.js'
import type { Trx } from './order-deps.js'

/** What an accepted quote hands over to become an order. */
export interface AcceptedQuote {
  quoteId: string
  quoteNumber: string
  revision: number
  contractId: string
  accountId: string
  ownerId: string
  paymentTermsDays: number
  sellerId: string
  /** The account's billing alignment when the order is made. */
  billingAlignment: BillingAlignment
  /** The accepted revision's snapshot: the order executes exactly what was signed. */
  snapshot: EvaluationSnapshot
  /** The catalog the revision was priced with (its price-book hash): fulfilment, tax category and revenue treatment of each product. */
  catalog: Catalog
}

/** An order line copied from a priced line of the accepted snapshot, with the product's catalog facts. */
export function orderLineOf(line: PricedLine, catalog: Catalog): OrderLine {
  const product = catalog.products.get(line.sku)
  assert(product, `the accepted snapshot's sku ${line.sku} is in the catalog it was priced with`)
  return {
    lineNo: line.index,
    parentLineNo: line.parentIndex,
    sku: line.sku,
    name: line.name,
    productType: line.type,
    fulfilment: fulfilmentModeOf(product),
    taxCategory: product.taxCategory,
    revenueTreatment: product.revenueTreatment,
    unit: line.unit,
    billingPeriod: line.billingPeriod as OrderLine['billingPeriod'],
    qtyMilli: line.qtyMilli,
    termMonths: line.termMonths,
    startDate: line.startDate,
    periods: line.periods,
    listUnitPrice: line.listUnitPrice,
    netAmount: line.netAmount,
    contractAmount: line.contractAmount,
    discountHundredths: line.discountHundredths,
    ramp: line.ramp,
    fulfilled: { shipped: 0n, delivered: 0n, activated: 0n },
  }
}

/**
 * The order of an accepted quote, in the acceptance's transaction: lines copied from the
 * signed snapshot, never priced again. Exactly one per quote: the insert does nothing when the
 * quote has an order already (a second acceptance cannot happen — accepted is final — but a
 * redelivered or concurrent caller finds the existing order rather than a second one).
 */
export async function createOrderForAcceptedQuote(
  trx: Trx,
  accepted: AcceptedQuote,
  now: Date,
  actor: { actorId: string | null; externalActor: ExternalActor | null },
): Promise<Order> {
  const { snapshot } = accepted
  const existing = await repo.findOrderOfQuote(trx, accepted.quoteId)
  if (existing) return existing
  const lines = snapshot.lines.map((line) => orderLineOf(line, accepted.catalog))
  const orderedOn = now.toISOString().slice(0, 10)
  const schedule = lines.flatMap((line) =>
    lineSchedule(line, {
      orderedOn,
      alignment: accepted.billingAlignment,
      oneTime: accepted.catalog.products.get(line.sku)?.billOn ?? 'fulfilment',
      milestones: accepted.catalog.products.get(line.sku)?.milestones ?? [],
    }),
  )
  const order = await repo.insertOrder(
    trx,
    {
      id: newId('ord'),
      number: await repo.nextOrderNumber(trx, now.getUTCFullYear()),
      quoteId: accepted.quoteId,
      revision: accepted.revision,
      quoteNumber: accepted.quoteNumber,
      contractId: accepted.contractId,
      accountId: accepted.accountId,
      ownerId: accepted.ownerId,
      sellerId: accepted.sellerId,
      currency: snapshot.currency,
      status: 'open',
      paymentTermsDays: accepted.paymentTermsDays,
      ruleSetHash: snapshot.ruleSetHash,
      priceBookHash: snapshot.priceBookHash,
      net: snapshot.totals.net,
      oneTime: snapshot.totals.oneTime,
      annualRecurring: snapshot.totals.annualRecurring,
      cancelReason: null,
      billingAlignment: accepted.billingAlignment,
      createdAt: now,
      updatedAt: now,
    },
    lines,
  )
  // A concurrent caller inserted first: its order is the one.
  if (!order) {
    const winner = await repo.findOrderOfQuote(trx, accepted.quoteId)
    assert(winner, `an order exists for quote ${accepted.quoteNumber} after a conflicting insert`)
    return winner
  }
  await repo.insertSchedule(trx, order.id, schedule)
  await appendAudit(trx, now, {
    ...actor,
    action: 'order.created',
    entityType: 'order',
    entityId: order.id,
    after: {
      number: order.number,
      quoteId: order.quoteId,
      revision: order.revision,
      status: order.status,
      lines: lines.length,
      net: formatMoney(order.net),
      billingAlignment: order.billingAlignment,
      scheduleItems: schedule.length,
    },
  })
  await appendEvent(trx, now, {
    type: 'order.created',
    aggregateType: 'order',
    aggregateId: order.id,
    payload: {
      orderId: order.id,
      number: order.number,
      quoteId: order.quoteId,
      quoteNumber: order.quoteNumber,
      revision: order.revision,
      accountId: order.accountId,
      currency: order.currency,
      net: formatMoney(order.net),
    },
  })
  return order
}

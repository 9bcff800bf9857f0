import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { AppError } from '../errors.js'
import { toQtyMilli } from '../evaluation/pricing.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { applyFulfilment, formatQty, lineComplete, type Fulfilment, type FulfilmentEntry, type FulfilmentKind, type OrderView } from './order.js'
import type { OrderDeps } from './order-deps.js'
import * as repo from './order.repository.js'
import { view, visibleOrder } from './read-orders.js'
import { transitionOrder } from './transition-order.js'

export interface FulfilmentInput {
  /** The day it happened; defaults to today, never in the future. */
  occurredOn?: string
  /** The carrier's tracking number, the delivery note, the activation ticket. */
  reference?: string
  lines: Array<{ line: number; kind: FulfilmentKind; quantity: number }>
}

function entriesOf(input: FulfilmentInput): FulfilmentEntry[] {
  const errors: Array<{ pointer: string; detail: string }> = []
  const entries = input.lines.map((l, i) => {
    const qtyMilli = toQtyMilli(l.quantity)
    if (qtyMilli === null) errors.push({ pointer: `/lines/${i}/quantity`, detail: 'at most 3 decimals (thousandths of a unit)' })
    return { line: l.line, kind: l.kind, qtyMilli: qtyMilli ?? 0n }
  })
  if (errors.length) throw new AppError('FULFILMENT_INVALID', 'The fulfilment does not fit the order.', { errors })
  return entries
}

/**
 * Records what was shipped, delivered or activated on an open order, partially or in full,
 * never more than ordered (checked here against every earlier fulfilment under the order's
 * lock, and by the table's checks); the order becomes fulfilled when its last line is. Goods
 * and subscriptions are fulfilled in whole units, services in thousandths of a day. Idempotent.
 */
export async function recordFulfilment(
  deps: OrderDeps,
  actor: Principal,
  orderId: string,
  input: FulfilmentInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<{ fulfilment: Fulfilment; order: OrderView }>> {
  await visibleOrder(deps.db, actor, orderId)
  const today = deps.clock.now().toISOString().slice(0, 10)
  const occurredOn = input.occurredOn ?? today
  if (occurredOn > today) {
    throw new AppError('FULFILMENT_INVALID', 'A fulfilment is recorded once it happened.', {
      errors: [{ pointer: '/occurredOn', detail: `${occurredOn} is after today (${today})` }],
    })
  }
  const entries = entriesOf(input)
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const order = await repo.lockOrder(trx, orderId)
      if (!order) throw new AppError('NOT_FOUND', `No order ${orderId}.`)
      if (order.status !== 'open') {
        throw new AppError('INVALID_STATE_TRANSITION', `Order ${order.number} is ${order.status}: nothing more can be fulfilled.`, {
          from: order.status,
          action: 'fulfil',
        })
      }
      const lines = await repo.orderLines(trx, order)
      const fractional = entries.flatMap((e, i) => {
        const line = lines.find((l) => l.lineNo === e.line)
        return line && line.fulfilment !== 'delivery' && e.qtyMilli % 1000n !== 0n
          ? [{ pointer: `/lines/${i}/quantity`, detail: `line ${e.line} (${line.sku}) is fulfilled in whole units` }]
          : []
      })
      if (fractional.length) throw new AppError('FULFILMENT_INVALID', 'The fulfilment does not fit the order.', { errors: fractional })
      const after = applyFulfilment(lines, entries)
      const fulfilment: Fulfilment = {
        id: newId('ful'),
        orderId: order.id,
        occurredOn,
        reference: input.reference ?? null,
        recordedBy: actor.id,
        createdAt: now,
        lines: entries.map((e) => ({ lineNo: e.line, kind: e.kind, qtyMilli: e.qtyMilli })),
      }
      await repo.insertFulfilment(trx, fulfilment)
      const shown = entries.map((e) => ({ line: e.line, sku: lines.find((l) => l.lineNo === e.line)!.sku, kind: e.kind, quantity: formatQty(e.qtyMilli) }))
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'order.fulfil',
        entityType: 'order',
        entityId: order.id,
        after: { fulfilmentId: fulfilment.id, occurredOn, reference: fulfilment.reference, lines: shown },
      })
      await appendEvent(trx, now, {
        type: 'order.fulfilment_recorded',
        aggregateType: 'order',
        aggregateId: order.id,
        payload: { orderId: order.id, number: order.number, fulfilmentId: fulfilment.id, occurredOn, lines: shown },
      })
      // The order's version moves with every fulfilment, so an If-Match on it sees the change.
      const touched = await repo.updateOrder(trx, order.id, order.version, { status: order.status }, now)
      if (!touched) throw new AppError('PRECONDITION_FAILED', `Order ${order.number} changed meanwhile; read it again.`)
      const current = after.every(lineComplete) ? await transitionOrder({ trx, order: touched, lines: after, actor, now }, 'complete') : touched
      return { status: 201, body: { fulfilment, order: await view(trx, current) } }
    },
  )
}

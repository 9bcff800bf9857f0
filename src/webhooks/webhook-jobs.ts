import { randomUUID } from 'node:crypto'
import { eventsByIds, relayEvents } from '../events/outbox.service.js'
import { newId } from '../shared/ids.js'
import { backoffMs, envelope, signature } from './webhook.js'
import * as repo from './webhook.repository.js'
import { sendWebhook } from './webhook-sender.js'
import type { WebhookDeps } from './webhook.service.js'
import { assert } from '../errors.js'

/**
 * The two units of webhook work, for the job engine to call (no timers here). Both are
 * idempotent and safe on several instances at once; each returns what it did.
 */

export const MAX_RELAY_BATCH = 1000
export const MAX_DELIVERY_BATCH = 100
/** How long a claimed attempt keeps other instances off a delivery beyond the attempt's own timeout. */
const LEASE_MARGIN_MS = 60_000

function bounded(value: number, max: number, name: string): number {
  assert(Number.isInteger(value) && value >= 1 && value <= max, `${name} must be an integer from 1 to ${max}, not ${value}`)
  return value
}

/**
 * Takes up to `limit` unpublished outbox events in write order, makes one delivery per
 * (enabled endpoint subscribed to the event's type, event), and marks the events published,
 * in one transaction. The unique (endpoint, event) makes a rerun harmless; one relay runs at
 * a time (see relayEvents), so events of one aggregate are relayed in the order written.
 */
export async function relayOutbox(deps: Pick<WebhookDeps, 'db' | 'clock'>, options: { limit: number }): Promise<{ events: number; deliveries: number }> {
  const limit = bounded(options.limit, MAX_RELAY_BATCH, 'limit')
  const { events, result } = await relayEvents(
    deps.db,
    () => deps.clock.now(),
    limit,
    async (trx, batch) => {
      if (batch.length === 0) return 0
      const endpoints = await repo.enabledSubscriptions(trx)
      const now = deps.clock.now()
      const deliveries = batch.flatMap((event) =>
        endpoints
          .filter((e) => e.eventTypes.includes('*') || e.eventTypes.includes(event.type))
          .map((e) => ({
            id: newId('whd'),
            endpointId: e.id,
            eventId: event.id,
            eventType: event.type,
            aggregateType: event.aggregateType,
            aggregateId: event.aggregateId,
            eventSeq: event.seq,
            now,
          })),
      )
      let inserted = 0
      // In slices, so one statement's parameters stay far below PostgreSQL's limit of 65535.
      for (let i = 0; i < deliveries.length; i += 1000) inserted += await repo.insertDeliveries(trx, deliveries.slice(i, i + 1000))
      return inserted
    },
  )
  return { events: events.length, deliveries: result }
}

export interface DeliveryRun {
  /** Attempts made. */
  attempted: number
  delivered: number
  /** Attempts that failed and will be retried. */
  retrying: number
  /** Deliveries that failed their last attempt and are now `failed`. */
  failed: number
}

/**
 * Makes one attempt of up to `limit` due deliveries. Each is claimed first (a lease in a
 * short statement, SKIP LOCKED), so no transaction stays open across the HTTP call and two
 * instances never send the same attempt; the outcome is recorded afterwards, by the claim's
 * token, with the attempt in the delivery's log. 2xx: delivered. Anything else: retried after
 * the backoff, or `failed` once QTC_WEBHOOK_MAX_ATTEMPTS attempts were made.
 */
export async function deliverDueWebhooks(deps: WebhookDeps, options: { limit: number; now: Date }): Promise<DeliveryRun> {
  const limit = bounded(options.limit, MAX_DELIVERY_BATCH, 'limit')
  const now = options.now
  const token = randomUUID()
  const claimed = await repo.claimDue(deps.db, now, new Date(now.getTime() + deps.timeoutMs + LEASE_MARGIN_MS), token, limit)
  const events = new Map((await eventsByIds(deps.db, [...new Set(claimed.map((c) => c.eventId))])).map((e) => [e.id, e]))
  const timestamp = Math.floor(now.getTime() / 1000)
  const run: DeliveryRun = { attempted: 0, delivered: 0, retrying: 0, failed: 0 }
  await Promise.all(
    claimed.map(async (delivery) => {
      const event = events.get(delivery.eventId)
      assert(event, `delivery ${delivery.id} names event ${delivery.eventId}, which is not in the outbox`)
      const body = envelope(event)
      const headers = {
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature(delivery.secret, event.id, timestamp, body),
      }
      const result = await sendWebhook(delivery.url, headers, body, { policy: deps.policy, resolver: deps.resolver, timeoutMs: deps.timeoutMs })
      const ok = result.error === null
      const exhausted = !ok && delivery.attempt >= deps.maxAttempts
      const recordedAt = deps.clock.now()
      const recorded = await deps.db.transaction().execute((trx) =>
        repo.recordAttempt(
          trx,
          delivery.id,
          token,
          {
            state: ok ? 'delivered' : exhausted ? 'failed' : 'pending',
            nextAttemptAt: ok || exhausted ? now : new Date(now.getTime() + backoffMs(delivery.attempt)),
            lastStatus: result.status,
            lastError: result.error,
            deliveredAt: ok ? recordedAt : null,
            now: recordedAt,
          },
          { attempt: delivery.attempt, attemptedAt: now, ...result },
        ),
      )
      if (!recorded) return
      run.attempted++
      if (ok) run.delivered++
      else if (exhausted) run.failed++
      else run.retrying++
      if (!ok)
        deps.log?.warn(
          { deliveryId: delivery.id, eventId: event.id, attempt: delivery.attempt, status: result.status, error: result.error },
          'webhook attempt failed',
        )
    }),
  )
  return run
}

import { createHmac, randomBytes } from 'node:crypto'

/** Most event types one endpoint subscribes to (the catalogue is smaller; `*` is one). */
export const MAX_SUBSCRIBED_TYPES = 50
/** Most endpoints registered at once. */
export const MAX_ENDPOINTS = 100
/** The response body kept of an attempt: read up to this many bytes, the rest is not read. */
export const MAX_RESPONSE_BYTES = 64 * 1024
/** Most attempts a delivery's answer lists (the newest). */
export const MAX_LISTED_ATTEMPTS = 100
export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const
export type DeliveryState = (typeof DELIVERY_STATES)[number]

/**
 * Wait before the next attempt, by the number of attempts made so far: 30 s, 2 min, 10 min,
 * 1 h, 6 h, 12 h, then every 24 h until QTC_WEBHOOK_MAX_ATTEMPTS (8 by default: about 43 h
 * between the first attempt and the last).
 */
const BACKOFF_MS = [30_000, 120_000, 600_000, 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 24 * 3_600_000]

export function backoffMs(attemptsMade: number): number {
  return BACKOFF_MS[Math.min(Math.max(attemptsMade, 1), BACKOFF_MS.length) - 1]!
}

export interface WebhookEndpoint {
  id: string
  url: string
  eventTypes: string[]
  description: string | null
  enabled: boolean
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface WebhookDelivery {
  id: string
  endpointId: string
  eventId: string
  eventType: string
  state: DeliveryState
  attemptCount: number
  nextAttemptAt: Date
  lastStatus: number | null
  lastError: string | null
  deliveredAt: Date | null
  createdAt: Date
  updatedAt: Date
}

export interface DeliveryAttempt {
  attempt: number
  attemptedAt: Date
  status: number | null
  error: string | null
  responseBody: string | null
  responseTruncated: boolean
  durationMs: number
}

/** A signing secret in the Standard Webhooks form: `whsec_` and the base64 of 32 random bytes. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/**
 * The Standard Webhooks signature of one attempt: `v1,` and the base64 HMAC-SHA256, keyed
 * with the secret's bytes (the base64 after `whsec_`), of `<webhook-id>.<webhook-timestamp>.<body>`.
 */
export function signature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`
}

/** The body of every delivery of an event: the same bytes on every attempt. */
export function envelope(event: { id: string; type: string; version: number; createdAt: Date; payload: unknown }): string {
  return JSON.stringify({ type: event.type, version: event.version, id: event.id, timestamp: event.createdAt.toISOString(), data: event.payload })
}

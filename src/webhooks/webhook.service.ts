import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import { appendAudit } from '../audit/audit.service.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { AddressPolicy, RefusedUrl, systemResolver, type Resolver } from './url-guard.js'
import {
  MAX_ENDPOINTS,
  MAX_LISTED_ATTEMPTS,
  newSecret,
  type DeliveryAttempt,
  type DeliveryState,
  type WebhookDelivery,
  type WebhookEndpoint,
} from './webhook.js'
import * as repo from './webhook.repository.js'

export interface WebhookDeps {
  db: Db
  clock: Clock
  policy: AddressPolicy
  resolver: Resolver
  timeoutMs: number
  maxAttempts: number
  log?: { warn(object: object, message: string): void }
}

/** The webhook dependencies from the settings (QTC_WEBHOOK_*). */
export function webhookDeps(
  config: Pick<Config, 'webhookAllowHttp' | 'webhookAllowedNetworks' | 'webhookTimeoutMs' | 'webhookMaxAttempts'>,
  db: Db,
  clock: Clock,
  resolver: Resolver = systemResolver,
): WebhookDeps {
  return {
    db,
    clock,
    policy: new AddressPolicy({ allowHttp: config.webhookAllowHttp, allowedNetworks: config.webhookAllowedNetworks }),
    resolver,
    timeoutMs: config.webhookTimeoutMs,
    maxAttempts: config.webhookMaxAttempts,
  }
}

/** An endpoint with its signing secret: the answer of create and rotate-secret, and only of those, once. */
export type EndpointWithSecret = WebhookEndpoint & { secret?: string }

export interface EndpointInput {
  url: string
  eventTypes: string[]
  description?: string | null
  enabled?: boolean
}

/** Refuses a URL webhooks may not use (its form, or where its host resolves to now); 422 naming why. */
async function checkUrl(deps: WebhookDeps, url: string): Promise<void> {
  try {
    await deps.policy.addresses(deps.policy.parse(url), deps.resolver)
  } catch (error) {
    if (!(error instanceof RefusedUrl)) throw error
    throw new AppError('WEBHOOK_URL_REFUSED', `The webhook URL ${error.message}.`, { errors: [{ pointer: '/url', detail: error.message }] })
  }
}

/** `*` alone says it all: a list holding it and more types is kept as `*`. */
function normalisedTypes(types: string[]): string[] {
  return types.includes('*') ? ['*'] : [...new Set(types)].sort()
}

/** What the audit log keeps of an endpoint: everything but the secret. */
function audited(e: WebhookEndpoint) {
  return { url: e.url, eventTypes: e.eventTypes, description: e.description, enabled: e.enabled, version: e.version }
}

export async function createEndpoint(
  deps: WebhookDeps,
  actor: Principal,
  input: EndpointInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<EndpointWithSecret>> {
  await checkUrl(deps, input.url)
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      await repo.lockEndpointRegistry(trx)
      if ((await repo.countEndpoints(trx)) >= MAX_ENDPOINTS)
        throw new AppError('WEBHOOK_ENDPOINT_LIMIT', `At most ${MAX_ENDPOINTS} webhook endpoints can be registered; delete one first.`)
      const secret = newSecret()
      const endpoint = await repo.insertEndpoint(trx, {
        id: newId('whe'),
        url: input.url,
        eventTypes: normalisedTypes(input.eventTypes),
        description: input.description ?? null,
        enabled: input.enabled ?? true,
        secret,
        createdBy: actor.id,
        now,
      })
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'webhook_endpoint.created',
        entityType: 'webhook_endpoint',
        entityId: endpoint.id,
        after: audited(endpoint),
      })
      // A replay answers the endpoint without its secret: the secret is shown once.
      return { status: 201, body: { ...endpoint, secret }, replayBody: endpoint }
    },
  )
}

export function listEndpoints(deps: Pick<WebhookDeps, 'db'>, limit: number, after: string | undefined): Promise<WebhookEndpoint[]> {
  return repo.listEndpoints(deps.db, limit, after)
}

export async function getEndpoint(deps: Pick<WebhookDeps, 'db'>, id: string): Promise<WebhookEndpoint> {
  const endpoint = await repo.findEndpoint(deps.db, id)
  if (!endpoint) throw new AppError('NOT_FOUND', `No webhook endpoint ${id}.`)
  return endpoint
}

export async function updateEndpoint(
  deps: WebhookDeps,
  actor: Principal,
  id: string,
  expectedVersion: number,
  patch: Partial<EndpointInput>,
): Promise<WebhookEndpoint> {
  if (patch.url !== undefined) await checkUrl(deps, patch.url)
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const before = await repo.lockEndpoint(trx, id)
    if (!before) throw new AppError('NOT_FOUND', `No webhook endpoint ${id}.`)
    const updated = await repo.updateEndpoint(
      trx,
      id,
      expectedVersion,
      { ...patch, ...(patch.eventTypes !== undefined ? { eventTypes: normalisedTypes(patch.eventTypes) } : {}) },
      now,
    )
    if (!updated) throw new AppError('PRECONDITION_FAILED', `Webhook endpoint ${id} changed since it was read (now version ${before.version}).`)
    await appendAudit(trx, now, {
      actorId: actor.id,
      action: 'webhook_endpoint.updated',
      entityType: 'webhook_endpoint',
      entityId: id,
      before: audited(before),
      after: audited(updated),
    })
    return updated
  })
}

/** A new secret replaces the old at once (deliveries from now on are signed with it); shown in this answer only. */
export async function rotateSecret(
  deps: WebhookDeps,
  actor: Principal,
  id: string,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<EndpointWithSecret>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const current = await repo.lockEndpoint(trx, id)
      if (!current) throw new AppError('NOT_FOUND', `No webhook endpoint ${id}.`)
      const secret = newSecret()
      const rotated = await repo.updateEndpoint(trx, id, current.version, { secret }, now)
      assert(rotated, `webhook endpoint ${id} is locked at version ${current.version}`)
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'webhook_endpoint.secret_rotated',
        entityType: 'webhook_endpoint',
        entityId: id,
        after: { version: rotated.version },
      })
      return { status: 200, body: { ...rotated, secret }, replayBody: rotated }
    },
  )
}

/** Deletes an endpoint with its deliveries and their attempts; what it was stays in the audit log. */
export async function deleteEndpoint(deps: WebhookDeps, actor: Principal, id: string): Promise<WebhookEndpoint> {
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const endpoint = await repo.lockEndpoint(trx, id)
    if (!endpoint) throw new AppError('NOT_FOUND', `No webhook endpoint ${id}.`)
    await repo.deleteEndpoint(trx, id)
    await appendAudit(trx, now, {
      actorId: actor.id,
      action: 'webhook_endpoint.deleted',
      entityType: 'webhook_endpoint',
      entityId: id,
      before: audited(endpoint),
    })
    return endpoint
  })
}

export async function listDeliveries(
  deps: Pick<WebhookDeps, 'db'>,
  endpointId: string,
  state: DeliveryState | undefined,
  limit: number,
  after: string | undefined,
): Promise<WebhookDelivery[]> {
  await getEndpoint(deps, endpointId)
  return repo.listDeliveries(deps.db, endpointId, state, limit, after)
}

export async function getDelivery(deps: Pick<WebhookDeps, 'db'>, id: string): Promise<WebhookDelivery & { attempts: DeliveryAttempt[] }> {
  const delivery = await repo.findDelivery(deps.db, id)
  if (!delivery) throw new AppError('NOT_FOUND', `No webhook delivery ${id}.`)
  return { ...delivery, attempts: await repo.attemptsOf(deps.db, id, MAX_LISTED_ATTEMPTS) }
}

/** Queues a failed or delivered delivery again, due now, with a fresh attempt count (its attempts log is kept). */
export async function retryDelivery(
  deps: WebhookDeps,
  actor: Principal,
  id: string,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<WebhookDelivery>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const current = await repo.findDelivery(trx, id)
      if (!current) throw new AppError('NOT_FOUND', `No webhook delivery ${id}.`)
      const queued = await repo.requeue(trx, id, now)
      if (!queued)
        throw new AppError('INVALID_STATE_TRANSITION', `Webhook delivery ${id} is still pending; only a failed or delivered one is queued again.`, {
          from: current.state,
          to: 'pending',
          action: 'retry',
        })
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'webhook_delivery.retried',
        entityType: 'webhook_delivery',
        entityId: id,
        before: { state: current.state, attemptCount: current.attemptCount },
        after: { state: 'pending' },
      })
      return { status: 200, body: queued }
    },
  )
}

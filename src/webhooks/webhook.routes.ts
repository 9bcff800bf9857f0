import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { EVENT_TYPES, publishedCatalogue } from '../events/event-catalogue.js'
import { principalOf } from '../http/auth.js'
import { expectedVersion, setEtag } from '../http/etag.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, StartingAfter, limitParam, pageFrom } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import { DELIVERY_STATES, MAX_SUBSCRIBED_TYPES } from './webhook.js'
import * as service from './webhook.service.js'
import type { WebhookDeps } from './webhook.service.js'
import { WEBHOOK_ADMINS } from '../principals/roles.js'

const EventTypeName = Type.Union([...EVENT_TYPES.map((t) => Type.Literal(t)), Type.Literal('*')], { description: 'A catalogue event type, or * for all' })
const EndpointFields = {
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'https (http only with QTC_WEBHOOK_ALLOW_HTTP); its host must resolve to public addresses' }),
  eventTypes: Type.Array(EventTypeName, { minItems: 1, maxItems: MAX_SUBSCRIBED_TYPES, uniqueItems: true }),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  enabled: Type.Optional(Type.Boolean({ default: true })),
}
const EndpointProperties = {
  id: Type.String(),
  url: Type.String(),
  eventTypes: Type.Array(Type.String()),
  description: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
}
export const WebhookEndpointView = Type.Object(EndpointProperties, { $id: 'WebhookEndpoint' })
const EndpointWithSecret = Type.Object(
  { ...EndpointProperties, secret: Type.Optional(Type.String({ description: 'whsec_…: the signing secret, in this answer only (absent from a replay)' })) },
  { description: 'A webhook endpoint with its new signing secret' },
)
const DeliveryState = Type.Union(
  DELIVERY_STATES.map((s) => Type.Literal(s)),
  { description: 'pending: to be attempted; delivered: a 2xx came back; failed: every attempt failed' },
)
const DeliveryProperties = {
  id: Type.String(),
  endpointId: Type.String(),
  eventId: Type.String({ description: 'The event, and the webhook-id header of every attempt' }),
  eventType: Type.String(),
  state: DeliveryState,
  attemptCount: Type.Integer({ description: 'Attempts since it was (last) queued' }),
  nextAttemptAt: Type.String({ format: 'date-time' }),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
}
export const WebhookDeliveryView = Type.Object(DeliveryProperties, { $id: 'WebhookDelivery' })
const Attempt = Type.Object({
  attempt: Type.Integer(),
  attemptedAt: Type.String({ format: 'date-time' }),
  status: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status; null when no answer came' }),
  error: Type.Union([Type.String(), Type.Null()]),
  responseBody: Type.Union([Type.String(), Type.Null()], { description: 'The first 64 KiB of the answer' }),
  responseTruncated: Type.Boolean(),
  durationMs: Type.Integer(),
})
const EventTypeView = Type.Object({
  type: Type.String(),
  version: Type.Integer(),
  description: Type.String(),
  aggregateType: Type.String(),
  payloadSchema: Type.Object({ type: Type.Literal('object') }, { additionalProperties: true, description: 'The JSON Schema of the payload (data)' }),
})
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

type Dated = { createdAt: Date | string; updatedAt: Date | string }
/** JSON form of a record whose dates may already be strings (a replayed idempotent response). */
function dated<T extends Dated>(x: T) {
  return { ...x, createdAt: new Date(x.createdAt).toISOString(), updatedAt: new Date(x.updatedAt).toISOString() }
}
function deliveryView<T extends Dated & { nextAttemptAt: Date | string; deliveredAt: Date | string | null }>(d: T) {
  return {
    ...dated(d),
    nextAttemptAt: new Date(d.nextAttemptAt).toISOString(),
    deliveredAt: d.deliveredAt === null ? null : new Date(d.deliveredAt).toISOString(),
  }
}

export const webhookRoutes: FastifyPluginAsyncTypebox<{ deps: WebhookDeps }> = async (app, { deps }) => {
  const admin = { roles: WEBHOOK_ADMINS }
  const tags = ['webhooks']

  app.get(
    '/v1/webhook-event-types',
    {
      schema: {
        tags,
        summary: 'The event catalogue: every type a webhook can receive, its version and payload schema',
        response: { 200: Type.Object({ data: Type.Array(EventTypeView) }), ...problemResponses() },
      },
    },
    async () => ({ data: publishedCatalogue() }),
  )

  app.post(
    '/v1/webhook-endpoints',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Register a webhook endpoint (admin). Its signing secret is in this response only.',
        headers: IdempotencyHeaders,
        body: Type.Object(EndpointFields, { additionalProperties: false }),
        response: { 201: EndpointWithSecret, 200: EndpointWithSecret, ...problemResponses(403, 409, 422) },
      },
    },
    async (request, reply) => {
      const stored = await service.createEndpoint(deps, principalOf(request), request.body, idempotencyOf(request))
      return sendStored(reply, { ...stored, body: dated(stored.body) as never })
    },
  )

  app.get(
    '/v1/webhook-endpoints',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Webhook endpoints (admin)',
        querystring: Type.Object({ limit: limitParam(DEFAULT_PAGE_LIMIT), starting_after: StartingAfter }, { additionalProperties: false }),
        response: { 200: PageOf(Type.Ref('WebhookEndpoint')), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT } = request.query
      const page = pageFrom(await service.listEndpoints(deps, limit + 1, request.query.starting_after), limit)
      return { ...page, data: page.data.map(dated) }
    },
  )

  app.get(
    '/v1/webhook-endpoints/:id',
    {
      config: admin,
      schema: { tags, summary: 'A webhook endpoint (admin)', params: IdParams, response: { 200: Type.Ref('WebhookEndpoint'), ...problemResponses(403, 404) } },
    },
    async (request, reply) => {
      const endpoint = await service.getEndpoint(deps, request.params.id)
      setEtag(reply, endpoint.version)
      return dated(endpoint)
    },
  )

  app.patch(
    '/v1/webhook-endpoints/:id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Change a webhook endpoint (admin); needs If-Match',
        params: IdParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 64 })) }),
        body: Type.Object(
          {
            url: Type.Optional(EndpointFields.url),
            eventTypes: Type.Optional(EndpointFields.eventTypes),
            description: EndpointFields.description,
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('WebhookEndpoint'), ...problemResponses(403, 404, 412, 422, 428) },
      },
    },
    async (request, reply) => {
      const endpoint = await service.updateEndpoint(deps, principalOf(request), request.params.id, expectedVersion(request), request.body)
      setEtag(reply, endpoint.version)
      return dated(endpoint)
    },
  )

  app.post(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Replace the signing secret (admin); the new one is in this response only',
        params: IdParams,
        headers: IdempotencyHeaders,
        response: { 200: EndpointWithSecret, ...problemResponses(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const stored = await service.rotateSecret(deps, principalOf(request), request.params.id, idempotencyOf(request))
      return sendStored(reply, { ...stored, body: dated(stored.body) as never })
    },
  )

  app.delete(
    '/v1/webhook-endpoints/:id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Delete a webhook endpoint with its delivery log (admin); answers what was deleted',
        params: IdParams,
        response: { 200: Type.Ref('WebhookEndpoint'), ...problemResponses(403, 404) },
      },
    },
    async (request) => dated(await service.deleteEndpoint(deps, principalOf(request), request.params.id)),
  )

  app.get(
    '/v1/webhook-endpoints/:id/deliveries',
    {
      config: admin,
      schema: {
        tags,
        summary: "An endpoint's deliveries, oldest first (admin)",
        params: IdParams,
        querystring: Type.Object(
          { limit: limitParam(DEFAULT_PAGE_LIMIT), starting_after: StartingAfter, state: Type.Optional(DeliveryState) },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('WebhookDelivery')), ...problemResponses(403, 404) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT, state, starting_after } = request.query
      const page = pageFrom(await service.listDeliveries(deps, request.params.id, state, limit + 1, starting_after), limit)
      return { ...page, data: page.data.map(deliveryView) }
    },
  )

  app.get(
    '/v1/webhook-deliveries/:id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'A delivery with its attempts (the newest 100) (admin)',
        params: IdParams,
        response: { 200: Type.Object({ ...DeliveryProperties, attempts: Type.Array(Attempt) }), ...problemResponses(403, 404) },
      },
    },
    async (request) => {
      const delivery = await service.getDelivery(deps, request.params.id)
      return { ...deliveryView(delivery), attempts: delivery.attempts.map((a) => ({ ...a, attemptedAt: a.attemptedAt.toISOString() })) }
    },
  )

  app.post(
    '/v1/webhook-deliveries/:id/retry',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Queue a failed or delivered delivery again, due now, with a fresh attempt count (admin)',
        params: IdParams,
        headers: IdempotencyHeaders,
        response: { 200: Type.Ref('WebhookDelivery'), ...problemResponses(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const stored = await service.retryDelivery(deps, principalOf(request), request.params.id, idempotencyOf(request))
      return sendStored(reply, { ...stored, body: deliveryView(stored.body) as never })
    },
  )
}

import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Db } from '../db/database.js'
import { AppError } from '../errors.js'
import type { Clock } from '../shared/clock.js'
import { findReplay, JSON_CONTENT_TYPE, requestHashOf, type IdempotencyRequest, type RenderedResponse, type StoredResponse } from '../shared/idempotency.js'
import { principalOf } from './auth.js'

/** Header schema for creating POSTs, so OpenAPI documents the key. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'Makes the POST safe to retry: the first response is stored for 24 h and replayed byte for byte.',
    }),
  ),
})

/** Header schema for creating POSTs where a retry must never act twice (a payment): the key is required. */
export const RequiredIdempotencyHeaders = Type.Object({
  'idempotency-key': Type.String({
    minLength: 1,
    maxLength: 255,
    description: 'Required: the first response is stored for 24 h and replayed byte for byte, so a retry never records twice.',
  }),
})

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

interface IdempotencyContext {
  requestHash: string
  render: (status: number, body: unknown) => RenderedResponse
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set before validation on routes that take an Idempotency-Key, when one was sent. */
    idempotency: IdempotencyContext | null
  }
}

function takesIdempotencyKey(request: FastifyRequest): boolean {
  const headers = request.routeOptions.schema?.headers as { properties?: Record<string, unknown> } | undefined
  return headers?.properties?.['idempotency-key'] !== undefined
}

/**
 * Answers a retry from its stored answer before anything else runs: a preValidation hook
 * (the body is parsed, the caller authenticated and authorised) ahead of schema validation
 * and the handler, so a replay neither validates nor prices again, and sends the stored
 * bytes unchanged. Anything else — no stored answer, another request under the same key,
 * one still in flight — goes on to the handler, where `runIdempotent` decides under the
 * key's lock. The request's hash is taken here, from the body as sent (before validation
 * fills in defaults), and reused there, so both places judge "the same request" alike.
 */
export function registerIdempotency(app: FastifyInstance, deps: { db: Db; clock: Clock }): void {
  app.decorateRequest('idempotency', null)
  app.addHook('preValidation', async (request, reply) => {
    if (!takesIdempotencyKey(request) || !request.principal) return
    const key = request.headers['idempotency-key']
    // A malformed key is refused by idempotencyOf, where the route asks for it.
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) return
    const requestHash = requestHashOf({ method: request.method, path: request.url, body: request.body ?? null })
    request.idempotency = {
      requestHash,
      // The route's own serializer for that status: the bytes a plain send would produce.
      render: (status, body) => {
        reply.code(status)
        const text = reply.serialize(body)
        return { bytes: typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text as ArrayBuffer), contentType: JSON_CONTENT_TYPE }
      },
    }
    const stored = await findReplay(deps.db, request.principal.id, key, requestHash, deps.clock.now())
    if (stored) return sendStored(reply, { ...stored, body: undefined, replayed: true })
  })
}

/** The idempotency context of a request, or null when no Idempotency-Key was sent. */
export function idempotencyOf(request: FastifyRequest): IdempotencyRequest | null {
  const key = request.headers['idempotency-key']
  if (key === undefined) return null
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', {
      errors: [{ pointer: '/idempotency-key', in: 'headers', detail: 'invalid' }],
    })
  }
  return {
    principalId: principalOf(request).id,
    key,
    method: request.method,
    // The query string is part of the request: ?trace=none and ?trace=full are different requests.
    path: request.url,
    body: request.body ?? null,
    ...(request.idempotency ?? {}),
  }
}

/**
 * Sends a (possibly replayed) idempotent response: its rendered bytes when it has them;
 * replays are marked. The bytes are the route's serializer applied to the service's body, so
 * a route must not reshape an idempotent body beyond what its response schema does (today's
 * date-to-ISO helpers render the same bytes): a reshaping would be lost, first answer too.
 */
export function sendStored<T>(reply: FastifyReply, stored: StoredResponse<T>): FastifyReply {
  if (stored.replayed) reply.header('idempotent-replayed', 'true')
  reply.status(stored.status)
  return stored.rendered ? reply.type(stored.rendered.contentType).send(stored.rendered.bytes) : reply.send(stored.body)
}

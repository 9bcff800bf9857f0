import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import type { IdempotencyRequest, StoredResponse } from '../shared/idempotency.js'
import { principalOf } from './auth.js'

/** Header schema for creating POSTs, so OpenAPI documents the key. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'Makes the POST safe to retry: the first response is stored for 24 h and replayed.' }),
  ),
})

/** The idempotency context of a request, or null when no Idempotency-Key was sent. */
export function idempotencyOf(request: FastifyRequest): IdempotencyRequest | null {
  const key = request.headers['idempotency-key']
  if (key === undefined) return null
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
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
  }
}

/** Sends a (possibly replayed) idempotent response; replays are marked for the client. */
export function sendStored<T>(reply: FastifyReply, stored: StoredResponse<T>): FastifyReply {
  if (stored.replayed) reply.header('idempotent-replayed', 'true')
  return reply.status(stored.status).send(stored.body)
}

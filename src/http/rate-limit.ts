import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import { AppError } from '../errors.js'

/** Routes never limited: probes must see the truth, not a 429. */
const EXEMPT_ROUTES = new Set(['/health', '/ready'])

/**
 * Buckets each in-memory store keeps (least recently used dropped first). Only a key that
 * authenticates creates a principal bucket, so junk cannot fill that store; a flood from
 * more addresses than this can only push out other addresses' buckets.
 */
export const RATE_LIMIT_BUCKETS = { principals: 10_000, addresses: 50_000 } as const

export interface RateLimitOptions {
  perMinute: number
  /** A shared store for several instances; in memory (per instance) when absent. */
  redis?: Redis
}

/**
 * Every request but the probes' counts against one budget of `perMinute` a minute: the
 * principal's when its key authenticates (so one noisy integration does not starve the
 * others, and all spellings of one key share it), otherwise its address's (no key, an
 * unknown or revoked key, a public route). Counting failed authentications per address is
 * what limits a client rotating junk keys. Runs after authentication has looked the key
 * up and before authorization refuses anything, so failures are counted too.
 */
export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    max: options.perMinute,
    timeWindow: '1 minute',
    ...(options.redis ? { redis: options.redis, nameSpace: 'qtc-rate-limit-' } : {}),
    // An unreachable shared store must not take the API down: requests are then served
    // unlimited, and the connection errors are logged by the client's error listener.
    skipOnError: Boolean(options.redis),
  })
  // Two limiters, two stores: separate LRUs, so address buckets can never evict a principal's.
  const perPrincipal = app.createRateLimit({
    keyGenerator: (request) => `principal:${request.principal!.id}`,
    cache: RATE_LIMIT_BUCKETS.principals,
  } as Parameters<FastifyInstance['createRateLimit']>[0])
  const perAddress = app.createRateLimit({
    keyGenerator: (request) => `address:${normalizeIP(request.ip)}`,
    cache: RATE_LIMIT_BUCKETS.addresses,
  } as Parameters<FastifyInstance['createRateLimit']>[0])

  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    if (request.routeOptions.url !== undefined && EXEMPT_ROUTES.has(request.routeOptions.url)) return
    const limit = await (request.principal ? perPrincipal : perAddress)(request)
    if (limit.isAllowed) return
    reply.header('x-ratelimit-limit', limit.max)
    reply.header('x-ratelimit-remaining', limit.remaining)
    reply.header('x-ratelimit-reset', limit.ttlInSeconds)
    if (limit.isExceeded) {
      reply.header('retry-after', limit.ttlInSeconds)
      throw new AppError('RATE_LIMITED', `Too many requests: at most ${limit.max} a minute. Retry after ${limit.ttlInSeconds} seconds.`)
    }
  })
}

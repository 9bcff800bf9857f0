import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { Role } from '../principals/roles.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set on every non-public route before its handler runs. */
    principal: Principal | null
    /** Why authentication failed, kept until the rate limit has counted the request. */
    authFailure: AppError | null
  }
  interface FastifyContextConfig {
    /** No authentication (health, readiness, API docs). */
    public?: boolean
    /** Roles allowed to call the route; absent means any authenticated principal. */
    roles?: readonly Role[]
  }
}

/** The authenticated principal of a request; an assertion, since the hook guarantees it. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('Assertion failed: route reached without an authenticated principal')
  return request.principal
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  return match ? match[1]! : null
}

export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return principal.roles.some((r) => roles.includes(r))
}

function needsKey(request: FastifyRequest): boolean {
  // Unknown routes (no route url) fall through to the 404 handler.
  return !request.routeOptions.config.public && request.routeOptions.url !== undefined
}

/**
 * Looks the API key up on every route unless it is marked public, but refuses nothing: the
 * rate limit, which runs next, must first know whether to count the request against a
 * principal or against its address (every failed authentication counts against the address).
 * Responses of these routes are personal, so no cache may keep them, errors included.
 */
export function registerAuthentication(app: FastifyInstance, authenticate: (key: string) => Promise<Principal | undefined>): void {
  app.decorateRequest('principal', null)
  app.decorateRequest('authFailure', null)
  app.addHook('onRequest', async (request) => {
    if (!needsKey(request)) return
    const token = bearerToken(request.headers.authorization)
    const principal = token ? await authenticate(token) : undefined
    if (principal) request.principal = principal
    else
      request.authFailure = new AppError('UNAUTHENTICATED', token ? 'The API key is unknown or revoked.' : 'Send an API key as "Authorization: Bearer <key>".')
  })
  app.addHook('onSend', async (request, reply) => {
    if (!request.routeOptions.config.public) reply.header('cache-control', 'no-store')
  })
}

/**
 * Refuses what authentication found wanting, then checks the route's roles. Object-level
 * checks (whose quote is this?) belong to the services.
 */
export function registerAuthorization(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (!needsKey(request)) return
    if (request.authFailure) throw request.authFailure
    const config = request.routeOptions.config
    if (config.roles && !hasAnyRole(request.principal!, config.roles)) {
      throw new AppError('FORBIDDEN', `This function needs one of the roles: ${config.roles.join(', ')}.`)
    }
  })
}

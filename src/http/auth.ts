import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.repository.js'
import type { Role } from '../principals/roles.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set on every non-public route before its handler runs. */
    principal: Principal | null
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

/**
 * Authentication and per-function authorization, for every route unless it is marked
 * public. Object-level checks (whose quote is this?) belong to the services.
 */
export function registerAuth(app: FastifyInstance, authenticate: (key: string) => Promise<Principal | undefined>): void {
  app.decorateRequest('principal', null)
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config
    // Unknown routes (no route url) fall through to the 404 handler.
    if (config.public || request.routeOptions.url === undefined) return
    const token = bearerToken(request.headers.authorization)
    if (!token) {
      throw new AppError('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>".')
    }
    const principal = await authenticate(token)
    if (!principal) throw new AppError('UNAUTHENTICATED', 'The API key is unknown or revoked.')
    request.principal = principal
    if (config.roles && !hasAnyRole(principal, config.roles)) {
      throw new AppError('FORBIDDEN', `This function needs one of the roles: ${config.roles.join(', ')}.`)
    }
  })
}

import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors.js'

/** Where a parsed value carries a key that would poison prototypes, as a JSON pointer and the key's name. */
function findPoisonedKey(value: unknown, pointer = ''): { pointer: string; key: string } | null {
  if (value === null || typeof value !== 'object') return null
  for (const [key, child] of Object.entries(value)) {
    const here = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
    if (key === '__proto__') return { pointer: here, key: '__proto__' }
    if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) {
      return { pointer: `${here}/prototype`, key: 'constructor.prototype' }
    }
    const found = findPoisonedKey(child, here)
    if (found) return found
  }
  return null
}

/**
 * JSON bodies through Fastify's own secure parser, which refuses `__proto__` and
 * `constructor.prototype` keys but calls them "not valid JSON". When that parser refuses a
 * body that is valid JSON, the answer says which key was refused and why.
 */
export function registerJsonBody(app: FastifyInstance): void {
  const secure = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    secure(request, body as string, (error: Error | null, value?: unknown) => {
      if (!error) return done(null, value)
      let plain: unknown
      try {
        plain = JSON.parse(body as string)
      } catch {
        return done(error, undefined)
      }
      const poisoned = findPoisonedKey(plain)
      if (!poisoned) return done(error, undefined)
      done(
        new AppError('MALFORMED_REQUEST', `The key ${poisoned.key} is not accepted in a request body (prototype pollution).`, {
          errors: [{ pointer: poisoned.pointer, in: 'body', detail: `the key ${poisoned.key} is not accepted (prototype pollution)` }],
        }),
        undefined,
      )
    })
  })
}

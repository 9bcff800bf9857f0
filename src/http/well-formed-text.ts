import type { FastifyInstance } from 'fastify'
import { AppError, type FieldError } from '../errors.js'

declare global {
  interface String {
    /** ES2024, in Node since 20.0; not in this project's ES2023 lib. */
    isWellFormed(): boolean
  }
}

/** Enough to show a caller the pattern of the mistake without a megabyte of errors. */
const MAX_REPORTED = 20

function problemOf(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)'
  // A lone UTF-16 surrogate is not a character: PostgreSQL and every UTF-8 consumer refuse it.
  if (!text.isWellFormed()) return 'must be well-formed Unicode: it holds a lone surrogate (half of a UTF-16 pair)'
  return null
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** Appends to `errors` every string (value or property name) in `value` that is not text. */
function collect(value: unknown, pointer: string, part: FieldError['in'], errors: FieldError[]): void {
  if (errors.length >= MAX_REPORTED) return
  if (typeof value === 'string') {
    const detail = problemOf(value)
    if (detail) errors.push({ pointer, in: part, detail })
    return
  }
  if (value === null || typeof value !== 'object') return
  if (Array.isArray(value)) {
    value.forEach((item, i) => collect(item, `${pointer}/${i}`, part, errors))
    return
  }
  for (const [key, child] of Object.entries(value)) {
    const here = `${pointer}/${escapePointer(key)}`
    const detail = problemOf(key)
    if (detail) errors.push({ pointer: here, in: part, detail: `property name ${detail}` })
    collect(child, here, part, errors)
  }
}

/**
 * Every string that enters (body, query string, path parameters; Node's parser already
 * refuses control characters in headers) must be text PostgreSQL can store: no NUL, no
 * lone surrogate. Checked before schema validation, on every route, so no route can forget.
 */
export function registerWellFormedText(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const errors: FieldError[] = []
    collect(request.params, '', 'params', errors)
    collect(request.query, '', 'querystring', errors)
    collect(request.body, '', 'body', errors)
    if (errors.length > 0) {
      const parts = [...new Set(errors.map((e) => e.in))].join(', ')
      throw new AppError('VALIDATION_FAILED', `The request ${parts} holds text that is not accepted: a NUL character or a lone surrogate.`, { errors })
    }
  })
}

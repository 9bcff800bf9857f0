import type { FastifyRequest } from 'fastify'
import type { FieldError } from '../errors.js'

/**
 * The patterns of the shared schemas, in words: a caller should read what to send, not a
 * regular expression. A test walks every route schema and fails on a pattern missing here.
 */
export const PATTERN_WORDS: Readonly<Record<string, string>> = {
  '^[A-Z0-9][A-Z0-9-]{0,63}$': 'must be a SKU: upper-case letters, digits and dashes, up to 64, not starting with a dash',
  // The same words as the date format's, so a date failing both is reported once.
  '^\\d{4}-\\d{2}-\\d{2}$': 'must be a calendar date written YYYY-MM-DD',
  '^-?\\d{1,15}(\\.\\d{1,10})?$': 'must be a decimal number written as a string, e.g. "-12.50": up to 15 digits before the point and 10 after',
  '^\\d{1,15}(\\.\\d{1,10})?$': 'must be a non-negative decimal number written as a string, e.g. "39.90": up to 15 digits before the point and 10 after',
  '^[a-z0-9][a-z0-9._-]{0,99}$': 'must be an identifier: lower-case letters, digits, dots, dashes and underscores, up to 100, starting with a letter or digit',
  '^[A-Z]{3}$': 'must be a currency code: three upper-case letters (ISO 4217), e.g. EUR',
  '^[A-Z]{2}$': 'must be a country code: two upper-case letters (ISO 3166-1), e.g. FR',
  '^[A-Z0-9]+$': 'must be upper-case letters and digits only, without spaces or punctuation',
  '^[A-Z0-9][A-Z0-9_-]{0,31}$':
    'must be a promotion code: upper-case letters, digits, dashes and underscores, up to 32, not starting with a dash or underscore',
  '^\\d{1,3}(\\.\\d{1,4})?$': 'must be a percentage written as a string, e.g. "12.5": up to 3 digits and 4 decimals',
  '^\\d{1,15}(\\.\\d{1,4})?$': 'must be a decimal amount written as a string, e.g. "120.00": up to 15 digits, and no more decimals than the currency has',
  '^[1-9][0-9]{0,18}$': 'must be a positive whole number, without leading zeros, up to 19 digits',
  '^(0|[1-9][0-9]{0,18})$': 'must be a whole number written as a string, without leading zeros, up to 19 digits',
  '^[0-9a-f]{64}$': 'must be a SHA-256 digest: 64 lower-case hexadecimal digits',
  '^(\\d{1,6})\\.(\\d{1,6})$': 'must be a billing-schedule cursor: <line>.<seq> as a previous page gave it in nextCursor, e.g. "3.12"',
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$': 'must be a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ',
}

const FORMAT_WORDS: Readonly<Record<string, string>> = {
  date: 'must be a calendar date written YYYY-MM-DD',
  'date-time': 'must be a date and time with its offset, e.g. 2026-12-01T09:00:00Z',
  email: 'must be an email address',
  uri: 'must be an absolute URI',
}

interface AjvError {
  instancePath: string
  schemaPath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
  /** With Ajv's `verbose`: the keyword's value, and the schema holding it. */
  schema?: unknown
  parentSchema?: { description?: string }
}

function describe(e: AjvError): string {
  switch (e.keyword) {
    case 'pattern': {
      const words = PATTERN_WORDS[String(e.params.pattern)]
      // Never show the expression itself: the schema's description, or a plain sentence.
      return words ?? (e.parentSchema?.description ? `must be ${e.parentSchema.description}` : 'is not in the expected form')
    }
    case 'format':
      return FORMAT_WORDS[String(e.params.format)] ?? 'is not in the expected form'
    case 'required':
      return 'is required'
    case 'additionalProperties':
      return 'unknown property'
    case 'const':
      return `must be ${JSON.stringify(e.params.allowedValue)}`
    case 'enum':
      return `must be one of: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
    case 'anyOf': {
      const branches = Array.isArray(e.schema) ? (e.schema as Array<{ const?: unknown }>) : []
      if (branches.length > 0 && branches.every((b) => 'const' in b)) return `must be one of: ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`
      return 'matches none of the allowed forms'
    }
  }
  return (e.message ?? e.keyword).replace(' NOT ', ' not ')
}

/** A line-limit error on a cart route says the line limit and the body limit it implies. */
function linesDetail(e: AjvError, request: FastifyRequest): string | null {
  const maxCartLines = request.routeOptions.config.maxCartLines
  if (e.keyword !== 'maxItems' || e.instancePath !== '/lines' || maxCartLines === undefined) return null
  return `must have at most ${maxCartLines.toLocaleString('en')} lines (MAX_CART_LINES); the body may be up to ${(request.routeOptions.bodyLimit ?? 0).toLocaleString('en')} bytes`
}

/**
 * Turns Ajv's errors into JSON pointers at the offending field (missing and unknown keys
 * included) with a sentence a person can act on. A union that fails is reported once: the
 * allowed values when they are constants, else the errors of its non-null branches.
 */
export function fieldErrors(validation: AjvError[], context: string | undefined, request: FastifyRequest): FieldError[] {
  const unions = validation.filter((e) => e.keyword === 'anyOf')
  const constUnions = unions.filter((u) => describe(u).startsWith('must be one of'))
  const kept = validation.filter((e) => {
    const branchOf = (u: AjvError) => e !== u && e.schemaPath.startsWith(`${u.schemaPath}/`)
    if (constUnions.some(branchOf)) return false
    // "must be null" says nothing to a caller who sent a value of the wrong form.
    if (e.keyword === 'type' && e.params.type === 'null' && unions.some(branchOf)) return false
    // The union's own summary adds nothing when its branches said what is wrong.
    if (
      e.keyword === 'anyOf' &&
      !constUnions.includes(e) &&
      validation.some((b) => b !== e && b.schemaPath.startsWith(`${e.schemaPath}/`) && !(b.keyword === 'type' && b.params.type === 'null'))
    )
      return false
    return true
  })
  const seen = new Set<string>()
  const errors: FieldError[] = []
  for (const e of kept) {
    let pointer = e.instancePath
    if (e.keyword === 'required') pointer += `/${String(e.params.missingProperty)}`
    if (e.keyword === 'additionalProperties') pointer += `/${String(e.params.additionalProperty)}`
    const detail = linesDetail(e, request) ?? describe(e)
    const key = `${pointer}\u0000${detail}`
    if (seen.has(key)) continue
    seen.add(key)
    errors.push({ pointer, in: (context ?? 'body') as FieldError['in'], detail })
  }
  return errors
}

import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

/**
 * Two validators. Bodies are validated strictly: no type coercion ("5" is not 5), unknown
 * properties rejected (every body schema sets additionalProperties: false), all errors
 * reported. Query strings and params arrive as text, so there types are coerced.
 * Unknown properties are rejected rather than stripped: a client that misspells a field
 * learns it at once, and nobody can mass-assign a field the API does not offer.
 */
function makeAjv(coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes, strict: false })
  addFormats.default(ajv, ['date', 'date-time', 'email', 'uri'])
  return ajv
}

export function registerValidation(app: FastifyInstance): void {
  const strict = makeAjv(false)
  const coercing = makeAjv('array')
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema))
}

import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyServerOptions } from 'fastify'

/**
 * Two validators. Bodies are validated strictly: no type coercion ("5" is not 5), unknown
 * properties rejected (every body schema sets additionalProperties: false), all errors
 * reported. Query strings and params arrive as text, so there types are coerced.
 * Unknown properties are rejected rather than stripped: a client that misspells a field
 * learns it at once, and nobody can mass-assign a field the API does not offer.
 */
function makeAjv(coerceTypes: Options['coerceTypes'], shared: Record<string, unknown>): Ajv {
  // verbose: error messages need the schema that failed (a union's allowed values, a pattern's description).
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes, strict: false, verbose: true })
  addFormats.default(ajv, ['date', 'date-time', 'email', 'uri'])
  for (const schema of Object.values(shared)) ajv.addSchema(schema as object)
  return ajv
}

/**
 * Installed as fastify's validator factory rather than with setValidatorCompiler: fastify
 * rebuilds validators for a plugin context that gains shared schemas later, and a factory is
 * what it rebuilds them with, so these rules hold for every route whatever the order of
 * registration.
 */
export const schemaController: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildValidator: (externalSchemas) => {
      const shared = (externalSchemas ?? {}) as Record<string, unknown>
      const strict = makeAjv(false, shared)
      const coercing = makeAjv('array', shared)
      return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object)
    },
  },
}

import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
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
 * Compiled validators and serializers are kept for the life of the process, keyed by the
 * shared schemas they were built with and the schema's own text. Compiling them is most of
 * the cost of building the app (seconds: fast-json-stringify checks every response schema
 * against the meta-schema); a process that builds the app more than once (the tests build
 * one per test) compiles each schema once. The key is the schema's JSON, never its identity:
 * fastify may hand over a copy, and two equal schemas compile to the same function.
 */
const compiled = new Map<string, { strict: Ajv; coercing: Ajv; serializers: Map<string, (value: unknown) => string> }>()

function compiledFor(shared: Record<string, unknown>) {
  const key = JSON.stringify(shared)
  let entry = compiled.get(key)
  if (!entry) {
    entry = { strict: makeAjv(false, shared), coercing: makeAjv('array', shared), serializers: new Map() }
    compiled.set(key, entry)
  }
  return entry
}

/**
 * Installed as fastify's compiler factories rather than with setValidatorCompiler: fastify
 * rebuilds validators for a plugin context that gains shared schemas later, and a factory is
 * what it rebuilds them with, so these rules hold for every route whatever the order of
 * registration. Ajv keeps what it compiled per schema already; the serializers are kept here.
 */
export const schemaController: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildValidator: (externalSchemas) => {
      const { strict, coercing } = compiledFor((externalSchemas ?? {}) as Record<string, unknown>)
      return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object)
    },
    buildSerializer: (externalSchemas, serializerOpts) => {
      const shared = (externalSchemas ?? {}) as Record<string, unknown>
      const { serializers } = compiledFor(shared)
      const build = SerializerSelector()(shared, serializerOpts)
      return (route) => {
        const key = `${JSON.stringify(serializerOpts ?? {})}|${JSON.stringify(route.schema)}`
        let serializer = serializers.get(key)
        if (!serializer) {
          serializer = build(route)
          serializers.set(key, serializer)
        }
        return serializer
      }
    },
  },
}

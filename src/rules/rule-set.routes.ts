import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.js'
import { principalOf } from '../http/auth.js'
import { problemResponses } from '../http/problem.js'
import { PRICE_READERS, RULE_SET_ACTIVATORS } from '../principals/roles.js'
import { summarize, type RuleSetRegistry } from './rule-set.service.js'

const Summary = Type.Object({
  ruleSetHash: Type.String(),
  priceBookHash: Type.String(),
  files: Type.Array(Type.Object({ file: Type.String(), set: Type.String(), rules: Type.Integer() })),
  ruleCounts: Type.Record(Type.String(), Type.Integer()),
  products: Type.Integer(),
  priceBooks: Type.Array(Type.String()),
})

export const ruleSetRoutes: FastifyPluginAsyncTypebox<{ ruleSets: RuleSetRegistry }> = async (app, { ruleSets }) => {
  app.get(
    '/v1/rule-sets/current',
    {
      config: { roles: PRICE_READERS },
      schema: { tags: ['rules'], summary: 'The serving rule set: hashes, files and rule counts', response: { 200: Summary, ...problemResponses(403, 503) } },
    },
    async () => summarize(ruleSets.get()),
  )

  app.post(
    '/v1/rule-sets/reload',
    {
      config: { roles: RULE_SET_ACTIVATORS },
      schema: {
        tags: ['rules'],
        summary: 'Load rules/ and price-books/ again; a valid set replaces the serving one atomically, an invalid one is refused with every error',
        response: { 200: Type.Composite([Summary, Type.Object({ changed: Type.Boolean() })]), ...problemResponses(403, 422) },
      },
    },
    async (request) => {
      const { ruleSet, errors, changed } = await ruleSets.reload(principalOf(request).id)
      if (!ruleSet) {
        throw new AppError('RULE_SET_INVALID', `The rule files have ${errors.length} error(s); the serving rule set is unchanged.`, {
          errors: errors.map((e) => ({ pointer: e.path, detail: e.message, file: e.file, ...(e.ruleId ? { ruleId: e.ruleId } : {}) })),
        })
      }
      request.log.info({ ruleSetHash: ruleSet.hash, priceBookHash: ruleSet.priceBookHash, changed }, 'rule set reloaded')
      return { ...summarize(ruleSet), changed }
    },
  )
}

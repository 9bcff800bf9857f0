import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.js'
import { principalOf } from '../http/auth.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { problemResponses } from '../http/problem.js'
import { SELLING_ROLES } from '../principals/roles.js'
import { cartSchema } from './cart.schema.js'
import { evaluateCart, replayDecision, type EvaluationDeps } from './evaluation.service.js'

const Loose = Type.Object({}, { additionalProperties: true })
export const MAX_FULL_TRACE_LINES = 500
const Money = Type.String({ description: 'Decimal amount in the cart currency, e.g. "1234.50"' })

export const EvaluationSchema = Type.Object(
  {
    ruleSetHash: Type.String(),
    priceBookHash: Type.String(),
    priceBook: Type.Object({ id: Type.String(), name: Type.String() }),
    currency: Type.String(),
    date: Type.String(),
    channel: Type.String(),
    valid: Type.Boolean({ description: 'False when configuration rules found errors' }),
    configuration: Type.Object({ errors: Type.Array(Loose), warnings: Type.Array(Loose), added: Type.Array(Loose) }),
    lines: Type.Array(Loose, { description: 'Priced lines: list, base, every adjustment with its rule, net per period, contract amount, guardrail outcome' }),
    totals: Type.Object({
      list: Money, standard: Money, discount: Money, rampUplift: Money, net: Money, oneTime: Money, annualRecurring: Money,
      cost: Type.Union([Money, Type.Null()], { description: 'Cost of the lines whose cost is known; null when none is' }),
      discountPercent: Type.Union([Type.String(), Type.Null()]),
      marginPercent: Type.Union([Type.String(), Type.Null()], { description: 'Margin over the lines whose cost is known; null when none is' }),
      costCoveragePercent: Type.Union([Type.String(), Type.Null()], { description: 'Share of the net amount made by lines whose cost is known' }),
    }),
    guardrails: Type.Object({ outcome: Type.Union([Type.Literal('allowed'), Type.Literal('needs_approval'), Type.Literal('blocked')]), breaches: Type.Array(Loose) }),
    approvals: Type.Object({ required: Type.Boolean(), steps: Type.Array(Loose) }),
    recommendations: Type.Array(Loose),
    trace: Type.Optional(Type.Array(Loose, { description: 'Per rule: fired or not, the facts it saw, the first failed condition' })),
    whatIf: Type.Boolean({ description: 'True when priced as of a past date (pricing analysts and finance only): an exploration, not an offer' }),
    evaluationMs: Type.Number({ description: 'Time spent evaluating, for information; not part of the deterministic result' }),
    decisionId: Type.Union([Type.String(), Type.Null()], { description: 'Id of the recorded decision when record was true' }),
  },
  { $id: 'Evaluation' },
)

export const evaluationRoutes: FastifyPluginAsyncTypebox<{ deps: EvaluationDeps; maxCartLines: number; cartBodyLimit: number }> = async (app, { deps, maxCartLines, cartBodyLimit }) => {
  const Cart = cartSchema(maxCartLines)
  app.post('/v1/quotes/evaluate', {
    // Pricing analysts evaluate too: as of a past date, for what-if and audit (see evaluation.service.ts).
    config: { roles: [...SELLING_ROLES, 'pricing_analyst'], maxCartLines },
    bodyLimit: cartBodyLimit,
    schema: {
      tags: ['evaluation'],
      summary: 'Price a cart: configuration, prices with every adjustment explained, guardrails, approvals, recommendations, trace',
      headers: IdempotencyHeaders,
      querystring: Type.Object({
        trace: Type.Union([Type.Literal('none'), Type.Literal('fired'), Type.Literal('full')], { default: 'fired' }),
      }, { additionalProperties: false }),
      body: Type.Composite([
        Type.Omit(Cart, ['date']),
        Type.Object({
          date: Type.Optional(Type.Index(Cart, ['date'], { description: 'Pricing date; default today. A past date is a what-if, for pricing analysts and finance only' })),
          record: Type.Optional(Type.Boolean({ description: 'Append this evaluation to the decision log' })),
        }),
      ], { additionalProperties: false }),
      response: { 200: Type.Ref('Evaluation'), 201: Type.Ref('Evaluation'), ...problemResponses(403, 409, 422, 503) },
    },
    // The response schema documents the answer; its many open objects (lines, trace) make
    // fast-json-stringify slower than plain JSON.stringify on large carts (measured: 10,000
    // lines, 8 MB, about twice as fast), and the rendered evaluation holds JSON values only.
    serializerCompiler: () => (data) => JSON.stringify(data),
  }, async (request, reply) => {
    const { record, ...cart } = request.body
    if (request.query.trace === 'full' && cart.lines.length > MAX_FULL_TRACE_LINES) {
      // A full trace lists every rule for every line: bounded, or one request could ask for gigabytes.
      throw new AppError('VALIDATION_FAILED', `trace=full is limited to carts of ${MAX_FULL_TRACE_LINES} lines; use trace=fired.`, {
        errors: [{ pointer: '/trace', in: 'querystring', detail: `at most ${MAX_FULL_TRACE_LINES} lines with trace=full` }],
      })
    }
    const stored = await evaluateCart(deps, principalOf(request), cart, { trace: request.query.trace, record: record ?? false }, record ? idempotencyOf(request) : null)
    return sendStored(reply, stored)
  })

  app.get('/v1/decisions/:id/replay', {
    config: { roles: ['finance', 'pricing_analyst', 'deal_desk', 'admin'] },
    schema: {
      tags: ['evaluation'],
      summary: 'Re-evaluate a recorded decision with the rule set and price books it used; identical must be true',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      response: { 200: Type.Object({ identical: Type.Boolean(), original: Loose, replayed: Loose }), ...problemResponses(403, 404) },
    },
  }, async (request) => replayDecision(deps, request.params.id))
}

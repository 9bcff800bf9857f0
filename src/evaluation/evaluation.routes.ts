import { Type, type ObjectOptions, type TProperties, type TSchema } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../errors.js'
import { principalOf } from '../http/auth.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { problemResponses } from '../http/problem.js'
import { SELLING_ROLES } from '../principals/roles.js'
import { cartSchema } from './cart.schema.js'
import { evaluateCart, replayDecision, type EvaluationDeps } from './evaluation.service.js'

export const MAX_FULL_TRACE_LINES = 500
const DEFAULT_TRACE = 'fired'
const Money = Type.String({ description: 'Decimal amount in the cart currency, e.g. "1234.50"' })
const Percent = Type.String({ description: 'Percent with two decimals, e.g. "12.50"' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const Outcome = Type.Union([Type.Literal('allowed'), Type.Literal('needs_approval'), Type.Literal('blocked')])
/**
 * Every object of an evaluation stays open (additionalProperties: true): evaluations are
 * stored in quote revisions and decisions, and a field a newer version adds (or an older
 * stored one has) must reach the client rather than be dropped by the serializer.
 */
const Open = <T extends TProperties>(properties: T, options: ObjectOptions = {}) => Type.Object(properties, { ...options, additionalProperties: true })

const Issue = Open({
  code: Type.String(),
  message: Type.String(),
  ruleId: Type.Optional(Type.String()),
  line: Type.Optional(Type.Integer({ description: 'Index into the evaluated lines' })),
})
const Breach = Open({
  ruleId: Nullable(Type.String()),
  metric: Nullable(Type.String()),
  min: Type.Optional(Type.String()),
  max: Type.Optional(Type.String()),
  actual: Type.Optional(Type.String()),
  outcome: Outcome,
  reason: Type.String(),
})
const Reason = Open({ ruleId: Nullable(Type.String()), reason: Type.String() })
const EvaluatedLine = Open(
  {
    index: Type.Integer(),
    sku: Type.String(),
    name: Type.String(),
    family: Type.String(),
    category: Type.String(),
    type: Type.Union([Type.Literal('one_time'), Type.Literal('recurring'), Type.Literal('usage')]),
    unit: Type.String(),
    billingPeriod: Nullable(Type.String()),
    source: Type.Union([Type.Literal('cart'), Type.Literal('option'), Type.Literal('rule')]),
    cartIndex: Nullable(Type.Integer({ description: "Position in the request's lines; null for lines added by rules" })),
    parentIndex: Nullable(Type.Integer()),
    addedBy: Nullable(Type.String()),
    quantity: Type.Number(),
    termMonths: Nullable(Type.Integer()),
    startDate: Type.String(),
    periods: Type.Integer({ description: 'Billing periods over the term (1 for one-time lines)' }),
    listUnitPrice: Money,
    listAmount: Money,
    baseAmount: Money,
    adjustments: Type.Array(
      Open({
        ruleId: Nullable(Type.String({ description: "Null for the price book's own tiers and the manual discount" })),
        kind: Type.String({ description: 'book_tier, tier, set, percent, amount or manual' }),
        label: Type.String(),
        amount: Type.String({ description: 'Signed change of the line amount per billing period (negative = cheaper)' }),
        percent: Type.Optional(Type.String()),
        promoCode: Type.Optional(Type.String()),
        group: Type.Optional(Type.String()),
      }),
    ),
    suppressed: Type.Array(Open({ ruleId: Type.String(), reason: Type.String() })),
    netUnitPrice: Money,
    netAmount: Money,
    contractAmount: Money,
    ramp: Nullable(Type.Array(Open({ year: Type.Integer(), periods: Type.Integer(), amountPerPeriod: Money, amount: Money }))),
    cost: Nullable(Money),
    discountPercent: Nullable(Percent),
    marginPercent: Nullable(Percent),
    guardrail: Open({ outcome: Outcome, breaches: Type.Array(Breach) }),
  },
  { description: 'A priced line: list, base, every adjustment with its rule, net per period, contract amount, guardrail outcome' },
)
const TraceEntry = Open(
  {
    stage: Type.String({ description: 'The rule set: configuration, pricing, guardrails, approvals, recommendations…' }),
    ruleId: Type.String(),
    line: Type.Optional(Type.Integer()),
    fired: Type.Boolean({ description: "The rule's conditions held" }),
    applied: Type.Optional(Type.Boolean({ description: 'For a rule that fired: whether its event changed the result' })),
    reason: Type.Optional(Type.String({ description: 'Why a rule that fired did not apply (suppressed, within limits, already met…)' })),
    facts: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The facts the rule saw' })),
    failed: Type.Optional(
      Open(
        { fact: Type.String(), path: Type.Optional(Type.String()), operator: Type.String(), value: Type.Unknown(), actual: Type.Unknown() },
        { description: 'The first condition that failed' },
      ),
    ),
  },
  { description: 'Per rule: fired or not, the facts it saw, the first failed condition' },
)

const evaluationFields = {
  ruleSetHash: Type.String(),
  priceBookHash: Type.String(),
  priceBook: Open({ id: Type.String(), name: Type.String() }),
  currency: Type.String(),
  date: Type.String(),
  channel: Type.String(),
  valid: Type.Boolean({ description: 'False when configuration rules found errors' }),
  configuration: Open({
    errors: Type.Array(Issue),
    warnings: Type.Array(Issue),
    added: Type.Array(Open({ sku: Type.String(), quantity: Type.Number(), ruleId: Type.String(), reason: Type.String() })),
  }),
  lines: Type.Array(EvaluatedLine),
  totals: Open({
    list: Money,
    standard: Money,
    discount: Money,
    rampUplift: Money,
    net: Money,
    oneTime: Money,
    annualRecurring: Money,
    cost: Nullable(Type.String({ description: 'Cost of the lines whose cost is known; null when none is' })),
    discountPercent: Nullable(Percent),
    marginPercent: Nullable(Type.String({ description: 'Margin over the lines whose cost is known; null when none is' })),
    costCoveragePercent: Nullable(Type.String({ description: 'Share of the net amount made by lines whose cost is known' })),
  }),
  guardrails: Open({ outcome: Outcome, breaches: Type.Array(Breach) }),
  approvals: Open({
    required: Type.Boolean(),
    steps: Type.Array(
      Open({
        level: Type.Integer(),
        role: Type.String(),
        mode: Type.Union([Type.Literal('all'), Type.Literal('any')]),
        reasons: Type.Array(Reason),
        upTo: Type.Record(Type.String(), Type.String(), { description: "Authority ceilings per quote fact, from the rules' upTo" }),
      }),
    ),
  }),
  recommendations: Type.Array(
    Open({
      sku: Type.String(),
      name: Type.String(),
      quantity: Type.Number(),
      kind: Type.Union([Type.Literal('cross_sell'), Type.Literal('upsell')]),
      ruleId: Type.String(),
      reason: Type.String(),
      listUnitPrice: Money,
    }),
  ),
  trace: Type.Optional(Type.Array(TraceEntry, { description: 'Absent with trace=none' })),
}

/** An evaluation as recorded: the output of a decision, the pricing of a quote revision. */
export const StoredEvaluationSchema = Open(evaluationFields, { $id: 'StoredEvaluation' })

export const EvaluationSchema = Open(
  {
    ...evaluationFields,
    whatIf: Type.Boolean({ description: 'True when priced as of a past date (pricing analysts and finance only): an exploration, not an offer' }),
    evaluationMs: Type.Number({ description: 'Time spent evaluating, for information; not part of the deterministic result' }),
    decisionId: Type.Union([Type.String(), Type.Null()], { description: 'Id of the recorded decision when record was true' }),
  },
  { $id: 'Evaluation' },
)

/**
 * Serializer of the routes whose answer holds an evaluation (evaluate, replay, quotes): the
 * response schema documents the answer, but its many open objects (lines, trace) make
 * fast-json-stringify slower than plain JSON.stringify on large carts (measured: 10,000 lines,
 * 8 MB, about twice as fast; a 3,000-line quote, six times), and an evaluation holds JSON
 * values only. test/openapi.test.ts checks the answers against the schemas instead.
 */
export const serializeAsJson = () => (data: unknown) => JSON.stringify(data)

export const evaluationRoutes: FastifyPluginAsyncTypebox<{ deps: EvaluationDeps; maxCartLines: number; cartBodyLimit: number }> = async (
  app,
  { deps, maxCartLines, cartBodyLimit },
) => {
  const Cart = cartSchema(maxCartLines)
  app.post(
    '/v1/quotes/evaluate',
    {
      // Pricing analysts evaluate too: as of a past date, for what-if and audit (see evaluation.service.ts).
      config: { roles: [...SELLING_ROLES, 'pricing_analyst'], maxCartLines },
      bodyLimit: cartBodyLimit,
      schema: {
        tags: ['evaluation'],
        summary: 'Price a cart: configuration, prices with every adjustment explained, guardrails, approvals, recommendations, trace',
        headers: IdempotencyHeaders,
        querystring: Type.Object(
          {
            trace: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('fired'), Type.Literal('full')], { default: DEFAULT_TRACE })),
          },
          { additionalProperties: false },
        ),
        body: Type.Composite(
          [
            Type.Omit(Cart, ['date']),
            Type.Object({
              date: Type.Optional(
                Type.Index(Cart, ['date'], { description: 'Pricing date; default today. A past date is a what-if, for pricing analysts and finance only' }),
              ),
              record: Type.Optional(Type.Boolean({ description: 'Append this evaluation to the decision log' })),
            }),
          ],
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Evaluation'), 201: Type.Ref('Evaluation'), ...problemResponses(403, 409, 422, 503) },
      },
      serializerCompiler: serializeAsJson,
    },
    async (request, reply) => {
      const { record, ...cart } = request.body
      const { trace = DEFAULT_TRACE } = request.query
      if (trace === 'full' && cart.lines.length > MAX_FULL_TRACE_LINES) {
        // A full trace lists every rule for every line: bounded, or one request could ask for gigabytes.
        throw new AppError('VALIDATION_FAILED', `trace=full is limited to carts of ${MAX_FULL_TRACE_LINES} lines; use trace=fired.`, {
          errors: [{ pointer: '/trace', in: 'querystring', detail: `at most ${MAX_FULL_TRACE_LINES} lines with trace=full` }],
        })
      }
      const stored = await evaluateCart(deps, principalOf(request), cart, { trace, record: record ?? false }, record ? idempotencyOf(request) : null)
      return sendStored(reply, stored)
    },
  )

  app.get(
    '/v1/decisions/:id/replay',
    {
      config: { roles: ['finance', 'pricing_analyst', 'deal_desk', 'admin'] },
      schema: {
        tags: ['evaluation'],
        summary: 'Re-evaluate a recorded decision with the rule set and price books it used; identical must be true',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({ identical: Type.Boolean(), original: Type.Ref('StoredEvaluation'), replayed: Type.Ref('StoredEvaluation') }),
          ...problemResponses(403, 404),
        },
      },
      serializerCompiler: serializeAsJson,
    },
    async (request) => replayDecision(deps, request.params.id),
  )
}

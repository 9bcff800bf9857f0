import { Type, type StaticDecode, type TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { BigIntString, MoneyJson } from '../money/money-value.js'
import type { RuleSetName } from '../rules/rule-file.schema.js'

/**
 * The evaluation snapshot, version 1: the domain result of evaluating a cart, as quote
 * revisions and decision records store it, approvals bind to it, and orders and invoices will
 * copy it. Amounts are `Money` (minor units with their currency), percentages exact hundredths,
 * never decimal strings; render.ts turns a snapshot into API JSON at the edge.
 *
 * The TypeBox schema below is the single source of both the TypeScript types (decoded: bigint
 * and Money) and the stored JSON form (encoded: decimal strings), so what is written is checked
 * on the way in and on the way out. A change of shape is a new version with a migration of the
 * stored rows.
 */
export const SNAPSHOT_VERSION = 1

export type TraceLevel = 'none' | 'fired' | 'full'

const Outcome = Type.Union([Type.Literal('allowed'), Type.Literal('needs_approval'), Type.Literal('blocked')])
export type GuardrailOutcome = StaticDecode<typeof Outcome>
/** How bad an outcome is: the one ordering guardrails, approvals and the rule of "worse" share. */
export const OUTCOME_RANK: Readonly<Record<GuardrailOutcome, number>> = { allowed: 0, needs_approval: 1, blocked: 2 }

export function worst(a: GuardrailOutcome, b: GuardrailOutcome): GuardrailOutcome {
  return OUTCOME_RANK[a] >= OUTCOME_RANK[b] ? a : b
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const Int = Type.Integer()

const AdjustmentSchema = Type.Object({
  /** The rule that made it; null for the price book's own tiers and the rep's manual discount. */
  ruleId: Nullable(Type.String()),
  kind: Type.Union([
    Type.Literal('book_tier'),
    Type.Literal('tier'),
    Type.Literal('set'),
    Type.Literal('percent'),
    Type.Literal('amount'),
    Type.Literal('manual'),
  ]),
  label: Type.String(),
  percent: Type.Optional(Type.String()),
  promoCode: Type.Optional(Type.String()),
  group: Type.Optional(Type.String()),
  /** Signed change of the line amount per billing period (negative = cheaper). */
  amount: MoneyJson,
})

const SuppressedSchema = Type.Object({ ruleId: Type.String(), reason: Type.String() })

const BreachSchema = Type.Object({
  ruleId: Nullable(Type.String()),
  metric: Nullable(Type.String()),
  min: Type.Optional(Type.String()),
  max: Type.Optional(Type.String()),
  actual: Type.Optional(Type.String()),
  outcome: Outcome,
  reason: Type.String(),
})

const RampYearSchema = Type.Object({
  /** Contract year, 1-based. */
  year: Int,
  /** Billing periods in this year (the last year of an 18-month term has 6 monthly periods). */
  periods: Int,
  amountPerPeriod: MoneyJson,
  amount: MoneyJson,
})

const PricedLineSchema = Type.Object({
  index: Int,
  sku: Type.String(),
  name: Type.String(),
  family: Type.String(),
  category: Type.String(),
  type: Type.Union([Type.Literal('one_time'), Type.Literal('recurring'), Type.Literal('usage')]),
  unit: Type.String(),
  billingPeriod: Nullable(Type.String()),
  source: Type.Union([Type.Literal('cart'), Type.Literal('option'), Type.Literal('rule')]),
  /** Position in the request's `lines` for cart lines and options; null for lines added by rules. */
  cartIndex: Nullable(Int),
  parentIndex: Nullable(Int),
  addedBy: Nullable(Type.String()),
  quantity: Type.Number(),
  /** The quantity in thousandths, exact (services are sold in fractions of a day). */
  qtyMilli: BigIntString,
  termMonths: Nullable(Int),
  startDate: Type.String(),
  /** Billing periods over the term (1 for one-time lines). */
  periods: Int,
  listUnitPrice: MoneyJson,
  unitCost: Nullable(MoneyJson),
  /** Per billing period: list × quantity. */
  listAmount: MoneyJson,
  /** Per billing period: after the base price (tiers, price.set), before discounts. */
  baseAmount: MoneyJson,
  /** Per billing period, first year: after every adjustment and the manual discount. */
  netAmount: MoneyJson,
  /** Net per unit and billing period, `units × 10^-decimals` of the major unit, with just enough decimals to give back netAmount (pricing.ts). */
  netUnitPrice: Type.Object({ units: BigIntString, decimals: Int }),
  /** Over the whole term, including ramp uplifts. */
  contractAmount: MoneyJson,
  cost: Nullable(MoneyJson),
  adjustments: Type.Array(AdjustmentSchema),
  suppressed: Type.Array(SuppressedSchema),
  ramp: Nullable(Type.Array(RampYearSchema)),
  /**
   * Percentages in hundredths, rounded half-even once (pricing.ts): the discount off the
   * standard (base) price, everything off list, and the margin over cost (null without cost
   * or for a free line).
   */
  discountHundredths: BigIntString,
  offListHundredths: BigIntString,
  marginHundredths: Nullable(BigIntString),
  guardrail: Type.Object({ outcome: Outcome, breaches: Type.Array(BreachSchema) }),
})

const IssueSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  ruleId: Type.Optional(Type.String()),
  /** Index into the evaluated lines. */
  line: Type.Optional(Int),
})

const ApprovalStepSchema = Type.Object({
  level: Int,
  role: Type.String(),
  mode: Type.Union([Type.Literal('all'), Type.Literal('any')]),
  reasons: Type.Array(Type.Object({ ruleId: Nullable(Type.String()), reason: Type.String() })),
  /** Authority ceilings per quote fact, from the rules' `upTo` (the lowest when several rules give one). */
  upTo: Type.Record(Type.String(), Type.String()),
  /**
   * The facts the step's rules looked at (`quote.maxLineDiscountPercent` → 25): what an
   * approval of this step is bound to, whatever trace level was asked for.
   */
  facts: Type.Record(Type.String(), Type.Unknown()),
})

const RecommendationSchema = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  quantity: Type.Number(),
  kind: Type.Union([Type.Literal('cross_sell'), Type.Literal('upsell')]),
  ruleId: Type.String(),
  reason: Type.String(),
  listUnitPrice: MoneyJson,
})

const TraceEntrySchema = Type.Object({
  stage: Type.Union([
    Type.Literal('configuration'),
    Type.Literal('pricing'),
    Type.Literal('guardrails'),
    Type.Literal('approvals'),
    Type.Literal('recommendations'),
    // Invoices' tax decisions (stages/tax.ts); a quote's evaluation has none.
    Type.Literal('tax'),
  ]) satisfies TSchema,
  ruleId: Type.String(),
  line: Type.Optional(Int),
  /** The rule's conditions held (json-rules-engine's "fired"). */
  fired: Type.Boolean(),
  /**
   * For a rule that fired: whether its event changed the result. A promotion whose code was
   * not entered, an adjustment beaten by its stacking group, a guardrail within its limits or
   * a requirement the cart already meets fired but did not apply; `reason` says why.
   */
  applied: Type.Optional(Type.Boolean()),
  reason: Type.Optional(Type.String()),
  facts: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  failed: Type.Optional(
    Type.Object({ fact: Type.String(), path: Type.Optional(Type.String()), operator: Type.String(), value: Type.Unknown(), actual: Type.Unknown() }),
  ),
})

/**
 * Quote totals over the whole contract: list → standard (after volume tiers and set prices)
 * → minus discount (rules and manual) → plus ramp uplift → net. Each step is exact, so
 * net = standard − discount + rampUplift holds to the cent.
 */
const TotalsSchema = Type.Object({
  list: MoneyJson,
  standard: MoneyJson,
  discount: MoneyJson,
  rampUplift: MoneyJson,
  net: MoneyJson,
  oneTime: MoneyJson,
  annualRecurring: MoneyJson,
  /** Cost of the lines whose cost is known (null when none is). */
  cost: Nullable(MoneyJson),
  discountHundredths: BigIntString,
  /** Margin over the lines whose cost is known; null when no line has a cost. */
  marginHundredths: Nullable(BigIntString),
  /** Share of the net amount made by lines whose cost is known (what the margin covers). */
  costCoverageHundredths: Nullable(BigIntString),
})

export const EvaluationSnapshotSchema = Type.Object({
  version: Type.Literal(SNAPSHOT_VERSION),
  ruleSetHash: Type.String(),
  priceBookHash: Type.String(),
  priceBook: Type.Object({ id: Type.String(), name: Type.String() }),
  currency: Type.String(),
  date: Type.String(),
  channel: Type.String(),
  valid: Type.Boolean(),
  configuration: Type.Object({
    errors: Type.Array(IssueSchema),
    warnings: Type.Array(IssueSchema),
    added: Type.Array(Type.Object({ sku: Type.String(), quantity: Type.Number(), ruleId: Type.String(), reason: Type.String() })),
  }),
  lines: Type.Array(PricedLineSchema),
  totals: TotalsSchema,
  guardrails: Type.Object({ outcome: Outcome, breaches: Type.Array(BreachSchema) }),
  approvals: Type.Object({ required: Type.Boolean(), steps: Type.Array(ApprovalStepSchema) }),
  recommendations: Type.Array(RecommendationSchema),
  /** The explanation, at the trace level asked for (empty for `none`). */
  trace: Type.Array(TraceEntrySchema),
})

export type EvaluationSnapshot = StaticDecode<typeof EvaluationSnapshotSchema>
export type Evaluation = EvaluationSnapshot
export type PricedLine = StaticDecode<typeof PricedLineSchema>
export type Adjustment = StaticDecode<typeof AdjustmentSchema>
export type Suppressed = StaticDecode<typeof SuppressedSchema>
export type Breach = StaticDecode<typeof BreachSchema>
export type Issue = StaticDecode<typeof IssueSchema>
export type ApprovalStep = StaticDecode<typeof ApprovalStepSchema>
export type Recommendation = StaticDecode<typeof RecommendationSchema>
export type TraceEntry = StaticDecode<typeof TraceEntrySchema>
// The trace names the same stages as the rule sets: a new set without a trace stage fails to compile.
true satisfies RuleSetName extends TraceEntry['stage'] ? (TraceEntry['stage'] extends RuleSetName ? true : false) : false
export type Totals = StaticDecode<typeof TotalsSchema>
export type RampYear = StaticDecode<typeof RampYearSchema>

const snapshotCodec = TypeCompiler.Compile(EvaluationSnapshotSchema)

/** The stored JSON form of a snapshot (bigints as decimal strings); throws if the value does not match version 1. */
export function encodeSnapshot(snapshot: EvaluationSnapshot): unknown {
  return snapshotCodec.Encode(snapshot)
}

/** A snapshot read back from storage; throws naming the first mismatch if the stored JSON is not a version 1 snapshot. */
export function decodeSnapshot(json: unknown): EvaluationSnapshot {
  return snapshotCodec.Decode(json)
}

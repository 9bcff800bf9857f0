import type { RuleSetName } from '../rules/rule-file.schema.js'
import type { FailedCondition } from '../rules/rule-runner.js'
import type { RampYear } from './pricing.js'

/** The domain result of evaluating a cart. Amounts are bigint minor units; render.ts turns them into API JSON. */

export type TraceLevel = 'none' | 'fired' | 'full'
export type GuardrailOutcome = 'allowed' | 'needs_approval' | 'blocked'
export const OUTCOME_RANK: Record<GuardrailOutcome, number> = { allowed: 0, needs_approval: 1, blocked: 2 }

export function worst(a: GuardrailOutcome, b: GuardrailOutcome): GuardrailOutcome {
  return OUTCOME_RANK[a] >= OUTCOME_RANK[b] ? a : b
}

export interface Adjustment {
  /** The rule that made it; null for the price book's own tiers and the rep's manual discount. */
  ruleId: string | null
  kind: 'book_tier' | 'tier' | 'set' | 'percent' | 'amount' | 'manual'
  label: string
  percent?: string
  promoCode?: string
  group?: string
  /** Signed change of the line amount per billing period (negative = cheaper). */
  amountMinor: bigint
}

export interface Suppressed {
  ruleId: string
  reason: string
}

export interface Breach {
  ruleId: string | null
  metric: string | null
  min?: string
  max?: string
  actual?: string
  outcome: GuardrailOutcome
  reason: string
}

export interface PricedLine {
  index: number
  sku: string
  name: string
  family: string
  category: string
  type: 'one_time' | 'recurring' | 'usage'
  unit: string
  billingPeriod: string | null
  source: 'cart' | 'option' | 'rule'
  /** Position in the request's `lines` for cart lines and options; null for lines added by rules. */
  cartIndex: number | null
  parentIndex: number | null
  addedBy: string | null
  quantity: number
  qtyMilli: bigint
  termMonths: number | null
  startDate: string
  /** Billing periods over the term (1 for one-time lines). */
  periods: number
  listUnitMinor: bigint
  unitCostMinor: bigint | null
  /** Per billing period: list × quantity. */
  listAmountMinor: bigint
  /** Per billing period: after the base price (tiers, price.set), before discounts. */
  baseAmountMinor: bigint
  /** Per billing period, first year: after every adjustment and the manual discount. */
  netAmountMinor: bigint
  /** Net per unit and billing period, with just enough decimals to give back netAmount (see pricing.ts). */
  netUnitPrice: { units: bigint; decimals: number }
  /** Over the whole term, including ramp uplifts. */
  contractAmountMinor: bigint
  costAmountMinor: bigint | null
  adjustments: Adjustment[]
  suppressed: Suppressed[]
  ramp: RampYear[] | null
  /**
   * Percentages in hundredths, rounded half-even once (pricing.ts): the discount off the
   * standard (base) price, everything off list, and the margin over cost (null without cost
   * or for a free line).
   */
  discountHundredths: bigint
  offListHundredths: bigint
  marginHundredths: bigint | null
  guardrail: { outcome: GuardrailOutcome; breaches: Breach[] }
}

export interface Issue {
  code: string
  message: string
  ruleId?: string
  /** Index into the evaluated lines. */
  line?: number
}

export interface ApprovalStep {
  level: number
  role: string
  mode: 'all' | 'any'
  reasons: Array<{ ruleId: string | null; reason: string }>
  /** Authority ceilings per quote fact, from the rules' `upTo` (the lowest when several rules give one). */
  upTo: Record<string, string>
}

export interface Recommendation {
  sku: string
  name: string
  quantity: number
  kind: 'cross_sell' | 'upsell'
  ruleId: string
  reason: string
  listUnitMinor: bigint
}

export interface TraceEntry {
  stage: RuleSetName
  ruleId: string
  line?: number
  /** The rule's conditions held (json-rules-engine's "fired"). */
  fired: boolean
  /**
   * For a rule that fired: whether its event changed the result. A promotion whose code was
   * not entered, an adjustment beaten by its stacking group, a guardrail within its limits or
   * a requirement the cart already meets fired but did not apply; `reason` says why.
   */
  applied?: boolean
  reason?: string
  facts?: Record<string, unknown>
  failed?: FailedCondition
}

/**
 * Quote totals over the whole contract: list → standard (after volume tiers and set prices)
 * → minus discount (rules and manual) → plus ramp uplift → net. Each step is exact, so
 * net = standard − discount + rampUplift holds to the cent.
 */
export interface Totals {
  listMinor: bigint
  standardMinor: bigint
  discountMinor: bigint
  rampUpliftMinor: bigint
  netMinor: bigint
  oneTimeMinor: bigint
  annualRecurringMinor: bigint
  /** Cost of the lines whose cost is known (null when none is). */
  costMinor: bigint | null
  discountHundredths: bigint
  /** Margin over the lines whose cost is known, in hundredths of a percent; null when no line has a cost. */
  marginHundredths: bigint | null
  /** Share of the net amount made by lines whose cost is known (what the margin covers), in hundredths. */
  costCoverageHundredths: bigint | null
}

export interface Evaluation {
  ruleSetHash: string
  priceBookHash: string
  priceBook: { id: string; name: string }
  currency: string
  date: string
  channel: string
  valid: boolean
  configuration: { errors: Issue[]; warnings: Issue[]; added: Array<{ sku: string; quantity: number; ruleId: string; reason: string }> }
  lines: PricedLine[]
  totals: Totals
  guardrails: { outcome: GuardrailOutcome; breaches: Breach[] }
  approvals: { required: boolean; steps: ApprovalStep[] }
  recommendations: Recommendation[]
  trace: TraceEntry[]
}

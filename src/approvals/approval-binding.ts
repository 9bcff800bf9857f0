import { canonicalJson, contentHash } from '../shared/hash.js'
import { OUTCOME_RANK, type ApprovalStep as RequiredStep, type EvaluationSnapshot, type GuardrailOutcome } from '../evaluation/evaluation.js'
import { formatMoney } from '../money/money-value.js'
import { formatScaled } from '../money/money.js'
import { formatPercent } from '../evaluation/pricing.js'

/**
 * What an approval is bound to. An approver approves a priced revision; if the quote is
 * revised, the approval carries over only when nothing it approved got worse.
 *
 * The rule of "worse", precisely:
 * - A step is bound to the facts its approval rules looked at when it was requested (the
 *   evaluation snapshot records them per step, e.g. `quote.maxLineDiscountPercent: 25`,
 *   whatever trace level was asked for), plus the step's
 *   authority ceilings (`upTo` on the rule).
 * - A step whose rules now include one that did not ask for it when it was approved is
 *   requested again ("newly required by appr.public-sector-large-eur"): that reason was
 *   never reviewed.
 * - For a revision, the same step (same level and role) is compared fact by fact:
 *   - discount, totals, payment terms, term length, line count: higher is worse;
 *   - margin: lower is worse;
 *   - guardrail outcome: allowed < needs_approval < blocked;
 *   - any other fact (currency, segment…): any change is worse.
 * - A ceiling caps both values first: a manager whose authority ends at 20 % approved "more
 *   than my 20 %" at 25 %, and still has at 28 %; the deal desk, whose ceiling is 30 %, must
 *   look again.
 * - Anything worse re-requests the step with the reason ("the largest line discount rose
 *   from 25 % to 28 %"); a step the revision newly needs is requested as new; a step it no
 *   longer needs is dropped.
 */

export interface BoundFacts {
  facts: Record<string, unknown>
  upTo: Record<string, string>
}

const HIGHER_IS_WORSE = new Set([
  'quote.maxLineDiscountPercent',
  'quote.discountPercent',
  'quote.netTotal',
  'quote.listTotal',
  'quote.oneTimeTotal',
  'quote.annualRecurringTotal',
  'quote.paymentTermsDays',
  'quote.maxTermMonths',
  'quote.lineCount',
])
const LOWER_IS_WORSE = new Set(['quote.minLineMarginPercent'])

const LABELS: Record<string, [string, string]> = {
  'quote.maxLineDiscountPercent': ['the largest line discount', ' %'],
  'quote.discountPercent': ['the quote discount', ' %'],
  'quote.minLineMarginPercent': ['the lowest line margin', ' %'],
  'quote.paymentTermsDays': ['payment terms', ' days'],
  'quote.maxTermMonths': ['the longest term', ' months'],
  'quote.netTotal': ['the contract value', ''],
  'quote.guardrailOutcome': ['the guardrail outcome', ''],
}

/** The facts a required step is bound to: those its rules' conditions looked at, and its ceilings. */
export function boundFactsOf(step: RequiredStep): BoundFacts {
  return { facts: { ...step.facts }, upTo: { ...step.upTo } }
}

const rankOf = (outcome: unknown) =>
  Object.hasOwn(OUTCOME_RANK, String(outcome)) ? OUTCOME_RANK[outcome as GuardrailOutcome] : Object.keys(OUTCOME_RANK).length

function capped(value: number, ceiling: string | undefined): number {
  return ceiling === undefined ? value : Math.min(value, Number(ceiling))
}

/** Why `current` is worse than what was approved, or null when the approval still holds. */
export function worsening(approved: BoundFacts, current: BoundFacts, evaluation?: EvaluationSnapshot): string | null {
  const reasons: string[] = []
  for (const [key, was] of Object.entries(approved.facts)) {
    const now = key in current.facts ? current.facts[key] : undefined
    const [label, unit] = LABELS[key] ?? [key, '']
    if (HIGHER_IS_WORSE.has(key) || LOWER_IS_WORSE.has(key)) {
      if (typeof was !== 'number' || typeof now !== 'number') {
        if (canonicalJson(was ?? null) !== canonicalJson(now ?? null)) reasons.push(`${label} changed from ${String(was)} to ${String(now)}`)
        continue
      }
      const ceiling = approved.upTo[key]
      const a = capped(was, ceiling)
      const b = capped(now, ceiling)
      if (HIGHER_IS_WORSE.has(key) ? b > a : b < a) {
        reasons.push(
          `${label} ${b > a ? 'rose' : 'fell'} from ${was}${unit} to ${now}${unit}${key === 'quote.maxLineDiscountPercent' && evaluation ? whereMaxDiscount(evaluation) : ''}`,
        )
      }
    } else if (key === 'quote.guardrailOutcome') {
      if (rankOf(now) > rankOf(was)) reasons.push(`${label} went from ${String(was)} to ${String(now)}`)
    } else if (canonicalJson(was ?? null) !== canonicalJson(now ?? null)) {
      reasons.push(`${label} changed from ${JSON.stringify(was)} to ${JSON.stringify(now)}`)
    }
  }
  return reasons.length > 0 ? reasons.join('; ') : null
}

function whereMaxDiscount(evaluation: EvaluationSnapshot): string {
  let best: EvaluationSnapshot['lines'][number] | undefined
  for (const line of evaluation.lines) if (!best || line.discountHundredths > best.discountHundredths) best = line
  return best ? ` (line ${best.index + 1}, ${best.sku})` : ''
}

/**
 * What the approvers see and approve: skus, quantities, net prices, discounts, terms and
 * totals, written as the API shows them, so its SHA-256 is evidence a person can recompute.
 */
export function fingerprintOf(evaluation: EvaluationSnapshot, paymentTermsDays: number) {
  return {
    currency: evaluation.currency,
    paymentTermsDays,
    lines: evaluation.lines.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      termMonths: l.termMonths,
      netUnitPrice: formatScaled(l.netUnitPrice.units, l.netUnitPrice.decimals),
      netAmount: formatMoney(l.netAmount),
      discountPercent: formatPercent(l.discountHundredths),
    })),
    totals: { net: formatMoney(evaluation.totals.net), discountPercent: formatPercent(evaluation.totals.discountHundredths) },
  }
}

export function fingerprintHash(fingerprint: ReturnType<typeof fingerprintOf>): string {
  return contentHash(fingerprint)
}

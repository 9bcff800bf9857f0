import { canonicalJson, contentHash } from '../shared/hash.js'
import type { RenderedEvaluation } from '../evaluation/render.js'

/**
 * What an approval is bound to. An approver approves a priced revision; if the quote is
 * revised, the approval carries over only when nothing it approved got worse.
 *
 * The rule of "worse", precisely:
 * - A step is bound to the facts its approval rules looked at when it was requested (from
 *   the evaluation trace, e.g. `quote.maxLineDiscountPercent: 25`), plus the step's
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
  'quote.maxLineDiscountPercent', 'quote.discountPercent', 'quote.netTotal', 'quote.listTotal', 'quote.oneTimeTotal',
  'quote.annualRecurringTotal', 'quote.paymentTermsDays', 'quote.maxTermMonths', 'quote.lineCount',
])
const LOWER_IS_WORSE = new Set(['quote.minLineMarginPercent'])
const OUTCOME_RANK: Record<string, number> = { allowed: 0, needs_approval: 1, blocked: 2 }

const LABELS: Record<string, [string, string]> = {
  'quote.maxLineDiscountPercent': ['the largest line discount', ' %'],
  'quote.discountPercent': ['the quote discount', ' %'],
  'quote.minLineMarginPercent': ['the lowest line margin', ' %'],
  'quote.paymentTermsDays': ['payment terms', ' days'],
  'quote.maxTermMonths': ['the longest term', ' months'],
  'quote.netTotal': ['the contract value', ''],
  'quote.guardrailOutcome': ['the guardrail outcome', ''],
}

/** The facts a step of an evaluation is bound to: those its rules' conditions looked at. */
export function boundFactsOf(evaluation: RenderedEvaluation, step: RenderedEvaluation['approvals']['steps'][number]): BoundFacts {
  const facts: Record<string, unknown> = {}
  const ruleIds = new Set(step.reasons.map((r) => r.ruleId))
  for (const entry of evaluation.trace ?? []) {
    if (entry.stage === 'approvals' && entry.fired && ruleIds.has(entry.ruleId)) Object.assign(facts, entry.facts ?? {})
  }
  // The engine's own routing (a guardrail no rule routed) is bound to the guardrail outcome.
  if (ruleIds.has(null)) facts['quote.guardrailOutcome'] = evaluation.guardrails.outcome
  return { facts, upTo: step.upTo ?? {} }
}

function capped(value: number, ceiling: string | undefined): number {
  return ceiling === undefined ? value : Math.min(value, Number(ceiling))
}

/** Why `current` is worse than what was approved, or null when the approval still holds. */
export function worsening(approved: BoundFacts, current: BoundFacts, evaluation?: RenderedEvaluation): string | null {
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
        reasons.push(`${label} ${b > a ? 'rose' : 'fell'} from ${was}${unit} to ${now}${unit}${key === 'quote.maxLineDiscountPercent' && evaluation ? whereMaxDiscount(evaluation) : ''}`)
      }
    } else if (key === 'quote.guardrailOutcome') {
      if ((OUTCOME_RANK[String(now)] ?? 3) > (OUTCOME_RANK[String(was)] ?? 3)) reasons.push(`${label} went from ${String(was)} to ${String(now)}`)
    } else if (canonicalJson(was ?? null) !== canonicalJson(now ?? null)) {
      reasons.push(`${label} changed from ${JSON.stringify(was)} to ${JSON.stringify(now)}`)
    }
  }
  return reasons.length > 0 ? reasons.join('; ') : null
}

function whereMaxDiscount(evaluation: RenderedEvaluation): string {
  let best: RenderedEvaluation['lines'][number] | undefined
  for (const line of evaluation.lines) if (!best || Number(line.discountPercent) > Number(best.discountPercent)) best = line
  return best ? ` (line ${best.index + 1}, ${best.sku})` : ''
}

/** What the approvers see and approve: skus, quantities, net prices, discounts, terms and totals. */
export function fingerprintOf(evaluation: RenderedEvaluation, paymentTermsDays: number) {
  return {
    currency: evaluation.currency,
    paymentTermsDays,
    lines: evaluation.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, termMonths: l.termMonths, netUnitPrice: l.netUnitPrice, netAmount: l.netAmount, discountPercent: l.discountPercent })),
    totals: { net: evaluation.totals.net, discountPercent: evaluation.totals.discountPercent },
  }
}

export function fingerprintHash(fingerprint: ReturnType<typeof fingerprintOf>): string {
  return contentHash(fingerprint)
}

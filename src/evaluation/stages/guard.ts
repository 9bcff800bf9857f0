import { formatScaled } from '../../money/money.js'
import type { RuleFacts } from '../../rules/rule-runner.js'
import type { LoadedRule } from '../../rules/rule.js'
import type { EventOf } from '../../rules/rule-file.schema.js'
import { notApplied, runRules, type Context, type WorkLine } from '../context.js'
import { decimalParam } from '../event-params.js'
import { dispatch, type EventHandlers } from '../event-registry.js'
import { worst, type Breach, type Evaluation, type GuardrailOutcome, type PricedLine, type Totals } from '../evaluation.js'
import { lineFacts, pricedQuoteFacts } from '../facts.js'
import { formatPercent } from '../pricing.js'
import { compareRatio } from '../rate.js'

/**
 * Stage 3, guard: guardrail rules compare a line's or the quote's figures with their limits;
 * each breach says its outcome (needs approval, blocked), the worst one is the quote's.
 */

/**
 * What a guardrail compares: a percentage in hundredths (the figure shown, see pricing.ts),
 * or the net unit price as shown (units × 10^-decimals of the currency's major unit).
 */
type Metric = { kind: 'percent'; hundredths: bigint } | { kind: 'unitPrice'; units: bigint; decimals: number }

/** What a guardrail rule is checked against: one priced line, or the quote's totals. */
type Target = { line: PricedLine } | { totals: Totals }

interface GuardArgs {
  rule: LoadedRule
  facts: RuleFacts
  target: Target
}

/** A breach, or why the rule that fired changed nothing. */
type Verdict = { breach: Breach } | { notApplied: string }

function metricOf(name: EventOf<'guardrail.limit'>['params']['metric'], target: Target): Metric | null {
  if ('line' in target) {
    const { line } = target
    if (name === 'discountPercent') return { kind: 'percent', hundredths: line.discountHundredths }
    if (name === 'marginPercent') return line.marginHundredths === null ? null : { kind: 'percent', hundredths: line.marginHundredths }
    return { kind: 'unitPrice', ...line.netUnitPrice }
  }
  const { totals } = target
  if (name === 'discountPercent') return { kind: 'percent', hundredths: totals.discountHundredths }
  if (name === 'marginPercent' && totals.marginHundredths !== null) return { kind: 'percent', hundredths: totals.marginHundredths }
  return null
}

const handlers: EventHandlers<'guardrails', [GuardArgs], Verdict> = {
  'guardrail.limit': ({ params: p }, { rule, facts, target }) => {
    // Without a metric, the rule firing is itself the breach.
    if (!p.metric) return { breach: { ruleId: rule.id, metric: null, outcome: p.outcome, reason: p.reason } }
    const metric = metricOf(p.metric, target)
    if (!metric) return { notApplied: 'the metric is unknown for this line (no cost)' }
    const bound = (name: 'min' | 'max', value: unknown) => (value === undefined ? undefined : decimalParam(rule, name, value, facts))
    const min = bound('min', p.min)
    const max = bound('max', p.max)
    // Exact, no float: the figure as shown against the bound.
    const [part, whole, actual] =
      metric.kind === 'percent'
        ? [metric.hundredths, 100n, formatPercent(metric.hundredths)]
        : [metric.units, 10n ** BigInt(metric.decimals), formatScaled(metric.units, metric.decimals)]
    const below = min !== undefined && compareRatio(part, whole, min) < 0
    const above = max !== undefined && compareRatio(part, whole, max) > 0
    if (!below && !above) return { notApplied: `within its limits (actual ${actual})` }
    return {
      breach: {
        ruleId: rule.id,
        metric: p.metric,
        ...(min !== undefined ? { min: min.text } : {}),
        ...(max !== undefined ? { max: max.text } : {}),
        actual,
        outcome: p.outcome,
        reason: p.reason,
      },
    }
  },
}

export async function guard(
  ctx: Context,
  work: WorkLine[],
  lines: PricedLine[],
  quoteBase: Record<string, unknown>,
  totals: Totals,
): Promise<Evaluation['guardrails']> {
  const quote = pricedQuoteFacts(quoteBase, lines, totals)
  for (const [i, line] of lines.entries()) {
    const facts: RuleFacts = { line: lineFacts(work[i]!, i, work, ctx.scale, line), quote, account: ctx.account }
    for (const o of await runRules(ctx, 'guardrails', 'line', facts, i)) {
      if (!o.fired) continue
      const verdict = dispatch(handlers, o.rule, { rule: o.rule, facts, target: { line } })
      if ('notApplied' in verdict) {
        notApplied(o.entry, verdict.notApplied)
        continue
      }
      line.guardrail.breaches.push(verdict.breach)
      line.guardrail.outcome = worst(line.guardrail.outcome, verdict.breach.outcome)
    }
  }
  const breaches: Breach[] = []
  const facts: RuleFacts = { quote, account: ctx.account }
  for (const o of await runRules(ctx, 'guardrails', 'quote', facts)) {
    if (!o.fired) continue
    const verdict = dispatch(handlers, o.rule, { rule: o.rule, facts, target: { totals } })
    if ('notApplied' in verdict) notApplied(o.entry, verdict.notApplied)
    else breaches.push(verdict.breach)
  }
  let outcome: GuardrailOutcome = 'allowed'
  for (const b of breaches) outcome = worst(outcome, b.outcome)
  for (const l of lines) outcome = worst(outcome, l.guardrail.outcome)
  return { outcome, breaches }
}

import type { LoadedRule } from '../../rules/rule.js'
import { compareText } from '../../shared/hash.js'
import { runRules, type Context } from '../context.js'
import { dispatch, type EventHandlers } from '../event-registry.js'
import type { ApprovalStep, GuardrailOutcome } from '../evaluation.js'
import { rateOf } from '../rate.js'

/**
 * Stage 4, route approvals: approval rules name who must approve, at which level; each step is
 * bound to the facts its rules looked at (`quote.maxLineDiscountPercent` → 25) — collected
 * whatever trace level was asked for, since an approval is bound to them.
 */

interface ApprovalArgs {
  rule: LoadedRule
  facts: Record<string, unknown> | undefined
  /** Steps by level and role: rules naming the same approver merge into one step. */
  steps: Map<string, ApprovalStep>
}

const handlers: EventHandlers<'approvals', [ApprovalArgs]> = {
  'approval.require': ({ params: p }, { rule, facts, steps }) => {
    const key = `${p.level}|${p.role}`
    const step: ApprovalStep = steps.get(key) ?? { level: p.level, role: p.role, mode: p.mode ?? 'all', reasons: [], upTo: {}, facts: {} }
    step.reasons.push({ ruleId: rule.id, reason: p.reason })
    Object.assign(step.facts, facts ?? {})
    // The step's ceiling per fact is the lowest any of its rules allows.
    for (const [fact, ceiling] of Object.entries(p.upTo ?? {})) {
      const current = step.upTo[fact]
      if (current === undefined || rateOf(ceiling).num * rateOf(current).den < rateOf(current).num * rateOf(ceiling).den) step.upTo[fact] = ceiling
    }
    steps.set(key, step)
  },
}

export async function routeApprovals(ctx: Context, quote: Record<string, unknown>, outcome: GuardrailOutcome): Promise<ApprovalStep[]> {
  const steps = new Map<string, ApprovalStep>()
  for (const o of await runRules(ctx, 'approvals', 'quote', { quote, account: ctx.account }, undefined, { withFacts: true })) {
    if (o.fired) dispatch(handlers, o.rule, { rule: o.rule, facts: o.facts, steps })
  }
  // A guardrail asked for approval but no routing rule named an approver: the deal desk decides rather than nobody.
  if (outcome === 'needs_approval' && steps.size === 0) {
    steps.set('1|deal_desk', {
      level: 1,
      role: 'deal_desk',
      mode: 'all',
      reasons: [{ ruleId: null, reason: 'A guardrail requires approval and no approval rule routed it' }],
      upTo: {},
      // The engine's own routing is bound to the guardrail outcome.
      facts: { 'quote.guardrailOutcome': outcome },
    })
  }
  return [...steps.values()].sort((a, b) => a.level - b.level || compareText(a.role, b.role))
}

import { CompiledRuleRunner } from '../../src/rules/compiled-runner.js'
import { byPriority, JsonRulesEngineRunner, RuleEvaluationError, type RuleFacts, type RuleRunner, type RunTrace } from '../../src/rules/rule-runner.js'
import type { LoadedRule } from '../../src/rules/rule-set.js'

/** A loaded rule with nothing but its conditions and priority mattering, for running a runner directly. */
export function ruleOf(id: string, conditions: unknown, extra: { priority?: number; scope?: 'line' | 'quote' } = {}): LoadedRule {
  return {
    id,
    description: `Rule ${id}`,
    owner: 'test@example.test',
    effective: { from: '2026-01-01' },
    priority: extra.priority ?? 100,
    scope: extra.scope ?? 'line',
    conditions: conditions as LoadedRule['conditions'],
    event: { type: 'guardrail.limit', params: { outcome: 'blocked', reason: 'test' } },
    set: 'guardrails',
    file: 'guardrails/test.yaml',
    pointer: '/rules/0',
  }
}

/** What a run gives, in a form both runners can be compared on: the outcomes, or the error and the rule it names. */
export type RunResult =
  | { outcomes: Array<{ id: string; fired: boolean; facts?: Record<string, unknown>; failed?: unknown }> }
  | { error: { name: string; ruleId: string; message: string } }

export async function runResult(runner: RuleRunner, facts: RuleFacts, trace: RunTrace): Promise<RunResult> {
  try {
    const outcomes = await runner.run(facts, trace)
    return {
      outcomes: outcomes.map((o) => ({
        id: o.rule.id,
        fired: o.fired,
        ...(o.facts ? { facts: o.facts } : {}),
        ...(o.failed ? { failed: o.failed } : {}),
      })),
    }
  } catch (error) {
    if (error instanceof RuleEvaluationError) return { error: { name: error.name, ruleId: error.ruleId, message: error.message } }
    throw error
  }
}

/** Both runners over the same rules (in the priority order a rule set hands them over). */
export function bothRunners(rules: LoadedRule[]): { compiled: RuleRunner; reference: RuleRunner } {
  const sorted = [...rules].sort(byPriority)
  return { compiled: new CompiledRuleRunner(sorted), reference: new JsonRulesEngineRunner(sorted) }
}

export const TRACES: RunTrace[] = ['none', 'fired', 'full']

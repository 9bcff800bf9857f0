import { CUSTOM_OPERATORS, type OperatorFn } from './facts.js'
import { byPriority, collectFacts, firstFailure, RuleEvaluationError, type EvaluatedCondition, type RuleFacts, type RuleOutcome, type RuleRunner, type RunTrace } from './rule-runner.js'
import type { LoadedRule } from './rule-set.js'

/**
 * A rule runner that compiles each condition tree once into plain synchronous closures.
 * It gives the same answers as json-rules-engine (the reference runner, checked by a
 * differential test over every analyst test cart) at a fraction of the cost: no promise
 * per condition, no deep copy of every rule's conditions on every run.
 */

type Node =
  | { fact: string; path?: string; operator: string; value: unknown; params?: Record<string, unknown> }
  | { all: Node[] }
  | { any: Node[] }
  | { not: Node }

type Facts = RuleFacts & Record<string, unknown>
type Getter = (facts: Facts) => unknown

/** json-rules-engine's operators with the same semantics, including its fact-value validators. */
const isNumeric = (v: unknown) => Number.parseFloat(v as string).toString() !== 'NaN'
const OPERATORS: Record<string, OperatorFn> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  in: (a, b) => (b as unknown[]).indexOf(a) > -1,
  notIn: (a, b) => (b as unknown[]).indexOf(a) === -1,
  contains: (a, b) => Array.isArray(a) && a.indexOf(b) > -1,
  doesNotContain: (a, b) => Array.isArray(a) && a.indexOf(b) === -1,
  lessThan: (a, b) => isNumeric(a) && (a as number) < (b as number),
  lessThanInclusive: (a, b) => isNumeric(a) && (a as number) <= (b as number),
  greaterThan: (a, b) => isNumeric(a) && (a as number) > (b as number),
  greaterThanInclusive: (a, b) => isNumeric(a) && (a as number) >= (b as number),
  ...CUSTOM_OPERATORS,
}

function getter(fact: string, path: string | undefined, params: Record<string, unknown> | undefined): Getter {
  const keys = path ? path.slice(2).split('.') : []
  const walk = (root: unknown): unknown => {
    let current = root
    for (const key of keys) {
      if (current === null || typeof current !== 'object') return undefined
      current = (current as Record<string, unknown>)[key]
    }
    return current
  }
  switch (fact) {
    case 'cartQuantity': {
      const sku = String(params?.sku)
      return (f) => walk((f.quote as { quantityBySku?: Record<string, number> }).quantityBySku?.[sku] ?? 0)
    }
    case 'categoryQuantity': {
      const category = String(params?.category)
      return (f) => walk((f.quote as { quantityByCategory?: Record<string, number> }).quantityByCategory?.[category] ?? 0)
    }
    case 'purchased': {
      const sku = String(params?.sku)
      return (f) => walk((f.account as { purchasedSkus?: string[] }).purchasedSkus?.includes(sku) ?? false)
    }
    default:
      return (f) => {
        const root = f[fact]
        if (root === undefined) throw new Error(`Undefined fact: ${fact}`)
        return walk(root)
      }
  }
}

type Fast = (facts: Facts) => boolean
type Traced = (facts: Facts) => EvaluatedCondition

function compileFast(node: Node): Fast {
  if ('all' in node) {
    const children = node.all.map(compileFast)
    return (f) => children.every((c) => c(f))
  }
  if ('any' in node) {
    const children = node.any.map(compileFast)
    return (f) => children.some((c) => c(f))
  }
  if ('not' in node) {
    const child = compileFast(node.not)
    return (f) => !child(f)
  }
  const get = getter(node.fact, node.path, node.params)
  const op = OPERATORS[node.operator]!
  const value = node.value
  return (f) => op(get(f), value)
}

/** Like compileFast, but evaluates every branch (as json-rules-engine does) and annotates the tree for the trace. */
function compileTraced(node: Node): Traced {
  if ('all' in node || 'any' in node) {
    const isAll = 'all' in node
    const children = (isAll ? node.all : node.any).map(compileTraced)
    return (f) => {
      const evaluated = children.map((c) => c(f))
      const result = isAll ? evaluated.every((e) => e.result) : evaluated.some((e) => e.result)
      return isAll ? { all: evaluated, result } : { any: evaluated, result }
    }
  }
  if ('not' in node) {
    const child = compileTraced(node.not)
    return (f) => {
      const evaluated = child(f)
      return { not: evaluated, result: !evaluated.result }
    }
  }
  const get = getter(node.fact, node.path, node.params)
  const op = OPERATORS[node.operator]!
  const { fact, path, operator, value, params } = node
  return (f) => {
    const factResult = get(f)
    return { fact, ...(path ? { path } : {}), operator, value, ...(params ? { params } : {}), factResult, result: op(factResult, value) }
  }
}

interface CompiledRule {
  rule: LoadedRule
  fast: Fast
  traced: Traced
}

export class CompiledRuleRunner implements RuleRunner {
  private readonly compiled: CompiledRule[]

  constructor(rules: LoadedRule[]) {
    this.compiled = [...rules].sort(byPriority).map((rule) => {
      const node = rule.conditions as Node
      return { rule, fast: compileFast(node), traced: compileTraced(node) }
    })
  }

  async run(facts: RuleFacts, trace: RunTrace): Promise<RuleOutcome[]> {
    const f = facts as Facts
    const outcomes: RuleOutcome[] = []
    for (let i = 0; i < this.compiled.length; i++) {
      const { rule, fast, traced } = this.compiled[i]!
      try {
        // Without a full trace, a rule that did not fire costs one fast check and nothing else.
        const fired = trace === 'full' ? true : fast(f)
        if (!fired) continue
        if (trace === 'none') {
          outcomes.push({ rule, fired })
          continue
        }
        const evaluated = traced(f)
        const seen: Record<string, unknown> = {}
        collectFacts(evaluated, seen)
        const outcome: RuleOutcome = { rule, fired: evaluated.result === true, facts: seen }
        if (!outcome.fired) {
          const failed = firstFailure(evaluated)
          if (failed) outcome.failed = failed
        }
        outcomes.push(outcome)
      } catch (error) {
        throw new RuleEvaluationError(rule.id, error instanceof Error ? error.message : String(error))
      }
    }
    return outcomes
  }
}

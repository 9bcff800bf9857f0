import { Engine, type RuleResult } from 'json-rules-engine'
import { compareText } from '../shared/hash.js'
import { CUSTOM_OPERATORS, DYNAMIC_FACTS, isFactReference } from './facts.js'
import type { LoadedRule } from './rule.js'

/**
 * The one small interface between QTC and whatever runs rule conditions: rules and facts
 * in, which rules fired (and why the others did not) out. json-rules-engine is the
 * reference implementation; a compiled evaluator can sit beside it behind this interface.
 */
export interface RuleRunner {
  /**
   * Runs every rule on the facts, in priority order. `none`: the rules that fired; `fired`:
   * the same with the facts each looked at; `full`: every rule, and for those that did not
   * fire, the first condition that failed.
   */
  run(facts: RuleFacts, trace: RunTrace): Promise<RuleOutcome[]>
}

export type RunTrace = 'none' | 'fired' | 'full'

export interface RuleFacts {
  line?: Record<string, unknown>
  quote: Record<string, unknown>
  account: Record<string, unknown>
  /** Tax rules only: the seller legal entity and the invoice (facts.ts, TAX_FACTS). */
  seller?: Record<string, unknown>
  invoice?: Record<string, unknown>
}

export interface FailedCondition {
  fact: string
  path?: string
  operator: string
  value: unknown
  /** What the fact held when the condition was tested. */
  actual: unknown
  /** What the compared fact held, when `value` names a fact (`{ fact, path }`). */
  compared?: unknown
}

export interface RuleOutcome {
  rule: LoadedRule
  fired: boolean
  /** Fact values the rule's conditions looked at (`line.sku` → "GW-200"), when traced. */
  facts?: Record<string, unknown>
  /** The first condition that failed, when traced and not fired. */
  failed?: FailedCondition
}

/** An exception inside one rule (bad json-logic, an operator on the wrong type…), naming it. */
export class RuleEvaluationError extends Error {
  override name = 'RuleEvaluationError'
  constructor(
    readonly ruleId: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Paths are checked at load time to be plain `$.a.b` property chains, so walking them
 * directly is enough. Own properties only: `$.constructor` names nothing in a fact.
 */
export function resolvePath(value: unknown, path: string): unknown {
  return walkKeys(value, path.slice(2).split('.'))
}

function walkKeys(value: unknown, keys: readonly string[]): unknown {
  let current = value
  for (const key of keys) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/**
 * A fact's value at a path, as json-rules-engine's almanac takes it: a path on a value that
 * is not an object (a number, a boolean, null) is ignored and the value itself is used.
 */
export function factAtPath(value: unknown, path: unknown): unknown {
  return path && value !== null && typeof value === 'object' ? resolvePath(value, path as string) : value
}

/** factAtPath with the path split once, for runners that apply one path many times. */
export function compilePath(path: string): (value: unknown) => unknown {
  const keys = path.slice(2).split('.')
  return (value) => (value !== null && typeof value === 'object' ? walkKeys(value, keys) : value)
}

function buildEngine(rules: LoadedRule[]): Engine {
  const engine = new Engine([], { allowUndefinedFacts: false, pathResolver: resolvePath, replaceFactsInEventParams: false })
  for (const [name, fn] of Object.entries(CUSTOM_OPERATORS)) engine.addOperator(name, fn)
  for (const [name, fact] of Object.entries(DYNAMIC_FACTS)) {
    engine.addFact(
      name,
      async (params: unknown, almanac) => {
        const base = {
          quote: (await almanac.factValue('quote')) as Record<string, unknown>,
          account: (await almanac.factValue('account')) as Record<string, unknown>,
        }
        return fact.compute(base, params)
      },
      { cache: true },
    )
  }
  for (const rule of rules) {
    engine.addRule({ name: rule.id, priority: rule.priority, conditions: rule.conditions as never, event: { type: rule.event.type } })
  }
  return engine
}

/** A condition tree annotated with results, as json-rules-engine returns it (and the compiled runner builds it). */
export interface EvaluatedCondition {
  fact?: string
  path?: string
  operator?: string
  value?: unknown
  params?: Record<string, unknown>
  result?: boolean
  factResult?: unknown
  /** The compared fact's value, when `value` is a fact reference. */
  valueResult?: unknown
  all?: EvaluatedCondition[]
  any?: EvaluatedCondition[]
  not?: EvaluatedCondition
}

function factLabel(c: { fact?: unknown; path?: unknown; params?: unknown }): string {
  const params = c.params as Record<string, unknown> | null | undefined
  const key = params?.sku ?? params?.category
  // Only plain values name a param: String() of an object can throw.
  const param = key && ['string', 'number', 'boolean'].includes(typeof key) ? `(${String(key)})` : ''
  return `${String(c.fact)}${param}${typeof c.path === 'string' ? c.path.slice(1) : ''}`
}

export function collectFacts(c: EvaluatedCondition | undefined, into: Record<string, unknown>): void {
  if (!c) return
  if (c.fact !== undefined) {
    // A leaf json-rules-engine did not evaluate has no factResult (it skips lower-priority
    // conditions once decided; QTC gives every fact one priority, so it evaluates them all).
    if ('factResult' in c) into[factLabel(c)] = c.factResult
    if (isFactReference(c.value) && 'valueResult' in c) into[factLabel(c.value)] = c.valueResult
    return
  }
  c.all?.forEach((x) => collectFacts(x, into))
  c.any?.forEach((x) => collectFacts(x, into))
  collectFacts(c.not, into)
}

/**
 * The first condition, in file order, that made the rule fail: inside `all`, the first
 * failing child; for a failed `any`, its first branch; for a failed `not`, the negation itself.
 */
export function firstFailure(c: EvaluatedCondition | undefined): FailedCondition | undefined {
  if (!c || c.result === true) return undefined
  if (c.fact !== undefined) {
    if (c.result !== false) return undefined
    return {
      fact: c.fact,
      ...(c.path ? { path: c.path } : {}),
      operator: c.operator!,
      value: c.value,
      actual: c.factResult,
      ...(isFactReference(c.value) ? { compared: c.valueResult } : {}),
    }
  }
  if (c.all)
    for (const x of c.all) {
      const f = firstFailure(x)
      if (f) return f
    }
  if (c.any) return firstFailure(c.any[0])
  if (c.not) return { fact: 'not', operator: 'not', value: 'the negated condition held', actual: true }
  return undefined
}

/** Deterministic order: priority (high first), then id. json-rules-engine may finish rules of one priority in any order. */
export function byPriority(a: LoadedRule, b: LoadedRule): number {
  return b.priority - a.priority || compareText(a.id, b.id)
}

/** Idle engines kept per runner: as many as runs overlapped, up to this. */
const MAX_IDLE_ENGINES = 8

/** The reference runner: json-rules-engine Engines over one (rule set, set, scope, effective rules). */
export class JsonRulesEngineRunner implements RuleRunner {
  /**
   * An Engine keeps its run status on itself: a run that finishes marks it finished while
   * another run on it still has rules to go, and those are skipped without a word; a failed
   * run keeps settling its remaining rules after it rejected. So each run takes an engine
   * of its own, gives it back only after a clean finish, and a failed run's engine is dropped.
   */
  private readonly idle: Engine[] = []
  private readonly rulesById: Map<string, LoadedRule>

  constructor(private readonly rules: LoadedRule[]) {
    this.idle.push(buildEngine(rules))
    this.rulesById = new Map(rules.map((r) => [r.id, r]))
  }

  async run(facts: RuleFacts, trace: RunTrace): Promise<RuleOutcome[]> {
    if (this.rules.length === 0) return []
    const withTrace = trace !== 'none'
    let results: RuleResult[]
    const engine = this.idle.pop() ?? buildEngine(this.rules)
    try {
      const run = await engine.run({ ...facts })
      results = [...run.results, ...run.failureResults]
    } catch (error) {
      throw await this.blame(facts, error)
    }
    if (this.idle.length < MAX_IDLE_ENGINES) this.idle.push(engine)
    const outcomes = results.map((result) => {
      const rule = this.rulesById.get(result.name as string)!
      const outcome: RuleOutcome = { rule, fired: result.result }
      if (withTrace) {
        const conditions = (result as unknown as { conditions: EvaluatedCondition }).conditions
        const seen: Record<string, unknown> = {}
        collectFacts(conditions, seen)
        outcome.facts = seen
        if (!result.result) {
          const failed = firstFailure(conditions)
          if (failed) outcome.failed = failed
        }
      }
      return outcome
    })
    return outcomes.filter((o) => o.fired || trace === 'full').sort((a, b) => byPriority(a.rule, b.rule))
  }

  /** Finds which rule threw by running each alone: slow, but only on the error path. */
  private async blame(facts: RuleFacts, error: unknown): Promise<RuleEvaluationError> {
    const message = error instanceof Error ? error.message : String(error)
    for (const rule of [...this.rules].sort(byPriority)) {
      try {
        await buildEngine([rule]).run({ ...facts })
      } catch (inner) {
        return new RuleEvaluationError(rule.id, inner instanceof Error ? inner.message : String(inner))
      }
    }
    return new RuleEvaluationError('(unknown)', message)
  }
}

import { CUSTOM_OPERATORS, DYNAMIC_FACTS, isFactReference, own, type OperatorFn } from './facts.js'
import {
  byPriority,
  collectFacts,
  compilePath,
  factAtPath,
  firstFailure,
  RuleEvaluationError,
  type EvaluatedCondition,
  type RuleFacts,
  type RuleOutcome,
  type RuleRunner,
  type RunTrace,
} from './rule-runner.js'
import type { LoadedRule } from './rule.js'

/**
 * A rule runner that compiles each condition tree once into plain synchronous closures.
 * It gives the same answers as json-rules-engine 7 (the reference runner, checked by a
 * differential test over generated rules and facts, and over every analyst test cart) at a
 * fraction of the cost: no promise per condition, no deep copy of every rule's conditions
 * on every run. What it must mean, read from json-rules-engine's source:
 * - every condition of a rule is evaluated: QTC's facts share one priority, and
 *   json-rules-engine evaluates conditions of one priority together, so an error in any
 *   branch is the rule's error even when another branch already decided;
 * - an empty `all` or `any` holds;
 * - `value: { fact, path, params }` compares with that fact's value ("comparing facts");
 * - a path on a fact value that is not an object is ignored;
 * - facts and operators are looked up by own name only; unknown ones throw when evaluated.
 */

type Leaf = { fact: string; path?: string; operator: string; value: unknown; params?: Record<string, unknown> }
type Node = Leaf | { all: Node[] } | { any: Node[] } | { not: Node }

type Facts = RuleFacts & Record<string, unknown>
type Getter = (facts: Facts) => unknown

/** json-rules-engine's operators with the same semantics, including its fact-value validators. */
const isNumeric = (v: unknown) => Number.parseFloat(v as string).toString() !== 'NaN'
const OPERATORS = new Map<string, OperatorFn>(
  Object.entries({
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
  } satisfies Record<string, OperatorFn>),
)

/** A fact's whole value, found as json-rules-engine's almanac finds it: given facts first, then the dynamic ones. */
function root(fact: unknown, params: unknown): Getter {
  const name = typeof fact === 'string' ? fact : undefined
  const dynamic = name === undefined ? undefined : own(DYNAMIC_FACTS, name)
  const p = params === undefined ? {} : params
  return (f) => {
    if (name !== undefined && Object.hasOwn(f, name)) return f[name]
    if (dynamic) return dynamic.compute(f, p)
    throw new Error(`Undefined fact: ${String(fact)}`)
  }
}

/** For the fast path, which runs only once every given fact a rule reads is known to be there. */
function presentRoot(fact: unknown, params: unknown): Getter {
  if (typeof fact === 'string' && !own(DYNAMIC_FACTS, fact)) return (f) => f[fact]
  return root(fact, params)
}

/** Given facts a condition reads: a run missing one throws where that condition is evaluated. */
function givenFactNames(fact: unknown): string[] {
  return typeof fact === 'string' && !own(DYNAMIC_FACTS, fact) ? [fact] : []
}

const identity = (value: unknown) => value

/** A path applied as json-rules-engine applies it; a malformed one (not a string) fails as it fails there. */
function pathOf(path: unknown): (value: unknown) => unknown {
  if (!path) return identity
  return typeof path === 'string' ? compilePath(path) : (value) => factAtPath(value, path)
}

interface CompiledLeaf {
  /** Fact value, compared value and result, in json-rules-engine's order of failure. */
  evaluate(f: Facts): [factResult: unknown, valueResult: unknown, result: boolean]
  /** Just the result, allocating nothing: for the fast path, where nothing can throw. */
  test(f: Facts): boolean
  /** Whether evaluating it can throw even when every given fact it reads is there. */
  mayThrow: boolean
  needs: string[]
}

function compileLeaf(leaf: Leaf): CompiledLeaf {
  const op = OPERATORS.get(leaf.operator)
  const ref = isFactReference(leaf.value) ? leaf.value : undefined
  const factRoot = root(leaf.fact, leaf.params)
  const valueRoot = ref ? root(ref.fact, ref.params) : undefined
  const literal = leaf.value
  const badPath = (path: unknown) => Boolean(path) && typeof path !== 'string'
  const mayThrow =
    !op ||
    (ref !== undefined && (typeof ref.fact !== 'string' || badPath(ref.path))) ||
    badPath(leaf.path) ||
    // json-rules-engine's `in` calls value.indexOf: anything but a list or a string throws.
    ((leaf.operator === 'in' || leaf.operator === 'notIn') && (ref !== undefined || !(Array.isArray(literal) || typeof literal === 'string')))
  const factAt = pathOf(leaf.path)
  const valueAt = pathOf(ref?.path)
  const factPresent = presentRoot(leaf.fact, leaf.params)
  const valuePresent = ref ? presentRoot(ref.fact, ref.params) : undefined
  const test: CompiledLeaf['test'] = !op
    ? () => false // never called: an unknown operator makes the rule take the full evaluation
    : valuePresent
      ? (f) => op(factAt(factPresent(f)), valueAt(valuePresent(f)))
      : (f) => op(factAt(factPresent(f)), literal)
  return {
    mayThrow,
    test,
    needs: [...givenFactNames(leaf.fact), ...(ref ? givenFactNames(ref.fact) : [])],
    evaluate(f) {
      if (!op) throw new Error(`Unknown operator: ${leaf.operator}`)
      // The compared value is resolved before the fact, and both before either path, as the
      // almanac's promises settle: the first error is the one json-rules-engine reports.
      const valueWhole = valueRoot ? valueRoot(f) : literal
      const factWhole = factRoot(f)
      const valueResult = ref ? valueAt(valueWhole) : valueWhole
      const factResult = factAt(factWhole)
      return [factResult, valueResult, op(factResult, valueResult)]
    },
  }
}

type Fast = (facts: Facts) => boolean
type Traced = (facts: Facts) => EvaluatedCondition

interface CompiledRule {
  rule: LoadedRule
  /** May stop at the first deciding child: only used when nothing in the rule can throw. */
  fast: Fast
  /** Evaluates every condition, as json-rules-engine does, and annotates the tree for the trace. */
  traced: Traced
  stopsEarlySafely: boolean
  needs: string[]
}

function compileRule(rule: LoadedRule): CompiledRule {
  let mayThrow = false
  const needs = new Set<string>()
  const leafOf = (node: Leaf) => {
    const leaf = compileLeaf(node)
    mayThrow ||= leaf.mayThrow
    for (const name of leaf.needs) needs.add(name)
    return leaf
  }

  const compileFast = (node: Node): Fast => {
    if ('all' in node) {
      const children = node.all.map(compileFast)
      return (f) => children.every((c) => c(f))
    }
    if ('any' in node) {
      const children = node.any.map(compileFast)
      return children.length === 0 ? () => true : (f) => children.some((c) => c(f))
    }
    if ('not' in node) {
      const child = compileFast(node.not)
      return (f) => !child(f)
    }
    return leafOf(node).test
  }

  const compileTraced = (node: Node): Traced => {
    if ('all' in node || 'any' in node) {
      const isAll = 'all' in node
      const children = (isAll ? node.all : node.any).map(compileTraced)
      return (f) => {
        const evaluated = children.map((c) => c(f))
        const result = isAll || evaluated.length === 0 ? evaluated.every((e) => e.result) : evaluated.some((e) => e.result)
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
    const leaf = leafOf(node)
    const { fact, path, operator, value, params } = node
    const reference = isFactReference(value)
    return (f) => {
      const [factResult, valueResult, result] = leaf.evaluate(f)
      return { fact, ...(path ? { path } : {}), operator, value, ...(params ? { params } : {}), factResult, ...(reference ? { valueResult } : {}), result }
    }
  }

  const node = rule.conditions as Node
  const fast = compileFast(node)
  const traced = compileTraced(node)
  return { rule, fast, traced, stopsEarlySafely: !mayThrow, needs: [...needs] }
}

export class CompiledRuleRunner implements RuleRunner {
  private readonly compiled: CompiledRule[]

  /** Every given fact any rule reads: when a run has them all, no rule needs checking alone. */
  private readonly needs: string[]

  constructor(rules: LoadedRule[]) {
    this.compiled = [...rules].sort(byPriority).map(compileRule)
    this.needs = [...new Set(this.compiled.flatMap((c) => c.needs))]
  }

  async run(facts: RuleFacts, trace: RunTrace): Promise<RuleOutcome[]> {
    const f = facts as Facts
    const outcomes: RuleOutcome[] = []
    const complete = this.needs.every((name) => Object.hasOwn(f, name))
    for (let i = 0; i < this.compiled.length; i++) {
      const { rule, fast, traced, stopsEarlySafely, needs } = this.compiled[i]!
      try {
        let evaluated: EvaluatedCondition | undefined
        let fired: boolean
        // Without a full trace, a rule that did not fire costs one fast check and nothing
        // else — when stopping early cannot hide an error the full evaluation would raise.
        if (trace !== 'full' && stopsEarlySafely && (complete || needs.every((name) => Object.hasOwn(f, name)))) fired = fast(f)
        else {
          evaluated = traced(f)
          fired = evaluated.result === true
        }
        if (!fired && trace !== 'full') continue
        if (trace === 'none') {
          outcomes.push({ rule, fired })
          continue
        }
        evaluated ??= traced(f)
        const seen: Record<string, unknown> = {}
        collectFacts(evaluated, seen)
        const outcome: RuleOutcome = { rule, fired, facts: seen }
        if (!fired) {
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

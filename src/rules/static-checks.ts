import type { Catalog } from '../catalog/catalog.js'
import { checkLogic, isLogic } from './json-logic.js'
import {
  allowedScopes,
  DYNAMIC_FACTS,
  isFactReference,
  OPERATORS,
  own,
  seesDynamicFacts,
  seesGuardedFacts,
  seesPricedFacts,
  STATIC_FACTS,
  staticFactsOf,
  TAX_FACTS,
  type FactType,
} from './facts.js'
import type { RuleSetName } from './rule-file.schema.js'
import type { LoadError } from '../shared/source-files.js'
import type { LoadedRule } from './rule.js'

/**
 * Checks made when a rule set is loaded, before it can serve: every problem is reported at
 * once, each with file, rule id and JSON path. A set with any error never goes live.
 */
export const MAX_CONDITION_DEPTH = 10
export const MAX_RULES = 2000

type Leaf = { fact: string; path?: string; operator: string; value: unknown; params?: Record<string, unknown> }
type Node = Leaf | { all: Node[] } | { any: Node[] } | { not: Node }

function isLeaf(node: Node): node is Leaf {
  return 'fact' in node
}

function errorAt(rule: LoadedRule, path: string, message: string): LoadError {
  return { file: rule.file, ruleId: rule.id, path: `${rule.pointer}${path}`, message }
}

function knownFacts(set: RuleSetName): string {
  return [...Object.keys(staticFactsOf(set)), ...(seesDynamicFacts(set) ? Object.keys(DYNAMIC_FACTS) : [])].join(', ')
}
const PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/

/** What a condition names as a fact: the tested one, or the compared one in `value`. */
interface FactUse {
  fact: string
  path?: string
  params?: Record<string, unknown>
}

/**
 * Checks one named fact: known (own names only: `constructor` is no fact), known property,
 * known at the rule's stage and scope, its params. Returns the fact's type when it is known.
 */
function checkFact(rule: LoadedRule, use: FactUse, at: string, catalog: Catalog, errors: LoadError[]): FactType | undefined {
  const dynamic = seesDynamicFacts(rule.set) ? own(DYNAMIC_FACTS, use.fact) : undefined
  if (dynamic) {
    for (const name of Object.keys(dynamic.params)) {
      if (typeof use.params?.[name] !== 'string') errors.push(errorAt(rule, `${at}/params/${name}`, `fact ${use.fact} needs param "${name}"`))
    }
    for (const name of Object.keys(use.params ?? {})) {
      if (!Object.hasOwn(dynamic.params, name)) errors.push(errorAt(rule, `${at}/params/${name}`, `fact ${use.fact} takes no param "${name}"`))
    }
    const sku = use.params?.sku
    if (Object.hasOwn(dynamic.params, 'sku') && typeof sku === 'string' && !catalog.products.has(sku))
      errors.push(errorAt(rule, `${at}/params/sku`, `unknown sku ${sku}`))
    const category = use.params?.category
    if (Object.hasOwn(dynamic.params, 'category') && typeof category === 'string') {
      const categories = new Set([...catalog.products.values()].map((p) => p.category))
      if (!categories.has(category))
        errors.push(errorAt(rule, `${at}/params/category`, `unknown category ${category}; known: ${[...categories].sort().join(', ')}`))
    }
    // json-rules-engine would ignore the path and use the number itself: say so instead.
    if (use.path !== undefined) errors.push(errorAt(rule, `${at}/path`, `${use.fact} is a ${dynamic.type}, not an object: remove the path`))
    return dynamic.type
  }
  const properties = own(staticFactsOf(rule.set), use.fact)
  if (!properties) {
    errors.push(errorAt(rule, `${at}/fact`, `unknown fact "${use.fact}"; known: ${knownFacts(rule.set)}`))
    return undefined
  }
  if (use.fact === 'line' && rule.scope === 'quote') errors.push(errorAt(rule, `${at}/fact`, 'a quote-scope rule has no line fact; use scope: line'))
  if (use.params !== undefined) errors.push(errorAt(rule, `${at}/params`, `fact ${use.fact} takes no params`))
  const name = use.path?.slice(2)
  if (!name) {
    errors.push(errorAt(rule, `${at}/path`, `fact ${use.fact} needs a path such as $.${Object.keys(properties)[0]}`))
    return undefined
  }
  const property = own(properties, name)
  if (!property) {
    errors.push(errorAt(rule, `${at}/path`, `${use.fact} has no property "${name}"`))
    return undefined
  }
  if (property.priced && !seesPricedFacts(rule.set)) {
    errors.push(errorAt(rule, `${at}/path`, `${use.fact}.${name} is only known after pricing (guardrails, approvals, recommendations)`))
  } else if (property.guarded && !seesGuardedFacts(rule.set)) {
    errors.push(errorAt(rule, `${at}/path`, `${use.fact}.${name} is only known after the guardrails (approvals, recommendations)`))
  }
  return property.type
}

/** A `value` that names a fact must be exactly `{ fact, path?, params? }`, each well formed. */
function isWellFormedReference(value: Record<string, unknown>): value is Record<string, unknown> & FactUse {
  return (
    Object.keys(value).every((k) => k === 'fact' || k === 'path' || k === 'params') &&
    typeof value.fact === 'string' &&
    value.fact.length > 0 &&
    value.fact.length <= 100 &&
    (value.path === undefined || (typeof value.path === 'string' && PATH.test(value.path))) &&
    (value.params === undefined || (value.params !== null && typeof value.params === 'object' && !Array.isArray(value.params)))
  )
}

const LIST_OPERATORS = ['in', 'notIn', 'containsAny']

/** Checks one leaf condition: known fact and property for the rule's set and scope, known operator, value shape. */
function checkLeaf(rule: LoadedRule, leaf: Leaf, at: string, catalog: Catalog): LoadError[] {
  const errors: LoadError[] = []
  checkFact(rule, leaf, at, catalog, errors)
  if (leaf.fact === 'line' && leaf.path === '$.sku') {
    const skus = leaf.operator === 'equal' || leaf.operator === 'notEqual' ? [leaf.value] : Array.isArray(leaf.value) ? leaf.value : []
    for (const sku of skus) if (typeof sku === 'string' && !catalog.products.has(sku)) errors.push(errorAt(rule, `${at}/value`, `unknown sku ${sku}`))
  }
  if (!own(OPERATORS, leaf.operator)) errors.push(errorAt(rule, `${at}/operator`, `unknown operator "${leaf.operator}"`))
  if (isFactReference(leaf.value)) {
    const ref = leaf.value as unknown as Record<string, unknown>
    if (!isWellFormedReference(ref)) {
      errors.push(errorAt(rule, `${at}/value`, 'a fact comparison is { fact, path, params }: fact a name, path like $.unitCost, params an object'))
    } else {
      const type = checkFact(rule, ref, `${at}/value`, catalog, errors)
      if (type && LIST_OPERATORS.includes(leaf.operator) && type !== 'string[]') {
        errors.push(
          errorAt(rule, `${at}/value`, `operator ${leaf.operator} compares with a list fact; ${ref.fact}${ref.path ? `.${ref.path.slice(2)}` : ''} is ${type}`),
        )
      }
    }
  } else {
    // json-rules-engine compares objects by identity: a literal object equals no fact, ever.
    const scalar = (v: unknown) => v === null || typeof v !== 'object'
    const message = 'value is a string, a number, true/false, null, a list of those, or a fact comparison { fact, path, params }'
    if (Array.isArray(leaf.value))
      leaf.value.forEach((v, i) => {
        if (!scalar(v)) errors.push(errorAt(rule, `${at}/value/${i}`, message))
      })
    else if (!scalar(leaf.value)) errors.push(errorAt(rule, `${at}/value`, message))
    if (LIST_OPERATORS.includes(leaf.operator) && !Array.isArray(leaf.value))
      errors.push(errorAt(rule, `${at}/value`, `operator ${leaf.operator} needs a list`))
  }
  if (leaf.operator === 'between' && !(Array.isArray(leaf.value) && leaf.value.length === 2 && leaf.value.every((v) => typeof v === 'number'))) {
    errors.push(errorAt(rule, `${at}/value`, 'operator between needs [min, max] numbers'))
  }
  return errors
}

function walkConditions(rule: LoadedRule, node: Node, at: string, depth: number, visit: (leaf: Leaf, at: string) => void, errors: LoadError[]): void {
  if (depth > MAX_CONDITION_DEPTH) {
    errors.push(errorAt(rule, at, `conditions nested deeper than ${MAX_CONDITION_DEPTH}`))
    return
  }
  if (isLeaf(node)) {
    visit(node, at)
    return
  }
  // json-rules-engine holds an empty `any` (an empty `all` too, which is the usual meaning
  // of "no condition"): an empty list of alternatives is almost surely a list emptied by mistake.
  if ('any' in node && node.any.length === 0)
    errors.push(errorAt(rule, `${at}/any`, 'an empty "any" holds in json-rules-engine, whatever it was meant to test: give it conditions or remove it'))
  if ('all' in node) node.all.forEach((c, i) => walkConditions(rule, c, `${at}/all/${i}`, depth + 1, visit, errors))
  else if ('any' in node) node.any.forEach((c, i) => walkConditions(rule, c, `${at}/any/${i}`, depth + 1, visit, errors))
  else walkConditions(rule, node.not, `${at}/not`, depth + 1, visit, errors)
}

/** Constraints an `all` block puts on one (fact, path): allowed values and numeric bounds. */
interface Constraint {
  values?: Set<unknown>
  min?: number
  minStrict?: boolean
  max?: number
  maxStrict?: boolean
}

function keyOf(leaf: Leaf): string | null {
  // A comparison with another fact constrains nothing this analysis can see.
  if (isFactReference(leaf.value)) return null
  return (Object.hasOwn(STATIC_FACTS, leaf.fact) || Object.hasOwn(TAX_FACTS, leaf.fact)) && leaf.path ? `${leaf.fact}${leaf.path.slice(1)}` : null
}

/**
 * What the top-level `all` of a rule requires, per fact property. Only `all` at the top is
 * analysed: `any` and `not` can widen a condition in ways a simple analysis cannot follow,
 * so rules using them are treated as possibly matching anything.
 */
export function topLevelConstraints(rule: LoadedRule): Map<string, Constraint> {
  const constraints = new Map<string, Constraint>()
  const conditions = rule.conditions as Node
  if (!('all' in conditions)) return constraints
  for (const child of conditions.all) {
    if (!isLeaf(child)) continue
    const key = keyOf(child)
    if (!key) continue
    const c = constraints.get(key) ?? {}
    const intersect = (values: unknown[]) => {
      c.values = new Set(c.values ? values.filter((v) => c.values!.has(v)) : values)
    }
    const v = child.value
    switch (child.operator) {
      case 'equal':
        intersect([v])
        break
      case 'in':
        if (Array.isArray(v)) intersect(v)
        break
      case 'greaterThan':
        if (typeof v === 'number' && (c.min === undefined || v >= c.min)) {
          c.min = v
          c.minStrict = true
        }
        break
      case 'greaterThanInclusive':
        if (typeof v === 'number' && (c.min === undefined || v > c.min)) {
          c.min = v
          c.minStrict = false
        }
        break
      case 'lessThan':
        if (typeof v === 'number' && (c.max === undefined || v <= c.max)) {
          c.max = v
          c.maxStrict = true
        }
        break
      case 'lessThanInclusive':
        if (typeof v === 'number' && (c.max === undefined || v < c.max)) {
          c.max = v
          c.maxStrict = false
        }
        break
      case 'between':
        if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number') {
          if (c.min === undefined || v[0] > c.min) {
            c.min = v[0]
            c.minStrict = false
          }
          if (c.max === undefined || v[1] < c.max) {
            c.max = v[1]
            c.maxStrict = false
          }
        }
        break
    }
    constraints.set(key, c)
  }
  return constraints
}

function isEmpty(c: Constraint): boolean {
  if (c.values && c.values.size === 0) return true
  if (c.min !== undefined && c.max !== undefined && (c.min > c.max || (c.min === c.max && (c.minStrict || c.maxStrict)))) return true
  if (c.values && (c.min !== undefined || c.max !== undefined)) {
    const inBounds = [...c.values].some(
      (v) =>
        typeof v !== 'number' ||
        ((c.min === undefined || (c.minStrict ? v > c.min : v >= c.min)) && (c.max === undefined || (c.maxStrict ? v < c.max : v <= c.max))),
    )
    if (!inBounds) return true
  }
  return false
}

/** Whether two rules' conditions can never hold together (some property constrained to disjoint values or ranges). */
function disjoint(a: Map<string, Constraint>, b: Map<string, Constraint>): boolean {
  for (const [key, ca] of a) {
    const cb = b.get(key)
    if (!cb) continue
    const merged: Constraint = { ...ca }
    if (cb.values) merged.values = new Set(ca.values ? [...cb.values].filter((v) => ca.values!.has(v)) : cb.values)
    if (cb.min !== undefined && (merged.min === undefined || cb.min > merged.min || (cb.min === merged.min && cb.minStrict))) {
      merged.min = cb.min
      merged.minStrict = cb.minStrict
    }
    if (cb.max !== undefined && (merged.max === undefined || cb.max < merged.max || (cb.max === merged.max && cb.maxStrict))) {
      merged.max = cb.max
      merged.maxStrict = cb.maxStrict
    }
    if (isEmpty(merged)) return true
  }
  return false
}

function windowsOverlap(a: LoadedRule, b: LoadedRule): boolean {
  const aTo = a.effective.to ?? '9999-12-31'
  const bTo = b.effective.to ?? '9999-12-31'
  return a.effective.from <= bTo && b.effective.from <= aTo
}

/** The kind of price a pricing rule produces, for conflict detection; null for non-conflicting kinds. */
function conflictClass(rule: LoadedRule): string | null {
  const e = rule.event
  if (e.type === 'price.set' || e.type === 'price.tiered') return `base:${rule.scope}`
  if (e.type === 'price.ramp') return `ramp:${rule.scope}`
  // A line rule and a quote rule of one group compete on the same line, so scope is not part of the class.
  if (e.type === 'price.adjust' && e.params.group) return `group:${e.params.group}`
  return null
}

function checkEvent(rule: LoadedRule, catalog: Catalog): LoadError[] {
  const errors: LoadError[] = []
  const e = rule.event
  const params = e.params as Record<string, unknown>
  for (const [name, value] of Object.entries(params)) {
    if (isLogic(value)) for (const [p, message] of checkLogic(value.$logic)) errors.push(errorAt(rule, `/event/params/${name}/$logic${p}`, message))
  }
  const skuRefs: Array<[string, string]> = []
  if (e.type === 'config.require' || e.type === 'recommend.add') skuRefs.push(['/event/params/sku', e.params.sku])
  if (e.type === 'config.exclude') e.params.skus.forEach((s, i) => skuRefs.push([`/event/params/skus/${i}`, s]))
  if (e.type === 'price.adjust') e.params.appliesTo?.skus?.forEach((s, i) => skuRefs.push([`/event/params/appliesTo/skus/${i}`, s]))
  for (const [path, sku] of skuRefs) if (!catalog.products.has(sku)) errors.push(errorAt(rule, path, `unknown sku ${sku}`))

  if (e.type === 'price.adjust') {
    if ((e.params.percent === undefined) === (e.params.amount === undefined))
      errors.push(errorAt(rule, '/event/params', 'give exactly one of percent or amount'))
    if (e.params.per && e.params.percent !== undefined) errors.push(errorAt(rule, '/event/params/per', '"per" applies to amounts only'))
    if (rule.scope === 'line' && e.params.appliesTo)
      errors.push(errorAt(rule, '/event/params/appliesTo', 'appliesTo is for quote-scope rules; a line rule adjusts its own line'))
  }
  if ((e.type === 'price.set' || e.type === 'price.tiered' || e.type === 'price.ramp') && rule.scope !== 'line') {
    errors.push(errorAt(rule, '/scope', `${e.type} prices a line: use scope: line`))
  }
  if (e.type === 'price.tiered') {
    const tiers = e.params.tiers
    for (let i = 0; i < tiers.length; i++) {
      const last = i === tiers.length - 1
      if (last !== (tiers[i]!.upTo === null) || (i > 0 && tiers[i]!.upTo !== null && tiers[i]!.upTo! <= (tiers[i - 1]!.upTo ?? 0))) {
        errors.push(errorAt(rule, `/event/params/tiers/${i}/upTo`, 'tiers must ascend and only the last may be open (upTo: null)'))
        break
      }
    }
  }
  if (e.type === 'approval.require') {
    for (const key of Object.keys(e.params.upTo ?? {})) {
      const property = own(STATIC_FACTS.quote, key.slice('quote.'.length))
      if (property?.type !== 'number') {
        errors.push(errorAt(rule, `/event/params/upTo/${key}`, `${key} is not a numeric quote fact`))
      }
    }
  }
  if (e.type === 'tax.apply') {
    const { category, ratePercent, mention } = e.params
    if (category === 'S' && Number(ratePercent) === 0)
      errors.push(errorAt(rule, '/event/params/ratePercent', 'standard rated (S) needs a rate above 0; use Z for zero rated'))
    if (category !== 'S' && Number(ratePercent) !== 0)
      errors.push(errorAt(rule, '/event/params/ratePercent', `category ${category} charges no VAT: the rate is "0"`))
    if (category !== 'S' && !mention)
      errors.push(errorAt(rule, '/event/params/mention', `category ${category} needs the legal mention printed on the invoice (EN 16931 BR-${category}-10)`))
  }
  if (e.type === 'guardrail.limit') {
    const bounded = e.params.min !== undefined || e.params.max !== undefined
    if (e.params.metric && !bounded) errors.push(errorAt(rule, '/event/params', 'a metric needs min, max or both'))
    if (!e.params.metric && bounded) errors.push(errorAt(rule, '/event/params/metric', 'min and max need a metric to compare'))
    if (e.params.metric === 'netUnitPrice' && rule.scope === 'quote')
      errors.push(errorAt(rule, '/event/params/metric', 'netUnitPrice is a line metric: use scope: line'))
  }
  return errors
}

/**
 * NaN and infinities anywhere in a rule (YAML `.nan`, `.inf`): no condition can mean them,
 * and a rule set is identified by a hash of canonical JSON, which has no such numbers.
 */
function nonFiniteNumbers(rule: LoadedRule): LoadError[] {
  const errors: LoadError[] = []
  const seen = new Set<object>()
  const walk = (value: unknown, at: string): void => {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) errors.push(errorAt(rule, at, 'not a finite number (YAML .nan or .inf): a rule compares and stores only finite numbers'))
      return
    }
    if (value === null || typeof value !== 'object' || seen.has(value)) return
    seen.add(value)
    for (const [key, child] of Object.entries(value)) walk(child, `${at}/${key}`)
  }
  walk(rule.conditions, '/conditions')
  walk(rule.event, '/event')
  return errors
}

/** Every static check over a set of rules; returns all problems found. */
export function staticChecks(rules: LoadedRule[], catalog: Catalog): LoadError[] {
  const errors: LoadError[] = []
  if (rules.length > MAX_RULES) errors.push({ file: '.', path: '', message: `more than ${MAX_RULES} rules` })
  const seen = new Map<string, LoadedRule>()
  for (const rule of rules) {
    const first = seen.get(rule.id)
    if (first) errors.push(errorAt(rule, '/id', `duplicate rule id; first defined in ${first.file}`))
    else seen.set(rule.id, rule)
    if (!allowedScopes(rule.set).includes(rule.scope)) {
      const only = allowedScopes(rule.set)[0]
      errors.push(errorAt(rule, '/scope', `${rule.set} rules decide per ${only}: use scope: ${only}`))
    }
    if (rule.effective.to && rule.effective.to < rule.effective.from)
      errors.push(errorAt(rule, '/effective/to', 'is before effective.from: the rule can never fire'))
    walkConditions(rule, rule.conditions as Node, '/conditions', 0, (leaf, at) => errors.push(...checkLeaf(rule, leaf, at, catalog)), errors)
    errors.push(...nonFiniteNumbers(rule))
    for (const [key, c] of topLevelConstraints(rule)) {
      if (isEmpty(c)) errors.push(errorAt(rule, '/conditions', `contradictory conditions on ${key}: the rule can never fire`))
    }
    errors.push(...checkEvent(rule, catalog))
  }

  // One mode per approval level: a level completes when all its steps approve, or any one
  // does; rules of one level that disagree would leave that to the order of roles.
  const levelModes = new Map<number, LoadedRule>()
  for (const rule of rules) {
    if (rule.event.type !== 'approval.require') continue
    const first = levelModes.get(rule.event.params.level)
    const firstMode = (first?.event.params as { mode?: string } | undefined)?.mode ?? 'all'
    if (!first) levelModes.set(rule.event.params.level, rule)
    else if (firstMode !== (rule.event.params.mode ?? 'all')) {
      errors.push(
        errorAt(rule, '/event/params/mode', `level ${rule.event.params.level} is "${firstMode}" in ${first.id}: all rules of one level need the same mode`),
      )
    }
  }

  // Conflicts: two rules of one priority that both set a line's base price (or both claim one
  // stacking group) where their conditions can hold at once. Order would then decide silently.
  const pricing = rules.filter((r) => r.set === 'pricing' && conflictClass(r))
  const constraints = new Map(pricing.map((r) => [r, topLevelConstraints(r)]))
  for (let i = 0; i < pricing.length; i++) {
    for (let j = i + 1; j < pricing.length; j++) {
      const a = pricing[i]!
      const b = pricing[j]!
      if (a.priority !== b.priority || conflictClass(a) !== conflictClass(b) || !windowsOverlap(a, b)) continue
      if (disjoint(constraints.get(a)!, constraints.get(b)!)) continue
      errors.push(
        errorAt(
          b,
          '/priority',
          `conflicts with ${a.id} (${a.file}): same priority ${a.priority}, both ${a.event.type}${a.event.type === 'price.adjust' ? ` in group ${(a.event.params as { group?: string }).group}` : ''}, and their conditions can overlap; give them different priorities or disjoint conditions`,
        ),
      )
    }
  }
  return errors
}

import { deepStrictEqual } from 'node:assert/strict'
import fc from 'fast-check'
import t from 'tap'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { OPERATORS } from '../../src/rules/facts.js'
import { TopCondition } from '../../src/rules/rule-file.schema.js'
import { buildRuleSet } from '../../src/rules/rule-set.js'
import type { RuleFacts } from '../../src/rules/rule-runner.js'
import { bothRunners, ruleOf, runResult, TRACES, type RunResult } from '../helpers/rule-runners.js'
import { product } from '../helpers/catalog.js'

/**
 * Differential test: generated rules and facts through the compiled runner and through
 * json-rules-engine (the reference), at every trace level; both must give the same outcomes
 * (fired, facts seen, first failed condition) or both fail, naming the same rule. The
 * generator covers every construct the rule-file schema allows, including those the static
 * checks refuse: the runners must agree even on rules that never get past the loader.
 * `npm test` runs a bounded number of cases; `npm run test:differential` many more
 * (NUM_RUNS, and SEED to replay a failure).
 */

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 300)
const SEED = process.env.SEED === undefined ? undefined : Number(process.env.SEED)

const SKUS = ['W', 'G', 'constructor', 'toString']
const CATEGORIES = ['device', 'seat', 'valueOf']
/** Property names shared by the generated line, quote and account facts, so paths often find something. */
const PROPERTIES = ['sku', 'quantity', 'netUnitPrice', 'unitCost', 'options', 'startDate', 'currency', 'skus', 'hasVatId']
const PATHS = [
  ...PROPERTIES.map((p) => `$.${p}`),
  '$.quantityBySku',
  '$.quantityBySku.W',
  '$.options.length',
  '$.nope',
  '$.constructor',
  '$.toString',
  '$.__proto__',
]
const FACTS = ['line', 'quote', 'account', 'cartQuantity', 'categoryQuantity', 'purchased']
const ODD_FACTS = ['nope', 'toString', 'constructor', '__proto__', 'valueOf']
const ODD_OPERATORS = ['bogus', 'toString', 'constructor', '__proto__', 'hasOwnProperty']

const number = fc.oneof(
  fc.integer({ min: -3, max: 12 }),
  fc.double({ noDefaultInfinity: false }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 0.1 + 0.2, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e308, -1e308, 5e-324),
)
const text = fc.oneof(fc.constantFrom(...SKUS, 'EUR', '10', '5', '', '2026-03-01', '2026-12-31', 'device'), fc.string({ maxLength: 4 }))
const scalar = fc.oneof(number, text, fc.boolean(), fc.constant(null))
const list = fc.array(scalar, { maxLength: 4 })

const params = fc.oneof(
  fc.record({ sku: fc.constantFrom(...SKUS) }, { noNullPrototype: true }),
  fc.record({ category: fc.constantFrom(...CATEGORIES) }, { noNullPrototype: true }),
  fc.record({ sku: fc.oneof(scalar, list, fc.constant({ a: 1 })), category: scalar }, { requiredKeys: [], noNullPrototype: true }),
)
const factName = fc.oneof({ weight: 60, arbitrary: fc.constantFrom(...FACTS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_FACTS) })
const path = fc.constantFrom(...PATHS)

/** `value: { fact, path?, params? }`, well formed or not (the schema lets `value` be anything). */
const reference = fc.oneof(
  { weight: 30, arbitrary: fc.record({ fact: factName, path, params }, { requiredKeys: ['fact'], noNullPrototype: true }) },
  {
    weight: 1,
    arbitrary: fc.record(
      { fact: fc.oneof(fc.constant(7), fc.constant(null)), path: fc.constantFrom('$.sku', 5 as unknown as string) },
      { requiredKeys: ['fact'], noNullPrototype: true },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { fact: fc.constantFrom('line', 'quote'), path: fc.constantFrom(5, true, '', 'sku') as fc.Arbitrary<unknown> },
      { noNullPrototype: true },
    ),
  },
)
const value = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 3, arbitrary: list },
  { weight: 1, arbitrary: fc.tuple(number, number) },
  { weight: 3, arbitrary: reference },
  // No key named like an Object.prototype member (`constructor`, `toString`…): json-rules-engine's
  // deep copy of the conditions drops those from a value object, so its trace would echo `{}`.
  // The static checks refuse literal objects as values anyway.
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('a', 'indexOf', 'b'), scalar, { maxKeys: 2, noNullPrototype: true }) },
)
const operator = fc.oneof({ weight: 60, arbitrary: fc.constantFrom(...Object.keys(OPERATORS)) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_OPERATORS) })
const name = fc.option(fc.constantFrom('named', 'another'), { nil: undefined })

/** Mostly a list for the operators that take one (anything else throws in json-rules-engine's `in`, so rarer). */
const valueFor = (op: string) =>
  ['in', 'notIn', 'containsAny', 'between'].includes(op) ? fc.oneof({ weight: 8, arbitrary: list }, { weight: 1, arbitrary: value }) : value
const leaf = operator
  .chain((op) =>
    fc.record(
      { fact: factName, path, operator: fc.constant(op), value: valueFor(op), params, name },
      { requiredKeys: ['fact', 'operator', 'value'], noNullPrototype: true },
    ),
  )
  .map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)))

const { condition } = fc.letrec((tie) => ({
  condition: fc.oneof({ maxDepth: 4, depthIdentifier: 'condition' }, leaf, tie('all'), tie('any'), tie('not')),
  all: fc.record({ all: fc.array(tie('condition'), { maxLength: 3, depthIdentifier: 'condition' }), name }, { requiredKeys: ['all'], noNullPrototype: true }),
  any: fc.record({ any: fc.array(tie('condition'), { maxLength: 3, depthIdentifier: 'condition' }), name }, { requiredKeys: ['any'], noNullPrototype: true }),
  not: fc.record({ not: tie('condition'), name }, { requiredKeys: ['not'], noNullPrototype: true }),
}))
const top = fc.oneof(
  fc.record({ all: fc.array(condition, { maxLength: 4 }) }, { noNullPrototype: true }),
  fc.record({ any: fc.array(condition, { maxLength: 4 }) }, { noNullPrototype: true }),
  fc.record({ not: condition }, { noNullPrototype: true }),
)
const rules = fc
  .array(fc.record({ conditions: top, priority: fc.constantFrom(1, 50, 100) }, { noNullPrototype: true }), { minLength: 1, maxLength: 4 })
  .map((rs) => rs.map((r, i) => ruleOf(`r.${i}`, r.conditions, { priority: r.priority })))

/**
 * A fact object: any of the shared properties, with values of any type. Objects have the
 * usual prototype, as parsed rule files and QTC's facts do (json-rules-engine's numeric
 * operators would throw on a null-prototype object where the fast path stops early). Keys
 * named by data are skus (upper case) and categories (lower case), so never `toString` or
 * `valueOf`, which the same operators would call.
 */
const counts = (keys: string[]) =>
  fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.integer({ min: 0, max: 200 }), scalar), { maxKeys: 3, noNullPrototype: true })
const factObject = fc.record(
  {
    ...Object.fromEntries(PROPERTIES.map((p) => [p, fc.oneof(scalar, list)])),
    quantityBySku: fc.oneof(counts(['W', 'G']), scalar),
    quantityByCategory: fc.oneof(counts(['device', 'seat', 'constructor']), scalar),
    purchasedSkus: fc.oneof(fc.subarray(SKUS), scalar),
  },
  { requiredKeys: [], noNullPrototype: true },
)
const facts: fc.Arbitrary<RuleFacts> = fc
  .record(
    {
      line: fc.oneof(
        { weight: 8, arbitrary: factObject },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constant('absent' as const) },
      ),
      quote: factObject,
      account: factObject,
    },
    { noNullPrototype: true },
  )
  .map(({ line, quote, account }) => (line === 'absent' ? { quote, account } : { line, quote, account }) as RuleFacts)

/** Errors are compared by rule and kind: when several conditions of one rule throw, json-rules-engine reports whichever promise settles first. */
function comparable(result: RunResult): unknown {
  return 'error' in result ? { error: { name: result.error.name, ruleId: result.error.ruleId } } : result
}

const schemaCheck = TypeCompiler.Compile(TopCondition)

t.test('generated conditions are what the rule-file schema allows', async (t) => {
  const sample = fc.sample(top, { numRuns: 200, ...(SEED === undefined ? {} : { seed: SEED }) })
  t.ok(
    sample.every((c) => schemaCheck.Check(c)),
    'every generated condition tree passes the schema',
  )
})

t.test(`compiled runner and json-rules-engine agree on generated rules and facts, every trace level (${NUM_RUNS} cases)`, async (t) => {
  let errors = 0
  let fired = 0
  const out = await fc.check(
    fc.asyncProperty(rules, facts, async (rs, f) => {
      const { compiled, reference } = bothRunners(rs)
      for (const trace of TRACES) {
        const expected = await runResult(reference, f, trace)
        const actual = await runResult(compiled, f, trace)
        deepStrictEqual(comparable(actual), comparable(expected), `trace ${trace}`)
        if (trace === 'none') {
          if ('error' in expected) errors++
          else fired += expected.outcomes.length
        }
      }
    }),
    { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  )
  t.notOk(out.failed, out.failed ? (fc.defaultReportMessage(out) ?? 'counterexample') : 'no counterexample')
  // Guards the generator: a run where nothing fires or everything throws would prove little.
  t.ok(errors > 0 && errors < NUM_RUNS / 2, `${errors} runs ended in a rule error`)
  t.ok(fired > NUM_RUNS / 4, `${fired} rules fired`)
})

const BOOKS = [
  {
    file: 'catalog.yaml',
    content: {
      kind: 'catalog',
      segments: ['smb', 'enterprise'],
      channels: ['direct', 'partner', 'web'],
      products: ['W', 'G'].map((sku) => product(sku)),
    },
  },
  {
    file: 'eur-list.yaml',
    content: {
      kind: 'price-book',
      id: 'eur-list',
      name: 'EUR list',
      currency: 'EUR',
      validFrom: '2026-01-01',
      priority: 0,
      applicability: {},
      entries: [
        { sku: 'W', listPrice: '10.00' },
        { sku: 'G', listPrice: '20.00' },
      ],
    },
  },
]

t.test(`the static checks report, never throw, on any condition the schema allows (${NUM_RUNS} cases)`, async (t) => {
  let refused = 0
  const out = fc.check(
    fc.property(fc.array(top, { minLength: 1, maxLength: 3 }), fc.constantFrom('line', 'quote'), (conditions, scope) => {
      const rules = conditions.map((c, i) => ({
        id: `g.${i}`,
        description: 'Generated',
        owner: 'test@example.test',
        effective: { from: '2026-01-01' },
        priority: 100 + i,
        scope,
        conditions: c,
        event: { type: 'guardrail.limit', params: { outcome: 'blocked', reason: 'Generated' } },
      }))
      const { ruleSet, errors } = buildRuleSet({ rules: [{ file: 'guardrails/generated.yaml', content: { rules } }], priceBooks: BOOKS })
      if (errors.length > 0) refused++
      if ((ruleSet === undefined) === (errors.length === 0)) throw new Error('a rule set is built exactly when there is no error')
      for (const e of errors)
        if (e.file !== 'guardrails/generated.yaml' || !e.ruleId || !e.path.startsWith('/rules/'))
          throw new Error(`error without file, rule or path: ${JSON.stringify(e)}`)
    }),
    { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  )
  t.notOk(out.failed, out.failed ? (fc.defaultReportMessage(out) ?? 'counterexample') : 'no counterexample')
  t.ok(refused > 0 && refused < NUM_RUNS, `${refused} generated sets refused`)
})

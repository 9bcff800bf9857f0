import t, { type Test } from 'tap'
import { buildPriceBooks } from '../../src/catalog/catalog.js'
import type { LoadError } from '../../src/shared/source-files.js'
import type { SourceFile } from '../../src/rules/read-files.js'
import { buildRuleSet } from '../../src/rules/rule-set.js'
import { bookFile, catalogFile, product } from '../helpers/catalog.js'

/**
 * Static checks of a rule set, one failing fixture per check, each asserting the exact
 * error (file, rule id, JSON pointer, message). Everything is built in memory.
 */

type Json = Record<string, unknown>

const BOOKS = [catalogFile(), bookFile()]

const ADJUST = { type: 'price.adjust', params: { percent: '10', label: 'Ten off' } }

function rule(id: string, extra: Json = {}): Json {
  return {
    id,
    description: `Rule ${id}`,
    owner: 'pricing@example.test',
    effective: { from: '2026-01-01' },
    priority: 100,
    scope: 'line',
    conditions: { all: [{ fact: 'line', path: '$.sku', operator: 'equal', value: 'WIDGET' }] },
    event: ADJUST,
    ...extra,
  }
}

function leaf(fact: string, path: string | undefined, operator: string, value: unknown): Json {
  return { fact, ...(path === undefined ? {} : { path }), operator, value }
}

function all(...leaves: Json[]): Json {
  return { all: leaves }
}

/** Builds from rule files given as { 'pricing/a.yaml': [rules…] }. */
function build(files: Record<string, unknown[]>, priceBooks: SourceFile[] = BOOKS) {
  return buildRuleSet({ rules: Object.entries(files).map(([file, rules]) => ({ file, content: { rules } })), priceBooks })
}

function errorsOf(files: Record<string, unknown[]>): LoadError[] {
  const { ruleSet, errors } = build(files)
  if (errors.length > 0 && ruleSet) throw new Error('a rule set with errors must not be built')
  return errors
}

/** Exactly one error, with this file, rule id and path, whose message contains `message`. */
function assertOneError(t: Test, errors: LoadError[], expected: { file: string; ruleId?: string; path: string; message: string }): void {
  t.equal(errors.length, 1, `one error, got ${JSON.stringify(errors)}`)
  const e = errors[0]
  t.ok(e, 'an error')
  if (!e) return
  t.equal(e.file, expected.file)
  t.equal(e.ruleId, expected.ruleId)
  t.equal(e.path, expected.path)
  t.match(e.message, expected.message)
  t.ok(e.message.includes(expected.message), `message "${e.message}" contains "${expected.message}"`)
}

function assertClean(t: Test, files: Record<string, unknown[]>): void {
  const { ruleSet, errors } = build(files)
  t.same(errors, [], 'no errors')
  t.ok(ruleSet, 'rule set built')
}

t.test('the baseline fixture is valid', async (t) => {
  assertClean(t, { 'pricing/a.yaml': [rule('p.ok')] })
})

t.test('schema violations', async (t) => {
  t.test('missing owner: required-property error at /rules/0/owner naming the rule', async (t) => {
    const { owner: _owner, ...noOwner } = rule('p.no-owner')
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.fine'), noOwner] })
    t.same(errors, [
      { file: 'pricing/a.yaml', ruleId: 'p.no-owner', path: '/rules/1/owner', message: 'Expected required property' },
      { file: 'pricing/a.yaml', ruleId: 'p.no-owner', path: '/rules/1/owner', message: 'Expected string' },
    ])
  })

  t.test('unknown event type for the set', async (t) => {
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.bad-event', { event: { type: 'price.discount', params: { percent: '10', label: 'x' } } })] })
    assertOneError(t, errors, { file: 'pricing/a.yaml', ruleId: 'p.bad-event', path: '/rules/0/event', message: 'Expected union value' })
  })

  t.test("an event from another set's catalogue is refused; the same rule in its own set is fine", async (t) => {
    const approval = { type: 'approval.require', params: { role: 'finance', level: 1, reason: 'Finance looks' } }
    const quoteRule = rule('x.approval', { scope: 'quote', conditions: all(leaf('quote', '$.lineCount', 'greaterThan', 3)), event: approval })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [quoteRule] }), {
      file: 'pricing/a.yaml',
      ruleId: 'x.approval',
      path: '/rules/0/event',
      message: 'Expected union value',
    })
    assertClean(t, { 'approvals/a.yaml': [quoteRule] })
    // And the other way round: a pricing event in the approvals folder. Approvals has a single
    // event type, so the schema is no union and the errors name the field.
    const errors = errorsOf({ 'approvals/a.yaml': [rule('x.pricing', { scope: 'quote', conditions: all(leaf('quote', '$.lineCount', 'greaterThan', 3)) })] })
    t.same(errors[0], { file: 'approvals/a.yaml', ruleId: 'x.pricing', path: '/rules/0/event/type', message: "Expected 'approval.require'" })
    t.ok(errors.length > 1)
    t.ok(
      errors.every((e) => e.file === 'approvals/a.yaml' && e.ruleId === 'x.pricing' && e.path.startsWith('/rules/0/event/')),
      'every error is inside the event',
    )
  })

  t.test('a file failing the schema is not static-checked, and stops nothing else from being reported', async (t) => {
    const { owner: _owner, ...noOwner } = rule('p.no-owner')
    const errors = errorsOf({ 'pricing/a.yaml': [noOwner], 'pricing/b.yaml': [rule('p.other', { effective: { from: '2026-05-01', to: '2026-04-01' } })] })
    t.same(
      errors.map((e) => [e.file, e.ruleId, e.path]),
      [
        ['pricing/a.yaml', 'p.no-owner', '/rules/0/owner'],
        ['pricing/a.yaml', 'p.no-owner', '/rules/0/owner'],
        ['pricing/b.yaml', 'p.other', '/rules/0/effective/to'],
      ],
    )
  })

  t.test('an empty rules list is a schema error without a rule id', async (t) => {
    const errors = errorsOf({ 'pricing/a.yaml': [] })
    t.equal(errors.length, 1)
    t.same(errors[0], { file: 'pricing/a.yaml', path: '/rules', message: 'Expected array length to be greater or equal to 1' })
  })
})

t.test('a rule file in an unknown folder', async (t) => {
  const errors = errorsOf({ 'discounts/a.yaml': [rule('p.ok')], 'a.yaml': [rule('p.ok2')] })
  t.same(errors, [
    {
      file: 'discounts/a.yaml',
      path: '',
      message: 'rule files live in a folder named after their set: configuration, pricing, guardrails, approvals, recommendations, tax',
    },
    {
      file: 'a.yaml',
      path: '',
      message: 'rule files live in a folder named after their set: configuration, pricing, guardrails, approvals, recommendations, tax',
    },
  ])
})

t.test('duplicate rule ids across files (and sets)', async (t) => {
  const guard = rule('dup.id', { event: { type: 'guardrail.limit', params: { metric: 'discountPercent', max: '30', outcome: 'blocked', reason: 'Too much' } } })
  const errors = errorsOf({ 'pricing/a.yaml': [rule('p.other'), rule('dup.id', { priority: 200 })], 'guardrails/b.yaml': [guard] })
  assertOneError(t, errors, { file: 'guardrails/b.yaml', ruleId: 'dup.id', path: '/rules/0/id', message: 'duplicate rule id; first defined in pricing/a.yaml' })
})

t.test('conditions: facts and properties', async (t) => {
  t.test('unknown fact', async (t) => {
    const errors = errorsOf({
      'pricing/a.yaml': [rule('p.fact', { conditions: all(leaf('line', '$.sku', 'equal', 'WIDGET'), leaf('customer', '$.tier', 'equal', 'gold')) })],
    })
    assertOneError(t, errors, {
      file: 'pricing/a.yaml',
      ruleId: 'p.fact',
      path: '/rules/0/conditions/all/1/fact',
      message: 'unknown fact "customer"; known: line, quote, account, cartQuantity',
    })
  })

  t.test('unknown property of a fact', async (t) => {
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.prop', { conditions: all(leaf('line', '$.colour', 'equal', 'red')) })] })
    assertOneError(t, errors, { file: 'pricing/a.yaml', ruleId: 'p.prop', path: '/rules/0/conditions/all/0/path', message: 'line has no property "colour"' })
    const account = errorsOf({ 'pricing/a.yaml': [rule('p.acct', { conditions: all(leaf('account', '$.tier', 'equal', 'gold')) })] })
    assertOneError(t, account, { file: 'pricing/a.yaml', ruleId: 'p.acct', path: '/rules/0/conditions/all/0/path', message: 'account has no property "tier"' })
  })

  t.test('a static fact without a path', async (t) => {
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.nopath', { conditions: all(leaf('quote', undefined, 'equal', 'x')) })] })
    assertOneError(t, errors, {
      file: 'pricing/a.yaml',
      ruleId: 'p.nopath',
      path: '/rules/0/conditions/all/0/path',
      message: 'fact quote needs a path such as $.currency',
    })
  })

  t.test('a dynamic fact needs its param, naming a known sku', async (t) => {
    const missing = errorsOf({ 'pricing/a.yaml': [rule('p.dyn', { conditions: all(leaf('cartQuantity', undefined, 'greaterThan', 3)) })] })
    assertOneError(t, missing, {
      file: 'pricing/a.yaml',
      ruleId: 'p.dyn',
      path: '/rules/0/conditions/all/0/params/sku',
      message: 'fact cartQuantity needs param "sku"',
    })
    const unknown = errorsOf({
      'pricing/a.yaml': [rule('p.dyn2', { conditions: all({ fact: 'purchased', params: { sku: 'NOPE' }, operator: 'equal', value: true }) })],
    })
    assertOneError(t, unknown, { file: 'pricing/a.yaml', ruleId: 'p.dyn2', path: '/rules/0/conditions/all/0/params/sku', message: 'unknown sku NOPE' })
  })

  t.test('a priced fact in a pricing rule; the same condition is fine in guardrails', async (t) => {
    const cond = all(leaf('line', '$.discountPercent', 'greaterThan', 20))
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.priced', { conditions: cond })] })
    assertOneError(t, errors, {
      file: 'pricing/a.yaml',
      ruleId: 'p.priced',
      path: '/rules/0/conditions/all/0/path',
      message: 'line.discountPercent is only known after pricing (guardrails, approvals, recommendations)',
    })
    const quotePriced = errorsOf({
      'configuration/a.yaml': [
        rule('c.priced', {
          scope: 'quote',
          conditions: all(leaf('quote', '$.netTotal', 'greaterThan', 1000)),
          event: { type: 'config.warn', params: { message: 'Big' } },
        }),
      ],
    })
    assertOneError(t, quotePriced, {
      file: 'configuration/a.yaml',
      ruleId: 'c.priced',
      path: '/rules/0/conditions/all/0/path',
      message: 'quote.netTotal is only known after pricing',
    })
    assertClean(t, {
      'guardrails/a.yaml': [
        rule('g.priced', { conditions: cond, event: { type: 'guardrail.limit', params: { outcome: 'needs_approval', reason: 'Discounted' } } }),
      ],
    })
  })

  t.test('a line fact in a quote-scope rule, even nested', async (t) => {
    const errors = errorsOf({
      'pricing/a.yaml': [
        rule('p.quote-line', {
          scope: 'quote',
          conditions: all(leaf('quote', '$.currency', 'equal', 'EUR'), {
            any: [leaf('quote', '$.channel', 'equal', 'web'), { not: leaf('line', '$.quantity', 'greaterThan', 5) }],
          }),
        }),
      ],
    })
    assertOneError(t, errors, {
      file: 'pricing/a.yaml',
      ruleId: 'p.quote-line',
      path: '/rules/0/conditions/all/1/any/1/not/fact',
      message: 'a quote-scope rule has no line fact; use scope: line',
    })
  })
})

t.test('conditions: operators and values', async (t) => {
  t.test('unknown operator', async (t) => {
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.op', { conditions: all(leaf('line', '$.quantity', 'atLeast', 5)) })] })
    assertOneError(t, errors, { file: 'pricing/a.yaml', ruleId: 'p.op', path: '/rules/0/conditions/all/0/operator', message: 'unknown operator "atLeast"' })
  })

  t.test('in, notIn and containsAny need a list', async (t) => {
    for (const [operator, path, value] of [
      ['in', '$.sku', 'WIDGET'],
      ['notIn', '$.family', 'hardware'],
      ['containsAny', '$.options', 'GADGET'],
    ] as const) {
      const errors = errorsOf({ 'pricing/a.yaml': [rule('p.in', { conditions: all(leaf('line', path, operator, value)) })] })
      assertOneError(t, errors, {
        file: 'pricing/a.yaml',
        ruleId: 'p.in',
        path: '/rules/0/conditions/all/0/value',
        message: `operator ${operator} needs a list`,
      })
    }
    assertClean(t, { 'pricing/a.yaml': [rule('p.in-ok', { conditions: all(leaf('line', '$.sku', 'in', ['WIDGET', 'GADGET'])) })] })
  })

  t.test('between needs [min, max] numbers', async (t) => {
    for (const value of [5, [1], [1, 2, 3], [1, '9'], null]) {
      const errors = errorsOf({ 'pricing/a.yaml': [rule('p.between', { conditions: all(leaf('line', '$.quantity', 'between', value)) })] })
      assertOneError(t, errors, {
        file: 'pricing/a.yaml',
        ruleId: 'p.between',
        path: '/rules/0/conditions/all/0/value',
        message: 'operator between needs [min, max] numbers',
      })
    }
    assertClean(t, { 'pricing/a.yaml': [rule('p.between-ok', { conditions: all(leaf('line', '$.quantity', 'between', [1, 9])) })] })
  })

  t.test('conditions nested deeper than 10', async (t) => {
    let node: Json = leaf('line', '$.sku', 'equal', 'WIDGET')
    for (let i = 0; i < 11; i++) node = { not: node }
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.deep', { conditions: node })] })
    assertOneError(t, errors, {
      file: 'pricing/a.yaml',
      ruleId: 'p.deep',
      path: `/rules/0/conditions${'/not'.repeat(11)}`,
      message: 'conditions nested deeper than 10',
    })
  })
})

t.test('unknown skus', async (t) => {
  t.test('in a condition on line.sku (equal and in)', async (t) => {
    const errors = errorsOf({ 'pricing/a.yaml': [rule('p.sku', { conditions: all(leaf('line', '$.sku', 'equal', 'NOPE')) })] })
    assertOneError(t, errors, { file: 'pricing/a.yaml', ruleId: 'p.sku', path: '/rules/0/conditions/all/0/value', message: 'unknown sku NOPE' })
    const list = errorsOf({ 'pricing/a.yaml': [rule('p.sku-in', { conditions: all(leaf('line', '$.sku', 'in', ['WIDGET', 'MISSING-1'])) })] })
    assertOneError(t, list, { file: 'pricing/a.yaml', ruleId: 'p.sku-in', path: '/rules/0/conditions/all/0/value', message: 'unknown sku MISSING-1' })
  })

  t.test('in config.require, config.exclude and recommend.add', async (t) => {
    const require = rule('c.req', { event: { type: 'config.require', params: { sku: 'NOPE', reason: 'Needs it' } } })
    assertOneError(t, errorsOf({ 'configuration/a.yaml': [require] }), {
      file: 'configuration/a.yaml',
      ruleId: 'c.req',
      path: '/rules/0/event/params/sku',
      message: 'unknown sku NOPE',
    })
    const exclude = rule('c.exc', { event: { type: 'config.exclude', params: { skus: ['GADGET', 'NOPE'], reason: 'No' } } })
    assertOneError(t, errorsOf({ 'configuration/a.yaml': [exclude] }), {
      file: 'configuration/a.yaml',
      ruleId: 'c.exc',
      path: '/rules/0/event/params/skus/1',
      message: 'unknown sku NOPE',
    })
    const rec = rule('r.rec', {
      scope: 'quote',
      conditions: all(leaf('quote', '$.lineCount', 'greaterThan', 0)),
      event: { type: 'recommend.add', params: { sku: 'NOPE', kind: 'upsell', reason: 'Try' } },
    })
    assertOneError(t, errorsOf({ 'recommendations/a.yaml': [rec] }), {
      file: 'recommendations/a.yaml',
      ruleId: 'r.rec',
      path: '/rules/0/event/params/sku',
      message: 'unknown sku NOPE',
    })
  })

  t.test('in appliesTo', async (t) => {
    const r = rule('p.applies', {
      scope: 'quote',
      conditions: all(leaf('quote', '$.currency', 'equal', 'EUR')),
      event: { type: 'price.adjust', params: { percent: '5', label: 'Five', appliesTo: { skus: ['WIDGET', 'NOPE'], families: ['hardware'] } } },
    })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.applies',
      path: '/rules/0/event/params/appliesTo/skus/1',
      message: 'unknown sku NOPE',
    })
  })
})

t.test('json-logic in event params', async (t) => {
  t.test('method is forbidden', async (t) => {
    const r = rule('p.method', {
      event: { type: 'price.adjust', params: { percent: { $logic: { method: [{ var: 'line.sku' }, 'toLowerCase'] } }, label: 'x' } },
    })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.method',
      path: '/rules/0/event/params/percent/$logic/method',
      message: 'json-logic operation "method" is not allowed',
    })
  })

  t.test('log is forbidden, deep inside an allowed expression', async (t) => {
    const r = rule('p.log', { event: { type: 'price.adjust', params: { percent: { $logic: { '+': [1, { log: 2 }] } }, label: 'x' } } })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.log',
      path: '/rules/0/event/params/percent/$logic/+/1/log',
      message: 'json-logic operation "log" is not allowed',
    })
  })

  t.test('a too-deep expression', async (t) => {
    let expr: unknown = 1
    for (let i = 0; i < 20; i++) expr = { '+': [expr] }
    const r = rule('p.deep-logic', { event: { type: 'price.adjust', params: { percent: { $logic: expr }, label: 'x' } } })
    // Each { "+": [ … ] } level adds two: the operation's value, then the array item. Depth 33 is the 17th array.
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.deep-logic',
      path: `/rules/0/event/params/percent/$logic${'/+/0'.repeat(16)}/+`,
      message: 'json-logic nested deeper than 32',
    })
    // 16 levels stay within the limit.
    let ok: unknown = 1
    for (let i = 0; i < 16; i++) ok = { '+': [ok] }
    assertClean(t, { 'pricing/a.yaml': [rule('p.ok-logic', { event: { type: 'price.adjust', params: { percent: { $logic: ok }, label: 'x' } } })] })
  })

  t.test('an operation object with two keys', async (t) => {
    const r = rule('p.two-keys', { event: { type: 'price.set', params: { unitPrice: { $logic: { '+': [1, 2], '-': [3, 1] } }, label: 'x' } } })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.two-keys',
      path: '/rules/0/event/params/unitPrice/$logic',
      message: 'exactly one key',
    })
  })
})

t.test('contradictory conditions', async (t) => {
  t.test('equal A and equal B on line.sku', async (t) => {
    const r = rule('p.contra-sku', { conditions: all(leaf('line', '$.sku', 'equal', 'WIDGET'), leaf('line', '$.sku', 'equal', 'GADGET')) })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.contra-sku',
      path: '/rules/0/conditions',
      message: 'contradictory conditions on line.sku: the rule can never fire',
    })
  })

  t.test('equal outside an in list', async (t) => {
    const r = rule('p.contra-in', { conditions: all(leaf('line', '$.sku', 'in', ['WIDGET', 'GADGET']), leaf('line', '$.sku', 'equal', 'SEAT')) })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.contra-in',
      path: '/rules/0/conditions',
      message: 'contradictory conditions on line.sku',
    })
    assertClean(t, {
      'pricing/a.yaml': [rule('p.in-eq', { conditions: all(leaf('line', '$.sku', 'in', ['WIDGET', 'GADGET']), leaf('line', '$.sku', 'equal', 'GADGET')) })],
    })
  })

  t.test('greaterThan 10 and lessThan 5 on quantity', async (t) => {
    const r = rule('p.contra-qty', { conditions: all(leaf('line', '$.quantity', 'greaterThan', 10), leaf('line', '$.quantity', 'lessThan', 5)) })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.contra-qty',
      path: '/rules/0/conditions',
      message: 'contradictory conditions on line.quantity: the rule can never fire',
    })
  })

  t.test('strict and inclusive bounds meeting at one point', async (t) => {
    const strict = rule('p.contra-point', { conditions: all(leaf('line', '$.quantity', 'greaterThan', 5), leaf('line', '$.quantity', 'lessThanInclusive', 5)) })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [strict] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.contra-point',
      path: '/rules/0/conditions',
      message: 'contradictory conditions on line.quantity',
    })
    // ≥ 5 and ≤ 5 leaves exactly 5: fine.
    assertClean(t, {
      'pricing/a.yaml': [
        rule('p.point', { conditions: all(leaf('line', '$.quantity', 'greaterThanInclusive', 5), leaf('line', '$.quantity', 'lessThanInclusive', 5)) }),
      ],
    })
  })

  t.test('between with min above max, and equal outside a range', async (t) => {
    const between = rule('p.contra-between', { conditions: all(leaf('line', '$.quantity', 'between', [10, 1])) })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [between] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.contra-between',
      path: '/rules/0/conditions',
      message: 'contradictory conditions on line.quantity',
    })
    const eq = rule('p.contra-eq', { conditions: all(leaf('line', '$.quantity', 'equal', 3), leaf('line', '$.quantity', 'greaterThanInclusive', 4)) })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [eq] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.contra-eq',
      path: '/rules/0/conditions',
      message: 'contradictory conditions on line.quantity',
    })
  })

  t.test('the same conditions under any are not analysed (no false positive)', async (t) => {
    assertClean(t, {
      'pricing/a.yaml': [rule('p.any', { conditions: { any: [leaf('line', '$.sku', 'equal', 'WIDGET'), leaf('line', '$.sku', 'equal', 'GADGET')] } })],
    })
  })
})

t.test('effective.to before effective.from', async (t) => {
  const r = rule('p.window', { effective: { from: '2026-06-01', to: '2026-05-31' } })
  assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
    file: 'pricing/a.yaml',
    ruleId: 'p.window',
    path: '/rules/0/effective/to',
    message: 'is before effective.from: the rule can never fire',
  })
  assertClean(t, { 'pricing/a.yaml': [rule('p.one-day', { effective: { from: '2026-06-01', to: '2026-06-01' } })] })
})

t.test('conflicts between base-price rules', async (t) => {
  const set = (price: string) => ({ type: 'price.set', params: { unitPrice: price, label: `Set ${price}` } })

  t.test('two price.set rules, same priority, overlapping conditions', async (t) => {
    const a = rule('p.set-a', { priority: 600, event: set('9.00') })
    const b = rule('p.set-b', {
      priority: 600,
      conditions: all(leaf('line', '$.sku', 'in', ['WIDGET', 'GADGET']), leaf('line', '$.quantity', 'greaterThan', 5)),
      event: set('8.00'),
    })
    const errors = errorsOf({ 'pricing/a.yaml': [a], 'pricing/b.yaml': [b] })
    assertOneError(t, errors, {
      file: 'pricing/b.yaml',
      ruleId: 'p.set-b',
      path: '/rules/0/priority',
      message: 'conflicts with p.set-a (pricing/a.yaml): same priority 600, both price.set, and their conditions can overlap',
    })
  })

  t.test('price.set and price.tiered conflict too', async (t) => {
    const a = rule('p.set', { priority: 500, event: set('9.00') })
    const b = rule('p.tiered', {
      priority: 500,
      event: {
        type: 'price.tiered',
        params: {
          mode: 'slab',
          tiers: [
            { upTo: 5, unitPrice: '9.00' },
            { upTo: null, unitPrice: '8.00' },
          ],
          label: 'Tiers',
        },
      },
    })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [a, b] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.tiered',
      path: '/rules/1/priority',
      message: 'conflicts with p.set (pricing/a.yaml): same priority 500, both price.set',
    })
  })

  t.test('two adjustments claiming one stacking group at one priority', async (t) => {
    const adj = (id: string) => rule(id, { priority: 300, event: { type: 'price.adjust', params: { percent: '5', label: id, group: 'volume' } } })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [adj('p.g1'), adj('p.g2')] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.g2',
      path: '/rules/1/priority',
      message: 'both price.adjust in group volume',
    })
  })

  t.test('a line rule and a quote rule claiming one group at one priority conflict (both compete on each line)', async (t) => {
    const line = rule('p.line-group', { priority: 300, event: { type: 'price.adjust', params: { percent: '10', label: 'L', group: 'volume' } } })
    const quote = rule('p.quote-group', {
      priority: 300,
      scope: 'quote',
      conditions: all(leaf('quote', '$.lineCount', 'greaterThan', 0)),
      event: { type: 'price.adjust', params: { percent: '30', label: 'Q', group: 'volume' } },
    })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [line, quote] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.quote-group',
      path: '/rules/1/priority',
      message: 'conflicts with p.line-group (pricing/a.yaml): same priority 300, both price.adjust in group volume',
    })
  })

  t.test('non-conflict twins: different priority; disjoint skus; disjoint quantity ranges; disjoint windows; ungrouped adjustments', async (t) => {
    assertClean(t, { 'pricing/a.yaml': [rule('p.a', { priority: 600, event: set('9.00') }), rule('p.b', { priority: 601, event: set('8.00') })] })
    assertClean(t, {
      'pricing/a.yaml': [
        rule('p.a', { priority: 600, event: set('9.00') }),
        rule('p.b', { priority: 600, conditions: all(leaf('line', '$.sku', 'equal', 'GADGET')), event: set('8.00') }),
      ],
    })
    assertClean(t, {
      'pricing/a.yaml': [
        rule('p.a', { priority: 600, conditions: all(leaf('line', '$.quantity', 'lessThan', 10)), event: set('9.00') }),
        rule('p.b', { priority: 600, conditions: all(leaf('line', '$.quantity', 'greaterThanInclusive', 10)), event: set('8.00') }),
      ],
    })
    assertClean(t, {
      'pricing/a.yaml': [
        rule('p.a', { priority: 600, effective: { from: '2026-01-01', to: '2026-06-30' }, event: set('9.00') }),
        rule('p.b', { priority: 600, effective: { from: '2026-07-01' }, event: set('8.00') }),
      ],
    })
    assertClean(t, { 'pricing/a.yaml': [rule('p.a'), rule('p.b')] })
  })

  t.test('touching windows (to == from) still conflict', async (t) => {
    const errors = errorsOf({
      'pricing/a.yaml': [
        rule('p.a', { priority: 600, effective: { from: '2026-01-01', to: '2026-07-01' }, event: set('9.00') }),
        rule('p.b', { priority: 600, effective: { from: '2026-07-01' }, event: set('8.00') }),
      ],
    })
    assertOneError(t, errors, { file: 'pricing/a.yaml', ruleId: 'p.b', path: '/rules/1/priority', message: 'conflicts with p.a' })
  })
})

t.test('event checks', async (t) => {
  t.test('price.adjust with both percent and amount, or neither', async (t) => {
    const both = rule('p.both', { event: { type: 'price.adjust', params: { percent: '5', amount: '1.00', label: 'x' } } })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [both] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.both',
      path: '/rules/0/event/params',
      message: 'give exactly one of percent or amount',
    })
    const neither = rule('p.neither', { event: { type: 'price.adjust', params: { label: 'x' } } })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [neither] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.neither',
      path: '/rules/0/event/params',
      message: 'give exactly one of percent or amount',
    })
  })

  t.test('per with a percent; appliesTo on a line rule', async (t) => {
    const per = rule('p.per', { event: { type: 'price.adjust', params: { percent: '5', per: 'line', label: 'x' } } })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [per] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.per',
      path: '/rules/0/event/params/per',
      message: '"per" applies to amounts only',
    })
    const applies = rule('p.line-applies', { event: { type: 'price.adjust', params: { percent: '5', label: 'x', appliesTo: { families: ['hardware'] } } } })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [applies] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.line-applies',
      path: '/rules/0/event/params/appliesTo',
      message: 'appliesTo is for quote-scope rules',
    })
  })

  t.test('price.set with scope quote', async (t) => {
    const r = rule('p.set-quote', {
      scope: 'quote',
      conditions: all(leaf('quote', '$.currency', 'equal', 'EUR')),
      event: { type: 'price.set', params: { unitPrice: '1.00', label: 'x' } },
    })
    assertOneError(t, errorsOf({ 'pricing/a.yaml': [r] }), {
      file: 'pricing/a.yaml',
      ruleId: 'p.set-quote',
      path: '/rules/0/scope',
      message: 'price.set prices a line: use scope: line',
    })
  })

  t.test('price.tiered tiers must ascend and end open', async (t) => {
    const tiered = (tiers: unknown[]) => rule('p.tiers', { event: { type: 'price.tiered', params: { mode: 'range', tiers, label: 'x' } } })
    assertOneError(
      t,
      errorsOf({
        'pricing/a.yaml': [
          tiered([
            { upTo: 10, unitPrice: '2.00' },
            { upTo: 10, unitPrice: '1.00' },
            { upTo: null, unitPrice: '0.50' },
          ]),
        ],
      }),
      {
        file: 'pricing/a.yaml',
        ruleId: 'p.tiers',
        path: '/rules/0/event/params/tiers/1/upTo',
        message: 'tiers must ascend and only the last may be open (upTo: null)',
      },
    )
    assertOneError(
      t,
      errorsOf({
        'pricing/a.yaml': [
          tiered([
            { upTo: 10, unitPrice: '2.00' },
            { upTo: 20, unitPrice: '1.00' },
          ]),
        ],
      }),
      {
        file: 'pricing/a.yaml',
        ruleId: 'p.tiers',
        path: '/rules/0/event/params/tiers/1/upTo',
        message: 'tiers must ascend',
      },
    )
    assertOneError(
      t,
      errorsOf({
        'pricing/a.yaml': [
          tiered([
            { upTo: null, unitPrice: '2.00' },
            { upTo: null, unitPrice: '1.00' },
          ]),
        ],
      }),
      {
        file: 'pricing/a.yaml',
        ruleId: 'p.tiers',
        path: '/rules/0/event/params/tiers/0/upTo',
        message: 'tiers must ascend',
      },
    )
  })

  t.test('guardrail metric without bounds, and bounds without a metric', async (t) => {
    const g = (params: Json, scope = 'line') =>
      rule('g.limit', {
        scope,
        conditions: scope === 'line' ? all(leaf('line', '$.sku', 'equal', 'WIDGET')) : all(leaf('quote', '$.lineCount', 'greaterThan', 0)),
        event: { type: 'guardrail.limit', params: { outcome: 'blocked', reason: 'Limit', ...params } },
      })
    assertOneError(t, errorsOf({ 'guardrails/a.yaml': [g({ metric: 'discountPercent' })] }), {
      file: 'guardrails/a.yaml',
      ruleId: 'g.limit',
      path: '/rules/0/event/params',
      message: 'a metric needs min, max or both',
    })
    assertOneError(t, errorsOf({ 'guardrails/a.yaml': [g({ max: '20' })] }), {
      file: 'guardrails/a.yaml',
      ruleId: 'g.limit',
      path: '/rules/0/event/params/metric',
      message: 'min and max need a metric to compare',
    })
    assertOneError(t, errorsOf({ 'guardrails/a.yaml': [g({ metric: 'netUnitPrice', min: '1.00' }, 'quote')] }), {
      file: 'guardrails/a.yaml',
      ruleId: 'g.limit',
      path: '/rules/0/event/params/metric',
      message: 'netUnitPrice is a line metric: use scope: line',
    })
    assertClean(t, { 'guardrails/a.yaml': [g({ metric: 'discountPercent', max: '20' })] })
  })

  t.test('scope line in approvals and recommendations', async (t) => {
    const approval = rule('a.line', { event: { type: 'approval.require', params: { role: 'finance', level: 1, reason: 'x' } } })
    assertOneError(t, errorsOf({ 'approvals/a.yaml': [approval] }), {
      file: 'approvals/a.yaml',
      ruleId: 'a.line',
      path: '/rules/0/scope',
      message: 'approvals rules decide per quote: use scope: quote',
    })
    const rec = rule('r.line', { event: { type: 'recommend.add', params: { sku: 'GADGET', kind: 'cross_sell', reason: 'x' } } })
    assertOneError(t, errorsOf({ 'recommendations/a.yaml': [rec] }), {
      file: 'recommendations/a.yaml',
      ruleId: 'r.line',
      path: '/rules/0/scope',
      message: 'recommendations rules decide per quote: use scope: quote',
    })
  })
})

t.test('all errors come out at once', async (t) => {
  const errors = errorsOf({
    'pricing/a.yaml': [
      rule('p.multi', {
        effective: { from: '2026-06-01', to: '2026-01-01' },
        conditions: all(leaf('line', '$.colour', 'equal', 'red'), leaf('line', '$.quantity', 'atLeast', 3)),
      }),
    ],
  })
  t.same(
    errors.map((e) => [e.file, e.ruleId, e.path]),
    [
      ['pricing/a.yaml', 'p.multi', '/rules/0/effective/to'],
      ['pricing/a.yaml', 'p.multi', '/rules/0/conditions/all/0/path'],
      ['pricing/a.yaml', 'p.multi', '/rules/0/conditions/all/1/operator'],
    ],
  )

  t.test('across rules, files and the price books', async (t) => {
    const badBook = bookFile({ currency: 'ABC' })
    const { ruleSet, errors } = build(
      { 'pricing/a.yaml': [rule('p.x', { effective: { from: '2026-06-01', to: '2026-01-01' } })], 'nowhere/b.yaml': [rule('p.y')] },
      [catalogFile(), badBook],
    )
    t.equal(ruleSet, undefined)
    // Without price books there is no catalog to check rules against: only book and folder errors.
    t.same(errors, [
      { file: 'eur-list.yaml', path: '/currency', message: 'unknown ISO 4217 currency ABC' },
      {
        file: 'nowhere/b.yaml',
        path: '',
        message: 'rule files live in a folder named after their set: configuration, pricing, guardrails, approvals, recommendations, tax',
      },
    ])
  })
})

t.test('a valid set builds, with content hashes', async (t) => {
  const files = {
    'configuration/a.yaml': [rule('c.warn', { event: { type: 'config.warn', params: { message: 'Check the widget' } } })],
    'pricing/a.yaml': [
      rule('p.low', { priority: 10 }),
      rule('p.high', { priority: 900, event: { type: 'price.set', params: { unitPrice: '9.00', label: 'x' } } }),
    ],
    'guardrails/a.yaml': [
      rule('g.disc', { event: { type: 'guardrail.limit', params: { metric: 'discountPercent', max: '30', outcome: 'blocked', reason: 'x' } } }),
    ],
    'approvals/a.yaml': [
      rule('a.fin', {
        scope: 'quote',
        conditions: all(leaf('quote', '$.netTotal', 'greaterThan', 100000)),
        event: { type: 'approval.require', params: { role: 'finance', level: 2, reason: 'Big deal' } },
      }),
    ],
    'recommendations/a.yaml': [
      rule('r.gadget', {
        scope: 'quote',
        conditions: all(leaf('quote', '$.skus', 'contains', 'WIDGET')),
        event: { type: 'recommend.add', params: { sku: 'GADGET', kind: 'cross_sell', reason: 'Goes well' } },
      }),
    ],
  }
  const { ruleSet, errors } = build(files)
  t.same(errors, [])
  if (!ruleSet) return t.fail('no rule set')
  t.match(ruleSet.hash, /^[0-9a-f]{64}$/)
  t.match(ruleSet.priceBookHash, /^[0-9a-f]{64}$/)
  t.not(ruleSet.hash, ruleSet.priceBookHash)
  t.same(ruleSet.files, [
    { file: 'configuration/a.yaml', set: 'configuration', rules: 1 },
    { file: 'pricing/a.yaml', set: 'pricing', rules: 2 },
    { file: 'guardrails/a.yaml', set: 'guardrails', rules: 1 },
    { file: 'approvals/a.yaml', set: 'approvals', rules: 1 },
    { file: 'recommendations/a.yaml', set: 'recommendations', rules: 1 },
  ])
  // Sorted by set, then priority (high first).
  t.same(
    ruleSet.rules.map((r) => [r.id, r.set, r.file, r.pointer]),
    [
      ['c.warn', 'configuration', 'configuration/a.yaml', '/rules/0'],
      ['p.high', 'pricing', 'pricing/a.yaml', '/rules/1'],
      ['p.low', 'pricing', 'pricing/a.yaml', '/rules/0'],
      ['g.disc', 'guardrails', 'guardrails/a.yaml', '/rules/0'],
      ['a.fin', 'approvals', 'approvals/a.yaml', '/rules/0'],
      ['r.gadget', 'recommendations', 'recommendations/a.yaml', '/rules/0'],
    ],
  )
  t.same(
    ruleSet.bySet.pricing.map((r) => r.id),
    ['p.high', 'p.low'],
  )
  t.equal(ruleSet.priceBooks.books.length, 1)
  t.equal(ruleSet.priceBooks.books[0]?.entries.get('GADGET')?.listMinor, 2550n)

  t.test('the hash ignores key order, but not content', async (t) => {
    const reversed = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reversed)
      if (value && typeof value === 'object')
        return Object.fromEntries(
          Object.entries(value)
            .reverse()
            .map(([k, v]) => [k, reversed(v)]),
        )
      return value
    }
    const again = buildRuleSet({
      rules: Object.entries(files).map(([file, rules]) => ({ file, content: reversed({ rules }) })),
      priceBooks: BOOKS.map((b) => ({ file: b.file, content: reversed(b.content) })),
    })
    t.same(again.errors, [])
    t.equal(again.ruleSet?.hash, ruleSet.hash, 'rule hash independent of key order')
    t.equal(again.ruleSet?.priceBookHash, ruleSet.priceBookHash, 'price-book hash independent of key order')
    // Sanity: the reversal really changed the serialisation.
    t.not(JSON.stringify(reversed(BOOKS[1]!.content)), JSON.stringify(BOOKS[1]!.content))

    const repriced = bookFile()
    ;((repriced.content as { entries: Json[] }).entries[1] as Json).listPrice = '25.51'
    const changedBook = build(files, [catalogFile(), repriced])
    t.same(changedBook.errors, [])
    t.not(changedBook.ruleSet?.priceBookHash, ruleSet.priceBookHash, 'a price change changes the price-book hash')
    t.equal(changedBook.ruleSet?.hash, ruleSet.hash, 'and leaves the rule hash alone')

    const changedRule = build({
      ...files,
      'pricing/a.yaml': [
        rule('p.low', { priority: 10 }),
        rule('p.high', { priority: 900, event: { type: 'price.set', params: { unitPrice: '9.01', label: 'x' } } }),
      ],
    })
    t.same(changedRule.errors, [])
    t.not(changedRule.ruleSet?.hash, ruleSet.hash, 'a price in a rule changes the rule hash')
    t.equal(changedRule.ruleSet?.priceBookHash, ruleSet.priceBookHash)

    const renamed = buildRuleSet({
      rules: Object.entries(files).map(([file, rules]) => ({ file: file.replace('a.yaml', 'z.yaml'), content: { rules } })),
      priceBooks: BOOKS,
    })
    t.not(renamed.ruleSet?.hash, ruleSet.hash, 'the file names are part of the hash')
  })
})

t.test('buildPriceBooks errors', async (t) => {
  t.test('a valid catalog and book', async (t) => {
    const { priceBooks, errors } = buildPriceBooks(BOOKS)
    t.same(errors, [])
    const seat = priceBooks?.books[0]?.entries.get('SEAT')
    t.same(seat, {
      sku: 'SEAT',
      listMinor: 2000n,
      costMinor: null,
      tiering: {
        mode: 'range',
        tiers: [
          { upTo: 10, unitMinor: 2000n },
          { upTo: null, unitMinor: 1800n },
        ],
      },
    })
    t.equal(priceBooks?.catalog.products.get('WIDGET')?.active, true)
  })

  t.test('unknown currency', async (t) => {
    const { priceBooks, errors } = buildPriceBooks([catalogFile(), bookFile({ currency: 'ABC' })])
    t.equal(priceBooks, undefined)
    t.same(errors, [{ file: 'eur-list.yaml', path: '/currency', message: 'unknown ISO 4217 currency ABC' }])
  })

  t.test('unknown sku in a book', async (t) => {
    const { errors } = buildPriceBooks([
      catalogFile(),
      bookFile({
        entries: [
          { sku: 'WIDGET', listPrice: '1.00' },
          { sku: 'NOPE', listPrice: '2.00' },
        ],
      }),
    ])
    t.same(errors, [{ file: 'eur-list.yaml', path: '/entries/1/sku', message: 'unknown sku NOPE' }])
  })

  t.test('bad tier order', async (t) => {
    const tiers = (list: unknown[]) => bookFile({ entries: [{ sku: 'WIDGET', listPrice: '1.00', tiering: { mode: 'slab', tiers: list } }] })
    t.same(
      buildPriceBooks([
        catalogFile(),
        tiers([
          { upTo: 50, unitPrice: '1.00' },
          { upTo: 10, unitPrice: '0.90' },
          { upTo: null, unitPrice: '0.80' },
        ]),
      ]).errors,
      [{ file: 'eur-list.yaml', path: '/entries/0/tiering/tiers', message: 'tier 1 does not ascend' }],
    )
    t.same(
      buildPriceBooks([
        catalogFile(),
        tiers([
          { upTo: 10, unitPrice: '1.00' },
          { upTo: 20, unitPrice: '0.90' },
        ]),
      ]).errors,
      [{ file: 'eur-list.yaml', path: '/entries/0/tiering/tiers', message: 'the last tier must have upTo: null' }],
    )
    t.same(
      buildPriceBooks([
        catalogFile(),
        tiers([
          { upTo: null, unitPrice: '1.00' },
          { upTo: null, unitPrice: '0.90' },
        ]),
      ]).errors,
      [{ file: 'eur-list.yaml', path: '/entries/0/tiering/tiers', message: 'tier 0 has upTo: null but is not the last' }],
    )
  })

  t.test('duplicate sku in a book and in the catalog', async (t) => {
    t.same(
      buildPriceBooks([
        catalogFile(),
        bookFile({
          entries: [
            { sku: 'WIDGET', listPrice: '1.00' },
            { sku: 'WIDGET', listPrice: '2.00' },
          ],
        }),
      ]).errors,
      [{ file: 'eur-list.yaml', path: '/entries/1/sku', message: 'duplicate entry for WIDGET' }],
    )
    t.same(buildPriceBooks([catalogFile([product('WIDGET'), product('WIDGET')]), bookFile({ entries: [{ sku: 'WIDGET', listPrice: '1.00' }] })]).errors, [
      { file: 'catalog.yaml', path: '/products/1/sku', message: 'duplicate sku WIDGET' },
    ])
  })

  t.test('more decimals than the currency has', async (t) => {
    // The error points at the field, not the entry.
    t.same(
      buildPriceBooks([
        catalogFile(),
        bookFile({
          entries: [
            { sku: 'WIDGET', listPrice: '1.005' },
            { sku: 'GADGET', listPrice: '2.00', cost: '0.001' },
          ],
        }),
      ]).errors,
      [
        { file: 'eur-list.yaml', path: '/entries/0/listPrice', message: '1.005 is not an amount in EUR: at most 2 decimal places allowed, got 3' },
        { file: 'eur-list.yaml', path: '/entries/1/cost', message: '0.001 is not an amount in EUR: at most 2 decimal places allowed, got 3' },
      ],
    )
  })

  t.test('duplicate book ids, validTo before validFrom, unknown kind, no catalog', async (t) => {
    t.same(buildPriceBooks([catalogFile(), bookFile(), bookFile({}, 'second.yaml')]).errors, [
      { file: 'second.yaml', path: '/id', message: 'duplicate price book id eur-list' },
    ])
    t.same(buildPriceBooks([catalogFile(), bookFile({ validTo: '2025-12-31' })]).errors, [
      { file: 'eur-list.yaml', path: '/validTo', message: 'is before validFrom' },
    ])
    t.same(buildPriceBooks([catalogFile(), { file: 'x.yaml', content: { kind: 'prices' } }, bookFile()]).errors, [
      { file: 'x.yaml', path: '/kind', message: 'must be "catalog" or "price-book"' },
    ])
    t.same(buildPriceBooks([bookFile({ entries: [{ sku: 'WIDGET', listPrice: '1.00' }] })]).errors, [
      { file: '.', path: '', message: 'no catalog file (kind: catalog) found' },
      { file: 'eur-list.yaml', path: '/entries/0/sku', message: 'unknown sku WIDGET' },
    ])
  })

  t.test('catalog checks: recurring without period, term not a multiple of the period, bundle options', async (t) => {
    const products = [
      product('WIDGET'),
      product('SUB', { type: 'recurring' }),
      product('QSUB', { type: 'recurring', billingPeriod: 'quarter', defaultTermMonths: 10 }),
      product('MSUB', { type: 'recurring', billingPeriod: 'month', billOn: 'order' }),
      product('FEE', { billOn: 'order' }),
    ]
    t.same(buildPriceBooks([catalogFile(products), bookFile({ entries: [{ sku: 'WIDGET', listPrice: '1.00' }] })]).errors, [
      { file: 'catalog.yaml', path: '/products/1/billingPeriod', message: 'a recurring product needs a billing period' },
      { file: 'catalog.yaml', path: '/products/2/defaultTermMonths', message: 'must be a multiple of the quarter billing period' },
      {
        file: 'catalog.yaml',
        path: '/products/3/billOn',
        message: 'only one-time products choose when they are invoiced (recurring ones are billed per period)',
      },
    ])
    const bundleCatalog: SourceFile = {
      file: 'catalog.yaml',
      content: {
        kind: 'catalog',
        segments: ['smb'],
        channels: ['direct'],
        products: [product('WIDGET')],
        bundles: [{ sku: 'KIT', optionGroups: [{ id: 'g', name: 'G', min: 2, max: 1, options: [{ sku: 'WIDGET' }, { sku: 'NOPE' }] }] }],
      },
    }
    t.same(buildPriceBooks([bundleCatalog, bookFile({ entries: [{ sku: 'WIDGET', listPrice: '1.00' }] })]).errors, [
      { file: 'catalog.yaml', path: '/bundles/0/optionGroups/0/min', message: 'exceeds max' },
      { file: '(catalog)', path: '/bundles/KIT', message: 'bundle KIT is not a product' },
      { file: '(catalog)', path: '/bundles/KIT/g', message: 'option NOPE is not a product' },
    ])
  })
})

t.test('tax rules: their own facts, line scope, and a rate and mention coherent with the VAT category', async (t) => {
  const tax = (id: string, params: Json, extra: Json = {}) =>
    rule(id, {
      conditions: all(leaf('seller', '$.country', 'equal', 'FR'), leaf('line', '$.taxCategory', 'equal', 'goods')),
      event: { type: 'tax.apply', params },
      ...extra,
    })
  t.same(
    errorsOf({
      'tax/a.yaml': [tax('t.ok', { category: 'S', ratePercent: '20' }), tax('t.ae', { category: 'AE', ratePercent: '0', mention: 'Autoliquidation' })],
    }),
    [],
  )
  t.same(
    errorsOf({
      'tax/a.yaml': [
        tax('t.zero-standard', { category: 'S', ratePercent: '0' }),
        tax('t.charged-exempt', { category: 'E', ratePercent: '20', mention: 'Exonéré' }),
        tax('t.no-mention', { category: 'AE', ratePercent: '0' }),
        tax('t.quote', { category: 'S', ratePercent: '20' }, { scope: 'quote', conditions: all(leaf('seller', '$.country', 'equal', 'FR')) }),
        tax('t.cart-fact', { category: 'S', ratePercent: '20' }, { conditions: all(leaf('quote', '$.currency', 'equal', 'EUR')) }),
      ],
    }).map((e) => [e.ruleId, e.path, e.message]),
    [
      ['t.zero-standard', '/rules/0/event/params/ratePercent', 'standard rated (S) needs a rate above 0; use Z for zero rated'],
      ['t.charged-exempt', '/rules/1/event/params/ratePercent', 'category E charges no VAT: the rate is "0"'],
      ['t.no-mention', '/rules/2/event/params/mention', 'category AE needs the legal mention printed on the invoice (EN 16931 BR-AE-10)'],
      ['t.quote', '/rules/3/scope', 'tax rules decide per line: use scope: line'],
      ['t.cart-fact', '/rules/4/conditions/all/0/fact', 'unknown fact "quote"; known: line, account, seller, invoice'],
    ],
  )
  t.same(
    errorsOf({ 'pricing/a.yaml': [rule('p.seller', { conditions: all(leaf('seller', '$.country', 'equal', 'FR')) })] }).map((e) => e.message),
    [`unknown fact "seller"; known: line, quote, account, cartQuantity, categoryQuantity, purchased`],
    'pricing rules see the cart, not the invoice',
  )
})

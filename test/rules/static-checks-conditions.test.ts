import t, { type Test } from 'tap'
import type { LoadError } from '../../src/shared/source-files.js'
import type { SourceFile } from '../../src/rules/read-files.js'
import { buildRuleSet } from '../../src/rules/rule-set.js'
import { bookFile, catalogFile, product } from '../helpers/catalog.js'

/**
 * Static checks of condition constructs whose json-rules-engine meaning is easy to get wrong:
 * comparing facts, empty lists, paths on dynamic facts, names inherited from Object.prototype.
 * Each asserts the exact errors (file, rule id, JSON pointer, message).
 */

type Json = Record<string, unknown>

const BOOKS: SourceFile[] = [
  catalogFile([product('WIDGET'), product('GADGET', { category: 'accessory' })]),
  bookFile({
    entries: [
      { sku: 'WIDGET', listPrice: '10.00', cost: '4.00' },
      { sku: 'GADGET', listPrice: '25.50' },
    ],
  }),
]

const GUARD = { type: 'guardrail.limit', params: { outcome: 'needs_approval', reason: 'Look at it' } }

function rule(id: string, conditions: unknown, extra: Json = {}): Json {
  return {
    id,
    description: `Rule ${id}`,
    owner: 'pricing@example.test',
    effective: { from: '2026-01-01' },
    priority: 100,
    scope: 'line',
    conditions,
    event: GUARD,
    ...extra,
  }
}

function errorsOf(set: string, rules: Json[]): LoadError[] {
  const { ruleSet, errors } = buildRuleSet({ rules: [{ file: `${set}/a.yaml`, content: { rules } }], priceBooks: BOOKS })
  if (errors.length > 0 && ruleSet) throw new Error('a rule set with errors must not be built')
  return errors
}

/** Exactly these errors, each given as [path under /rules/0, message]. */
function assertErrors(t: Test, set: string, conditions: unknown, expected: Array<[string, string]>, extra: Json = {}): void {
  const errors = errorsOf(set, [rule('r.one', conditions, extra)])
  t.same(
    errors,
    expected.map(([path, message]) => ({ file: `${set}/a.yaml`, ruleId: 'r.one', path: `/rules/0${path}`, message })),
    JSON.stringify(conditions),
  )
}

const sku = { fact: 'line', path: '$.sku', operator: 'equal', value: 'WIDGET' }

t.test('an empty any is refused; an empty all holds and is accepted', async (t) => {
  const message = 'an empty "any" holds in json-rules-engine, whatever it was meant to test: give it conditions or remove it'
  assertErrors(t, 'guardrails', { any: [] }, [['/conditions/any', message]])
  assertErrors(t, 'guardrails', { all: [sku, { not: { any: [] } }] }, [['/conditions/all/1/not/any', message]])
  assertErrors(t, 'guardrails', { all: [] }, [])
  assertErrors(t, 'guardrails', { all: [sku, { all: [] }] }, [])
})

t.test('comparing facts', async (t) => {
  t.test('net price below unit cost is accepted in guardrails', async (t) => {
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.netUnitPrice', operator: 'lessThan', value: { fact: 'line', path: '$.unitCost' } }] }, [])
    assertErrors(
      t,
      'guardrails',
      { all: [{ fact: 'line', path: '$.quantity', operator: 'greaterThan', value: { fact: 'cartQuantity', params: { sku: 'GADGET' } } }] },
      [],
    )
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.sku', operator: 'in', value: { fact: 'account', path: '$.purchasedSkus' } }] }, [])
  })

  t.test('the compared fact is checked like the tested one', async (t) => {
    const compare = (value: unknown, operator = 'lessThan') => ({ all: [{ fact: 'line', path: '$.netUnitPrice', operator, value }] })
    assertErrors(t, 'guardrails', compare({ fact: 'cost' }), [
      ['/conditions/all/0/value/fact', 'unknown fact "cost"; known: line, quote, account, cartQuantity, categoryQuantity, purchased'],
    ])
    assertErrors(t, 'guardrails', compare({ fact: 'line', path: '$.cost' }), [['/conditions/all/0/value/path', 'line has no property "cost"']])
    assertErrors(t, 'guardrails', compare({ fact: 'line' }), [['/conditions/all/0/value/path', 'fact line needs a path such as $.index']])
    assertErrors(t, 'guardrails', compare({ fact: 'cartQuantity' }), [['/conditions/all/0/value/params/sku', 'fact cartQuantity needs param "sku"']])
    assertErrors(t, 'guardrails', compare({ fact: 'purchased', params: { sku: 'NOPE' } }), [['/conditions/all/0/value/params/sku', 'unknown sku NOPE']])
    assertErrors(t, 'guardrails', compare({ fact: 'line', path: '$.unitCost' }), [], { scope: 'line' })
    assertErrors(
      t,
      'guardrails',
      { all: [{ fact: 'quote', path: '$.netTotal', operator: 'lessThan', value: { fact: 'line', path: '$.netAmount' } }] },
      [['/conditions/all/0/value/fact', 'a quote-scope rule has no line fact; use scope: line']],
      { scope: 'quote' },
    )
  })

  t.test('a priced fact is only compared where it is known', async (t) => {
    const conditions = { all: [{ fact: 'line', path: '$.listUnitPrice', operator: 'greaterThan', value: { fact: 'line', path: '$.netUnitPrice' } }] }
    assertErrors(
      t,
      'pricing',
      conditions,
      [['/conditions/all/0/value/path', 'line.netUnitPrice is only known after pricing (guardrails, approvals, recommendations)']],
      { event: { type: 'price.adjust', params: { percent: '10', label: 'Ten off' } } },
    )
    assertErrors(t, 'guardrails', conditions, [])
  })

  t.test('a reference is exactly { fact, path?, params? }', async (t) => {
    const compare = (value: unknown) => ({ all: [{ fact: 'line', path: '$.netUnitPrice', operator: 'lessThan', value }] })
    const message = 'a fact comparison is { fact, path, params }: fact a name, path like $.unitCost, params an object'
    assertErrors(t, 'guardrails', compare({ fact: 'line', path: '$.unitCost', scale: 2 }), [['/conditions/all/0/value', message]])
    assertErrors(t, 'guardrails', compare({ fact: 'line', path: 'unitCost' }), [['/conditions/all/0/value', message]])
    assertErrors(t, 'guardrails', compare({ fact: 7 }), [['/conditions/all/0/value', message]])
    assertErrors(t, 'guardrails', compare({ fact: 'cartQuantity', params: 'WIDGET' }), [['/conditions/all/0/value', message]])
  })

  t.test('list operators compare with a list fact; between takes no fact', async (t) => {
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.sku', operator: 'in', value: { fact: 'quote', path: '$.currency' } }] }, [
      ['/conditions/all/0/value', 'operator in compares with a list fact; quote.currency is string'],
    ])
    assertErrors(
      t,
      'guardrails',
      { all: [{ fact: 'line', path: '$.options', operator: 'containsAny', value: { fact: 'cartQuantity', params: { sku: 'WIDGET' } } }] },
      [['/conditions/all/0/value', 'operator containsAny compares with a list fact; cartQuantity is number']],
    )
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.quantity', operator: 'between', value: { fact: 'line', path: '$.index' } }] }, [
      ['/conditions/all/0/value', 'operator between needs [min, max] numbers'],
    ])
  })

  t.test('any other object as a value is refused: it would equal nothing', async (t) => {
    const message = 'value is a string, a number, true/false, null, a list of those, or a fact comparison { fact, path, params }'
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.sku', operator: 'equal', value: { sku: 'WIDGET' } }] }, [
      ['/conditions/all/0/value', message],
    ])
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.sku', operator: 'in', value: ['WIDGET', { sku: 'GADGET' }] }] }, [
      ['/conditions/all/0/value/1', message],
    ])
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.sku', operator: 'in', value: ['WIDGET', ['GADGET']] }] }, [
      ['/conditions/all/0/value/1', message],
    ])
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.unitCost', operator: 'equal', value: null }] }, [])
  })

  t.test('two comparisons on one property are no contradiction', async (t) => {
    assertErrors(
      t,
      'guardrails',
      {
        all: [
          { fact: 'line', path: '$.netUnitPrice', operator: 'equal', value: { fact: 'line', path: '$.listUnitPrice' } },
          { fact: 'line', path: '$.netUnitPrice', operator: 'equal', value: { fact: 'line', path: '$.unitCost' } },
        ],
      },
      [],
    )
  })
})

t.test('dynamic facts: no path, known params only, known categories', async (t) => {
  assertErrors(t, 'guardrails', { all: [{ fact: 'cartQuantity', params: { sku: 'WIDGET' }, path: '$.total', operator: 'greaterThan', value: 3 }] }, [
    ['/conditions/all/0/path', 'cartQuantity is a number, not an object: remove the path'],
  ])
  assertErrors(t, 'guardrails', { all: [{ fact: 'purchased', params: { sku: 'WIDGET', since: '2025-01-01' }, operator: 'equal', value: true }] }, [
    ['/conditions/all/0/params/since', 'fact purchased takes no param "since"'],
  ])
  assertErrors(t, 'guardrails', { all: [{ fact: 'categoryQuantity', params: { category: 'gizmo' }, operator: 'greaterThan', value: 3 }] }, [
    ['/conditions/all/0/params/category', 'unknown category gizmo; known: accessory, device'],
  ])
  assertErrors(t, 'guardrails', { all: [{ fact: 'categoryQuantity', params: { category: 'device' }, operator: 'greaterThan', value: 3 }] }, [])
  assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.sku', params: { sku: 'WIDGET' }, operator: 'equal', value: 'WIDGET' }] }, [
    ['/conditions/all/0/params', 'fact line takes no params'],
  ])
})

t.test('names inherited from Object.prototype are unknown names, reported, never thrown', async (t) => {
  for (const operator of ['toString', 'constructor', 'valueOf', '__proto__', 'hasOwnProperty']) {
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.sku', operator, value: 'WIDGET' }] }, [
      ['/conditions/all/0/operator', `unknown operator "${operator}"`],
    ])
  }
  for (const fact of ['toString', 'constructor', 'valueOf', '__proto__']) {
    assertErrors(t, 'guardrails', { all: [{ fact, path: '$.sku', operator: 'equal', value: 'WIDGET' }] }, [
      ['/conditions/all/0/fact', `unknown fact "${fact}"; known: line, quote, account, cartQuantity, categoryQuantity, purchased`],
    ])
  }
  for (const property of ['constructor', 'toString', '__proto__']) {
    assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: `$.${property}`, operator: 'equal', value: 'WIDGET' }] }, [
      ['/conditions/all/0/path', `line has no property "${property}"`],
    ])
  }
  assertErrors(t, 'guardrails', { all: [{ fact: 'categoryQuantity', params: { category: 'constructor' }, operator: 'equal', value: 1 }] }, [
    ['/conditions/all/0/params/category', 'unknown category constructor; known: accessory, device'],
  ])
  const approval = { type: 'approval.require', params: { role: 'finance', level: 1, reason: 'Finance looks', upTo: { 'quote.toString': '10' } } }
  assertErrors(
    t,
    'approvals',
    { all: [{ fact: 'quote', path: '$.lineCount', operator: 'greaterThan', value: 1 }] },
    [['/event/params/upTo/quote.toString', 'quote.toString is not a numeric quote fact']],
    { scope: 'quote', event: approval },
  )
})

t.test('NaN and infinities (YAML .nan, .inf) are reported, not thrown when the set is hashed', async (t) => {
  const message = 'not a finite number (YAML .nan or .inf): a rule compares and stores only finite numbers'
  assertErrors(t, 'guardrails', { all: [{ fact: 'line', path: '$.quantity', operator: 'equal', value: Number.NaN }] }, [['/conditions/all/0/value', message]])
  assertErrors(t, 'guardrails', { all: [{ not: { fact: 'cartQuantity', params: { sku: 'WIDGET' }, operator: 'in', value: [1, Number.POSITIVE_INFINITY] } }] }, [
    ['/conditions/all/0/not/value/1', message],
  ])
  const logic = {
    type: 'guardrail.limit',
    params: { metric: 'discountPercent', max: { $logic: { '+': [1, Number.NEGATIVE_INFINITY] } }, outcome: 'blocked', reason: 'Too much' },
  }
  assertErrors(t, 'guardrails', { all: [sku] }, [['/event/params/max/$logic/+/1', message]], { event: logic })
})

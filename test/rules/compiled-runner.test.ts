import t, { type Test } from 'tap'
import type { RuleFacts } from '../../src/rules/rule-runner.js'
import { bothRunners, ruleOf, runResult, TRACES } from '../helpers/rule-runners.js'

/**
 * Regressions where the compiled runner meant something else than json-rules-engine, each
 * run through both runners at every trace level with the expected outcome written out.
 */

const FACTS: RuleFacts = {
  line: { sku: 'WIDGET', quantity: 5, netUnitPrice: 3, unitCost: 4, listUnitPrice: 10 },
  quote: { currency: 'EUR', lineCount: 1, quantityBySku: { WIDGET: 5 }, quantityByCategory: { device: 5 } },
  account: { segment: 'smb', purchasedSkus: ['GADGET'] },
}

const skuIsWidget = { fact: 'line', path: '$.sku', operator: 'equal', value: 'WIDGET' }

/** Runs one rule through both runners at every trace level and checks each gives `expected(trace)`. */
async function agree(t: Test, conditions: unknown, expected: (trace: string) => unknown, facts: RuleFacts = FACTS) {
  const { compiled, reference } = bothRunners([ruleOf('r.one', conditions)])
  for (const trace of TRACES) {
    t.same(await runResult(reference, facts, trace), expected(trace), `json-rules-engine, trace ${trace}`)
    t.same(await runResult(compiled, facts, trace), expected(trace), `compiled, trace ${trace}`)
  }
}

/** Outcome of a rule that fired, with the facts it saw at the trace levels that show them. */
function fired(facts: Record<string, unknown>) {
  return (trace: string) => ({ outcomes: [{ id: 'r.one', fired: true, ...(trace === 'none' ? {} : { facts }) }] })
}

function notFired(facts: Record<string, unknown>, failed: unknown) {
  return (trace: string) => ({ outcomes: trace === 'full' ? [{ id: 'r.one', fired: false, facts, ...(failed ? { failed } : {}) }] : [] })
}

t.test('an empty any holds, and so does an empty all; not of an empty any does not', async (t) => {
  await agree(t, { any: [] }, fired({}))
  await agree(t, { all: [skuIsWidget, { any: [] }] }, fired({ 'line.sku': 'WIDGET' }))
  await agree(t, { all: [] }, fired({}))
  await agree(t, { not: { any: [] } }, notFired({}, { fact: 'not', operator: 'not', value: 'the negated condition held', actual: true }))
})

t.test('comparing facts: value { fact, path } is the other fact, not a literal object', async (t) => {
  const belowCost = { fact: 'line', path: '$.netUnitPrice', operator: 'lessThan', value: { fact: 'line', path: '$.unitCost' } }
  await agree(t, { all: [belowCost] }, fired({ 'line.netUnitPrice': 3, 'line.unitCost': 4 }))
  const aboveList = { fact: 'line', path: '$.netUnitPrice', operator: 'greaterThan', value: { fact: 'line', path: '$.listUnitPrice' } }
  await agree(
    t,
    { all: [aboveList] },
    notFired(
      { 'line.netUnitPrice': 3, 'line.listUnitPrice': 10 },
      { fact: 'line', path: '$.netUnitPrice', operator: 'greaterThan', value: { fact: 'line', path: '$.listUnitPrice' }, actual: 3, compared: 10 },
    ),
  )
  // A dynamic fact with params on the value side.
  const asManyAsInCart = { fact: 'line', path: '$.quantity', operator: 'equal', value: { fact: 'cartQuantity', params: { sku: 'WIDGET' } } }
  await agree(t, { all: [asManyAsInCart] }, fired({ 'line.quantity': 5, 'cartQuantity(WIDGET)': 5 }))
})

t.test('a path on a fact that is not an object is ignored, as json-rules-engine does', async (t) => {
  await agree(
    t,
    { all: [{ fact: 'cartQuantity', params: { sku: 'WIDGET' }, path: '$.total', operator: 'equal', value: 5 }] },
    fired({ 'cartQuantity(WIDGET).total': 5 }),
  )
  await agree(
    t,
    { all: [{ fact: 'categoryQuantity', params: { category: 'device' }, path: '$.n', operator: 'greaterThan', value: 4 }] },
    fired({ 'categoryQuantity(device).n': 5 }),
  )
  await agree(
    t,
    { all: [{ fact: 'purchased', params: { sku: 'GADGET' }, path: '$.yes', operator: 'equal', value: true }] },
    fired({ 'purchased(GADGET).yes': true }),
  )
})

t.test('names inherited from Object.prototype are no operators, facts or properties', async (t) => {
  for (const operator of ['toString', 'constructor', 'valueOf', '__proto__']) {
    await agree(t, { all: [{ fact: 'line', path: '$.sku', operator, value: 'WIDGET' }] }, () => ({
      error: { name: 'RuleEvaluationError', ruleId: 'r.one', message: `Unknown operator: ${operator}` },
    }))
  }
  for (const fact of ['toString', 'constructor', '__proto__']) {
    await agree(t, { all: [{ fact, path: '$.sku', operator: 'equal', value: 'WIDGET' }] }, () => ({
      error: { name: 'RuleEvaluationError', ruleId: 'r.one', message: `Undefined fact: ${fact}` },
    }))
  }
  // A path through an inherited property finds nothing.
  await agree(t, { all: [{ fact: 'line', path: '$.constructor', operator: 'notEqual', value: null }] }, fired({ 'line.constructor': undefined }))
  // A param whose String() throws is no label and no name: the fact is 0, and nothing throws.
  await agree(t, { all: [{ fact: 'cartQuantity', params: { sku: { toString: 1 } }, operator: 'equal', value: 0 }] }, fired({ cartQuantity: 0 }))
  // A sku or category named like an inherited property is simply not in the cart.
  await agree(
    t,
    { all: [{ fact: 'categoryQuantity', params: { category: 'constructor' }, operator: 'equal', value: 0 }] },
    fired({ 'categoryQuantity(constructor)': 0 }),
  )
})

t.test('an error anywhere in a rule is an error at every trace level, even when an earlier branch decided', async (t) => {
  // Quote-scope facts have no line: json-rules-engine evaluates both branches and fails on the second.
  const { line: _line, ...quoteFacts } = FACTS
  const conditions = {
    any: [
      { fact: 'quote', path: '$.currency', operator: 'equal', value: 'EUR' },
      { fact: 'line', path: '$.sku', operator: 'equal', value: 'WIDGET' },
    ],
  }
  await agree(t, conditions, () => ({ error: { name: 'RuleEvaluationError', ruleId: 'r.one', message: 'Undefined fact: line' } }), quoteFacts)
  const allFirstFalse = {
    all: [
      { fact: 'quote', path: '$.currency', operator: 'equal', value: 'USD' },
      { fact: 'quote', path: '$.currency', operator: 'in', value: 5 },
    ],
  }
  await agree(t, allFirstFalse, () => ({ error: { name: 'RuleEvaluationError', ruleId: 'r.one', message: 'b.indexOf is not a function' } }))
})

t.test('a fact given as undefined is defined (json-rules-engine keeps every key it is given)', async (t) => {
  await agree(t, { all: [{ fact: 'line', path: '$.sku', operator: 'equal', value: undefined }] }, fired({ 'line.sku': undefined }), {
    ...FACTS,
    line: undefined,
  })
})

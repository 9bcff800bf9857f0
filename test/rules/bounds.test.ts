import t from 'tap'
import { evaluateQuote } from '../../src/evaluation/evaluate.js'
import { RuleEvaluationError } from '../../src/rules/rule-runner.js'
import { buildRuleSet, readRuleSetSources } from '../../src/rules/rule-set.js'

const ROOT = new URL('../../', import.meta.url).pathname

t.test('prices are never negative: in price books at load time, from rules at run time', async (t) => {
  const { sources } = await readRuleSetSources(`${ROOT}rules`, `${ROOT}price-books`)
  const books = structuredClone(sources.priceBooks)
  const eur = books.find((b) => b.file === 'eur-list.yaml')!.content as { entries: Array<{ listPrice: string }> }
  eur.entries[0]!.listPrice = '-1.00'
  const { errors } = buildRuleSet({ ...sources, priceBooks: books })
  t.ok(
    errors.some((e) => e.file === 'eur-list.yaml' && e.path === '/entries/0/listPrice'),
    'a negative list price is refused',
  )

  const negative = {
    id: 'price.negative',
    description: 'x',
    owner: 'x',
    effective: { from: '2026-01-01' },
    priority: 999,
    scope: 'line',
    conditions: { all: [{ fact: 'line', path: '$.sku', operator: 'equal', value: 'GW-200' }] },
    event: { type: 'price.set', params: { unitPrice: { $logic: { '-': [0, { var: 'line.listUnitPrice' }] } }, label: 'x' } },
  }
  const { ruleSet } = buildRuleSet({ ...sources, rules: [...sources.rules, { file: 'pricing/zz-negative.yaml', content: { rules: [negative] } }] })
  const cart = { currency: 'EUR', date: '2026-12-01', account: { id: 'a', segment: 'enterprise', country: 'FR' }, lines: [{ sku: 'GW-200', quantity: 1 }] }
  const error = await evaluateQuote(ruleSet!, cart, { trace: 'none' }).catch((e: unknown) => e)
  t.ok(error instanceof RuleEvaluationError)
  t.equal((error as RuleEvaluationError).ruleId, 'price.negative')
  t.match((error as Error).message, /unitPrice is negative \(-1290\.00\)/)
})

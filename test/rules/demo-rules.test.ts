import t from 'tap'
import { readFile } from 'node:fs/promises'
import { loadRuleSet } from '../../src/rules/rule-set.js'
import { generatedSchemas, schemaText } from '../../src/cli/json-schemas.js'
import { formatLoadError } from '../../src/shared/source-files.js'
import { runRuleTests, untestedRules } from '../../src/evaluation/rule-tests.js'

const ROOT = new URL('../../', import.meta.url).pathname

t.test('the demo rule set passes every check', async (t) => {
  const { ruleSet, errors } = await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)
  t.same(errors.map(formatLoadError), [])
  t.ok(ruleSet)
  t.ok(ruleSet!.rules.length >= 60, `about 60 rules (${ruleSet!.rules.length})`)
  t.ok(ruleSet!.priceBooks.catalog.products.size >= 35, 'about 40 products')
  t.same(
    ruleSet!.priceBooks.books.map((b) => `${b.id}:${b.currency}`),
    ['eur-list:EUR', 'eur-partner:EUR', 'usd-list:USD'],
  )
  for (const set of ['configuration', 'pricing', 'guardrails', 'approvals', 'recommendations'] as const) {
    t.ok(ruleSet!.bySet[set].length > 0, `${set} has rules`)
  }
})

t.test('every analyst test beside the rules passes, and every demo rule fires in one', async (t) => {
  const { ruleSet } = await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)
  const { results, errors } = await runRuleTests(ruleSet!, `${ROOT}rules`)
  t.same(errors.map(formatLoadError), [], 'test files are valid')
  t.ok(results.length >= 20, `a real suite (${results.length} tests)`)
  for (const r of results) t.same(r.mismatches, [], `${r.file}: ${r.name}`)
  t.same(untestedRules(ruleSet!, results), [], 'rules that fired in no test')
})

t.test('the shipped JSON Schema files are in sync with the TypeBox schemas', async (t) => {
  for (const [path, schema] of Object.entries(generatedSchemas())) {
    const shipped = await readFile(`${ROOT}${path}`, 'utf8').catch(() => '(missing)')
    t.equal(shipped, schemaText(schema), `${path} is current (run: qtc schemas write)`)
  }
})

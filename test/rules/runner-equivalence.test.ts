import t from 'tap'
import type { Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { CartError, evaluateQuote } from '../../src/evaluation/evaluate.js'
import { renderEvaluation } from '../../src/evaluation/render.js'
import { listFiles, readSourceFiles } from '../../src/rules/read-files.js'
import { readRuleSetSources, buildRuleSet } from '../../src/rules/rule-set.js'
import { RuleTestFileSchema, TaxTestFileSchema } from '../../src/evaluation/rule-test.schema.js'
import { decideTax, TaxUndetermined } from '../../src/evaluation/stages/tax.js'

const ROOT = new URL('../../', import.meta.url).pathname

/**
 * The compiled runner must agree with json-rules-engine, the reference, on every cart the
 * analysts wrote: same rules fired, same facts seen, same first failed condition, same cents.
 */
t.test('compiled runner and json-rules-engine agree on every analyst test cart, full trace', async (t) => {
  const { sources } = await readRuleSetSources(`${ROOT}rules`, `${ROOT}price-books`)
  const compiled = buildRuleSet(sources, { engine: 'compiled' }).ruleSet!
  const reference = buildRuleSet(sources, { engine: 'json-rules-engine' }).ruleSet!
  t.equal(compiled.hash, reference.hash)
  const files = await listFiles(`${ROOT}rules`, (n) => n.endsWith('.test.yaml'))
  const { sources: tests } = await readSourceFiles(`${ROOT}rules`, files)
  let compared = 0
  for (const { file, content } of tests) {
    if (file.startsWith('tax/')) {
      // Invoice tax tests: both runners decide the same VAT for every line.
      for (const test of (Value.Default(TaxTestFileSchema, structuredClone(content)) as Static<typeof TaxTestFileSchema>).tests) {
        const question = { ...test.invoice, buyer: { ...test.invoice.buyer, vatId: test.invoice.buyer.vatId ?? null } }
        const decide = (ruleSet: typeof compiled) =>
          decideTax(ruleSet, question).catch((error) => {
            if (error instanceof TaxUndetermined) return { undetermined: error.lineIndex }
            throw error
          })
        t.same(await decide(compiled), await decide(reference), `${file}: ${test.name}`)
        compared++
      }
      continue
    }
    const parsed = Value.Default(RuleTestFileSchema, structuredClone(content)) as Static<typeof RuleTestFileSchema>
    for (const test of parsed.tests) {
      const run = async (ruleSet: typeof compiled) => {
        try {
          return renderEvaluation(await evaluateQuote(ruleSet, test.cart, { trace: 'full' }), 'full')
        } catch (error) {
          if (error instanceof CartError) return { refused: error.errors }
          throw error
        }
      }
      t.same(await run(compiled), await run(reference), `${file}: ${test.name}`)
      compared++
    }
  }
  t.ok(compared >= 50, `compared ${compared} carts`)
})

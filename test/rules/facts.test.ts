import { readFile } from 'node:fs/promises'
import t from 'tap'
import { DYNAMIC_FACTS, isFactReference, own } from '../../src/rules/facts.js'

const DOC = new URL('../../docs/rules.md', import.meta.url)

t.test('docs/rules.md lists every dynamic fact with its params and what it computes, as facts.ts defines it', async (t) => {
  const doc = await readFile(DOC, 'utf8')
  for (const [name, fact] of Object.entries(DYNAMIC_FACTS)) {
    const params = Object.keys(fact.params)
      .map((p) => `\`${p}\``)
      .join(', ')
    const description = fact.description[0]!.toLowerCase() + fact.description.slice(1)
    t.ok(doc.includes(`| \`${name}\` (params ${params}) | ${description} |`), `${name} (params ${params}): ${description}`)
  }
})

t.test('dynamic facts: computed from quote and account, 0 or false when absent, never throwing', async (t) => {
  const facts = { quote: { quantityBySku: { W: 7 }, quantityByCategory: { device: 9 } }, account: { purchasedSkus: ['W'] } }
  t.equal(DYNAMIC_FACTS.cartQuantity!.compute(facts, { sku: 'W' }), 7)
  t.equal(DYNAMIC_FACTS.cartQuantity!.compute(facts, { sku: 'G' }), 0)
  t.equal(DYNAMIC_FACTS.cartQuantity!.compute(facts, { sku: 'constructor' }), 0, 'an inherited name is absent')
  t.equal(DYNAMIC_FACTS.categoryQuantity!.compute(facts, { category: 'device' }), 9)
  t.equal(DYNAMIC_FACTS.categoryQuantity!.compute(facts, { category: 'toString' }), 0)
  t.equal(DYNAMIC_FACTS.purchased!.compute(facts, { sku: 'W' }), true)
  t.equal(DYNAMIC_FACTS.purchased!.compute(facts, { sku: 'G' }), false)
  for (const params of [undefined, null, 'W', 5, {}, { sku: 7 }, { sku: { toString: 1 } }, { sku: ['W'] }]) {
    t.equal(DYNAMIC_FACTS.cartQuantity!.compute(facts, params), 0, `params ${JSON.stringify(params)}`)
    t.equal(DYNAMIC_FACTS.purchased!.compute({ quote: {}, account: { purchasedSkus: 'W' } }, params), false)
  }
  t.equal(DYNAMIC_FACTS.cartQuantity!.compute({ quote: { quantityBySku: null }, account: {} }, { sku: 'W' }), 0)
  t.equal(DYNAMIC_FACTS.cartQuantity!.compute({ quote: { quantityBySku: { undefined: 3, 7: 4 } }, account: {} }, { sku: 7 }), 0, 'a number names no sku')
})

t.test('own names only; any object with its own fact key is a fact reference', async (t) => {
  t.equal(own(DYNAMIC_FACTS, 'toString'), undefined)
  t.equal(own(DYNAMIC_FACTS, 'constructor'), undefined)
  t.equal(own(DYNAMIC_FACTS, 'purchased'), DYNAMIC_FACTS.purchased)
  t.equal(isFactReference({ fact: 'line', path: '$.unitCost' }), true)
  t.equal(isFactReference({ fact: undefined }), true)
  t.equal(isFactReference({ path: '$.unitCost' }), false)
  t.equal(isFactReference(['fact']), false)
  t.equal(isFactReference(null), false)
  t.equal(isFactReference(Object.create({ fact: 'line' })), false)
})

import fc from 'fast-check'
import t from 'tap'
import type { FieldError } from '../../src/errors.js'
import type { Cart } from '../../src/evaluation/cart.schema.js'
import { CartError, evaluateQuote } from '../../src/evaluation/evaluate.js'
import type { TraceLevel } from '../../src/evaluation/evaluation.js'
import { renderEvaluation, type RenderedEvaluation } from '../../src/evaluation/render.js'
import { parseAmount } from '../../src/money/money.js'
import type { SourceFile } from '../../src/rules/read-files.js'
import { RuleEvaluationError } from '../../src/rules/rule-runner.js'
import { buildRuleSet, type RuleSet } from '../../src/rules/rule-set.js'
import { product } from '../helpers/catalog.js'

/**
 * Semantics of the evaluation pipeline (configure → price → guard → approvals → recommend)
 * on small in-memory rule sets, with exact amounts.
 */

type Json = Record<string, unknown>

const recurring = (period: string, extra: Json = {}) => ({ type: 'recurring', billingPeriod: period, revenueTreatment: 'ratable', ...extra })
const TIERS = [
  { upTo: 10, unitPrice: '10.00' },
  { upTo: 50, unitPrice: '8.00' },
  { upTo: null, unitPrice: '6.00' },
]

const CATALOG: SourceFile = {
  file: 'catalog.yaml',
  content: {
    kind: 'catalog',
    segments: ['smb', 'enterprise', 'public_sector'],
    channels: ['direct', 'partner', 'web'],
    products: [
      product('WIDGET'),
      product('GADGET'),
      product('ODD'),
      product('SENSOR-R', { family: 'sensors' }),
      product('SENSOR-S', { family: 'sensors' }),
      product('SEAT', { family: 'platform', category: 'seat', unit: 'seat', ...recurring('month', { defaultTermMonths: 12 }) }),
      product('QSEAT', { family: 'platform', category: 'seat', unit: 'seat', ...recurring('quarter') }),
      product('SUPPORT', { family: 'support', category: 'service', ...recurring('year', { defaultTermMonths: 12 }) }),
      product('DAYS', { family: 'services', category: 'service', unit: 'day', fractionalQuantity: true }),
      product('OLD', { active: false }),
      product('NOPRICE'),
      product('KIT', { family: 'bundles', category: 'kit' }),
      product('MOUNT-A', { family: 'accessory' }),
      product('MOUNT-B', { family: 'accessory' }),
      product('CABLE', { family: 'accessory' }),
      product('PACK', { family: 'platform', category: 'seat', ...recurring('month') }),
    ],
    bundles: [
      {
        sku: 'KIT',
        optionGroups: [
          { id: 'mount', name: 'Mount', min: 1, max: 1, options: [{ sku: 'MOUNT-A', default: true }, { sku: 'MOUNT-B' }] },
          { id: 'extras', name: 'Extras', min: 0, max: 2, options: [{ sku: 'CABLE', quantity: 2 }] },
        ],
      },
      { sku: 'PACK', optionGroups: [{ id: 'support', name: 'Support', min: 0, max: 1, options: [{ sku: 'SUPPORT', default: true }] }] },
    ],
  },
}

const EUR_BOOK: SourceFile = {
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
      { sku: 'WIDGET', listPrice: '10.00', cost: '4.00' },
      { sku: 'GADGET', listPrice: '25.50' },
      { sku: 'ODD', listPrice: '10.05' },
      { sku: 'SENSOR-R', listPrice: '10.00', tiering: { mode: 'range', tiers: TIERS } },
      { sku: 'SENSOR-S', listPrice: '10.00', tiering: { mode: 'slab', tiers: TIERS } },
      { sku: 'SEAT', listPrice: '20.00', cost: '2.00' },
      { sku: 'QSEAT', listPrice: '50.00' },
      { sku: 'SUPPORT', listPrice: '120.00' },
      { sku: 'DAYS', listPrice: '1000.00' },
      { sku: 'OLD', listPrice: '5.00' },
      { sku: 'KIT', listPrice: '100.00' },
      { sku: 'MOUNT-A', listPrice: '15.00' },
      { sku: 'MOUNT-B', listPrice: '20.00' },
      { sku: 'CABLE', listPrice: '2.50' },
      { sku: 'PACK', listPrice: '30.00' },
    ],
  },
}

const BOOKS = [CATALOG, EUR_BOOK]

let ruleCounter = 0
function rule(extra: Json): Json {
  return {
    id: `r${++ruleCounter}`,
    description: 'Test rule',
    owner: 'tests@example.test',
    effective: { from: '2026-01-01' },
    priority: 100,
    scope: 'line',
    conditions: { all: [{ fact: 'line', path: '$.sku', operator: 'equal', value: 'WIDGET' }] },
    ...extra,
  }
}

function leaf(fact: string, path: string, operator: string, value: unknown): Json {
  return { fact, path, operator, value }
}
const all = (...leaves: Json[]) => ({ all: leaves })
const onSku = (sku: string) => all(leaf('line', '$.sku', 'equal', sku))
const ALWAYS_QUOTE = all(leaf('quote', '$.lineCount', 'greaterThan', 0))

const adjust = (params: Json) => ({ type: 'price.adjust', params: { label: 'Adjustment', ...params } })

/** A rule set from { set: [rules] }; throws on load errors so a broken fixture cannot pass silently. */
function ruleSetOf(rules: Partial<Record<string, Json[]>>, priceBooks: SourceFile[] = BOOKS): RuleSet {
  const { ruleSet, errors } = buildRuleSet({
    rules: Object.entries(rules)
      .filter(([, list]) => list && list.length > 0)
      .map(([set, list]) => ({ file: `${set}/test.yaml`, content: { rules: list } })),
    priceBooks,
  })
  if (!ruleSet) throw new Error(`fixture rule set invalid: ${JSON.stringify(errors)}`)
  return ruleSet
}

type CartInput = Partial<Omit<Cart, 'lines'>> & { lines: Cart['lines'] }

function cartOf(input: CartInput): Cart {
  return { currency: 'EUR', date: '2026-03-01', account: { id: 'acc-1', segment: 'smb', country: 'DE' }, ...input }
}

async function evaluate(rules: Partial<Record<string, Json[]>>, cart: CartInput, trace: TraceLevel = 'none'): Promise<RenderedEvaluation> {
  const e = await evaluateQuote(ruleSetOf(rules), cartOf(cart), { trace })
  return renderEvaluation(e, trace)
}

async function cartErrors(rules: Partial<Record<string, Json[]>>, cart: CartInput): Promise<FieldError[]> {
  try {
    await evaluateQuote(ruleSetOf(rules), cartOf(cart), { trace: 'none' })
  } catch (error) {
    if (error instanceof CartError) return error.errors
    throw error
  }
  throw new Error('no CartError thrown')
}

function line(r: RenderedEvaluation, i: number) {
  const l = r.lines[i]
  if (!l) throw new Error(`no line ${i}`)
  return l
}

// ---------------------------------------------------------------------------------------

t.test('list pricing', async (t) => {
  t.test('one-time line: list × quantity, one period, contract = net', async (t) => {
    const r = await evaluate({}, { lines: [{ sku: 'WIDGET', quantity: 3 }] })
    const l = line(r, 0)
    t.match(l, { sku: 'WIDGET', type: 'one_time', source: 'cart', cartIndex: 0, parentIndex: null, addedBy: null, quantity: 3, termMonths: null, periods: 1 })
    t.equal(l.listUnitPrice, '10.00')
    t.equal(l.listAmount, '30.00')
    t.equal(l.baseAmount, '30.00')
    t.equal(l.netUnitPrice, '10.00')
    t.equal(l.netAmount, '30.00')
    t.equal(l.contractAmount, '30.00')
    t.equal(l.cost, '12.00')
    t.equal(l.marginPercent, '60.00')
    t.equal(l.discountPercent, '0.00')
    t.same(l.adjustments, [])
    t.equal(l.ramp, null)
    t.equal(r.valid, true)
    t.same(r.priceBook, { id: 'eur-list', name: 'EUR list' })
    t.equal(r.channel, 'direct')
    t.same(r.totals, {
      list: '30.00',
      standard: '30.00',
      discount: '0.00',
      rampUplift: '0.00',
      net: '30.00',
      oneTime: '30.00',
      annualRecurring: '0.00',
      cost: '12.00',
      discountPercent: '0.00',
      marginPercent: '60.00',
      costCoveragePercent: '100.00',
    })
  })

  t.test('recurring lines: per-period amounts, periods over the term, contract amount', async (t) => {
    const r = await evaluate(
      {},
      {
        lines: [
          { sku: 'WIDGET', quantity: 3 },
          { sku: 'SEAT', quantity: 5, termMonths: 24 },
          { sku: 'QSEAT', quantity: 2 },
        ],
      },
    )
    const seat = line(r, 1)
    t.match(seat, { sku: 'SEAT', type: 'recurring', billingPeriod: 'month', termMonths: 24, periods: 24 })
    t.equal(seat.listAmount, '100.00')
    t.equal(seat.netAmount, '100.00')
    t.equal(seat.contractAmount, '2400.00')
    t.equal(seat.cost, '10.00')
    const q = line(r, 2)
    // No term given and no defaultTermMonths: 12 months, 4 quarters.
    t.match(q, { sku: 'QSEAT', billingPeriod: 'quarter', termMonths: 12, periods: 4 })
    t.equal(q.netAmount, '100.00')
    t.equal(q.contractAmount, '400.00')
    t.equal(r.totals.list, '2830.00')
    t.equal(r.totals.net, '2830.00')
    t.equal(r.totals.oneTime, '30.00')
    t.equal(r.totals.annualRecurring, '1600.00') // 100 × 12 + 100 × 4
    t.equal(r.totals.cost, '252.00') // 12 + 10 × 24
  })

  t.test('fractional quantities on a product that allows them', async (t) => {
    const r = await evaluate({}, { lines: [{ sku: 'DAYS', quantity: 1.125 }] })
    t.equal(line(r, 0).quantity, 1.125)
    t.equal(line(r, 0).netAmount, '1125.00')
    t.equal(line(r, 0).netUnitPrice, '1000.00')
  })
})

t.test('price-book tiering', async (t) => {
  t.test('range vs slab at quantity 60', async (t) => {
    const r = await evaluate(
      {},
      {
        lines: [
          { sku: 'SENSOR-R', quantity: 60 },
          { sku: 'SENSOR-S', quantity: 60 },
        ],
      },
    )
    const range = line(r, 0)
    t.equal(range.listAmount, '600.00')
    t.equal(range.baseAmount, '360.00')
    t.equal(range.netAmount, '360.00')
    t.equal(range.netUnitPrice, '6.00')
    t.same(range.adjustments, [{ ruleId: null, kind: 'book_tier', label: 'EUR list: range tier 3', amount: '-240.00' }])
    const slab = line(r, 1)
    t.equal(slab.baseAmount, '480.00') // 10 × 10 + 40 × 8 + 10 × 6
    t.equal(slab.netAmount, '480.00')
    t.same(slab.adjustments, [{ ruleId: null, kind: 'book_tier', label: 'EUR list: slab tier 3', amount: '-120.00' }])
    // Tiers set the standard price: they are not a discount.
    t.equal(range.discountPercent, '0.00')
    t.equal(r.totals.list, '1200.00')
    t.equal(r.totals.standard, '840.00')
    t.equal(r.totals.discount, '0.00')
  })

  t.test('tier boundaries: upTo is inclusive', async (t) => {
    const r = await evaluate(
      {},
      {
        lines: [
          { sku: 'SENSOR-R', quantity: 10 },
          { sku: 'SENSOR-R', quantity: 11 },
          { sku: 'SENSOR-S', quantity: 11 },
          { sku: 'SENSOR-R', quantity: 50 },
        ],
      },
    )
    t.equal(line(r, 0).netAmount, '100.00')
    t.same(line(r, 0).adjustments, [], 'no adjustment when the tier price equals list')
    t.equal(line(r, 1).netAmount, '88.00')
    t.equal(line(r, 2).netAmount, '108.00')
    t.equal(line(r, 3).netAmount, '400.00')
  })

  t.test('a price.tiered rule overrides the book tiers', async (t) => {
    const tiered = rule({
      id: 'p.sensor-tiers',
      priority: 500,
      conditions: onSku('SENSOR-R'),
      event: {
        type: 'price.tiered',
        params: {
          mode: 'slab',
          tiers: [
            { upTo: 20, unitPrice: '9.00' },
            { upTo: null, unitPrice: '5.00' },
          ],
          label: 'Sensor deal tiers',
        },
      },
    })
    const r = await evaluate({ pricing: [tiered] }, { lines: [{ sku: 'SENSOR-R', quantity: 60 }] })
    const l = line(r, 0)
    t.equal(l.baseAmount, '380.00') // 20 × 9 + 40 × 5
    t.equal(l.netAmount, '380.00')
    t.same(l.adjustments, [{ ruleId: 'p.sensor-tiers', kind: 'tier', label: 'Sensor deal tiers', amount: '-220.00' }])
  })
})

t.test('amounts are never rounded for a rule: a computed price that does not fit the currency stops the evaluation', async (t) => {
  const third = { '/': [{ var: 'line.listUnitPrice' }, 3] }
  const unrounded = rule({ id: 'p.third', priority: 600, event: { type: 'price.set', params: { unitPrice: { $logic: third }, label: 'A third of list' } } })
  await t.rejects(evaluate({ pricing: [unrounded] }, { lines: [{ sku: 'WIDGET', quantity: 3 }] }), {
    name: 'RuleEvaluationError',
    ruleId: 'p.third',
    message: /^event param unitPrice 3\.3333333333333335 is not an amount in EUR \(2 decimals\).*round it in the rule/,
  })
  // The rule rounds explicitly (half-even) and the price is exact from there.
  const rounded = rule({
    id: 'p.third',
    priority: 600,
    event: { type: 'price.set', params: { unitPrice: { $logic: { round: [third, 2] } }, label: 'A third of list' } },
  })
  const r = await evaluate(
    { pricing: [rounded] },
    {
      lines: [
        { sku: 'WIDGET', quantity: 3 },
        { sku: 'GADGET', quantity: 1 },
      ],
    },
  )
  const l = line(r, 0)
  t.equal(l.baseAmount, '9.99') // 3.33 × 3
  t.equal(l.netUnitPrice, '3.33')
  t.same(l.adjustments, [{ ruleId: 'p.third', kind: 'set', label: 'A third of list', amount: '-20.01' }])
  t.equal(line(r, 1).netAmount, '25.50', 'the other line keeps its list price')
  t.equal(r.totals.standard, '35.49')
  // A computed amount off (price.adjust amount) is held to the same rule.
  const off = rule({ id: 'p.off', priority: 100, event: adjust({ amount: { $logic: { '*': [{ var: 'line.listUnitPrice' }, 0.0125] } } }) })
  await t.rejects(evaluate({ pricing: [off] }, { lines: [{ sku: 'WIDGET', quantity: 1 }] }), {
    name: 'RuleEvaluationError',
    ruleId: 'p.off',
    message: /^event param amount 0\.125 is not an amount in EUR/,
  })
})

t.test('literal amounts that do not fit a currency the rule can price in are refused at load, with file, rule and path', async (t) => {
  const jpy = {
    file: 'jpy-list.yaml',
    content: {
      kind: 'price-book',
      id: 'jpy-list',
      name: 'JPY list',
      currency: 'JPY',
      validFrom: '2026-01-01',
      priority: 0,
      applicability: {},
      entries: [{ sku: 'WIDGET', listPrice: '1500' }],
    },
  }
  const load = (rules: Json[]) => buildRuleSet({ rules: [{ file: 'pricing/a.yaml', content: { rules } }], priceBooks: [...BOOKS, jpy] }).errors
  t.same(load([rule({ id: 'p.set', priority: 600, event: { type: 'price.set', params: { unitPrice: '1000.5', label: 'x' } } })]), [
    {
      file: 'pricing/a.yaml',
      ruleId: 'p.set',
      path: '/rules/0/event/params/unitPrice',
      message: '1000.5 is not an amount in JPY (0 decimals), a currency this rule can price in: amounts are never rounded',
    },
  ])
  t.same(
    load([rule({ id: 'p.amt', event: adjust({ amount: '10.001' }) })]).map((e) => [e.path, e.message.split(' (')[0]]),
    [['/rules/0/event/params/amount', '10.001 is not an amount in EUR']],
  )
  t.same(
    load([
      rule({
        id: 'p.tier',
        priority: 500,
        event: {
          type: 'price.tiered',
          params: {
            mode: 'range',
            label: 'x',
            tiers: [
              { upTo: 10, unitPrice: '90.015' },
              { upTo: null, unitPrice: '80' },
            ],
          },
        },
      }),
    ]).map((e) => e.path),
    ['/rules/0/event/params/tiers/0/unitPrice'],
  )
  // A rule pinned to EUR by its conditions may write cents though a JPY book exists.
  const eurOnly = all(leaf('quote', '$.currency', 'equal', 'EUR'), leaf('line', '$.sku', 'equal', 'WIDGET'))
  t.same(load([rule({ id: 'p.eur', priority: 600, conditions: eurOnly, event: { type: 'price.set', params: { unitPrice: '9.50', label: 'x' } } })]), [])
})

t.test('price.adjust', async (t) => {
  t.test('percentages compound in priority order, each rounded half-even to the cent', async (t) => {
    const rules = [
      rule({ id: 'p.five', priority: 200, conditions: onSku('ODD'), event: adjust({ percent: '5', label: 'Five' }) }),
      rule({ id: 'p.ten', priority: 300, conditions: onSku('ODD'), event: adjust({ percent: '10', label: 'Ten' }) }),
    ]
    const r = await evaluate({ pricing: rules }, { lines: [{ sku: 'ODD', quantity: 1 }] })
    const l = line(r, 0)
    // 10.05: 10 % = 1.005 → 1.00 (half-even; half-up would take 1.01); 9.05: 5 % = 0.4525 → 0.45.
    t.same(l.adjustments, [
      { ruleId: 'p.ten', kind: 'percent', label: 'Ten', amount: '-1.00', percent: '10' },
      { ruleId: 'p.five', kind: 'percent', label: 'Five', amount: '-0.45', percent: '5' },
    ])
    t.equal(l.netAmount, '8.60')
    t.equal(l.discountPercent, '14.43') // 1.45 / 10.05
    t.equal(r.totals.discount, '1.45')
  })

  t.test('a negative percent is a surcharge', async (t) => {
    const r = await evaluate({ pricing: [rule({ event: adjust({ percent: '-12.5' }) })] }, { lines: [{ sku: 'WIDGET', quantity: 1 }] })
    t.equal(line(r, 0).netAmount, '11.25')
    t.equal(line(r, 0).discountPercent, '-12.50')
  })

  t.test('amount per unit (default) vs per line; never below zero', async (t) => {
    const perUnit = await evaluate({ pricing: [rule({ id: 'p.unit', event: adjust({ amount: '1.50' }) })] }, { lines: [{ sku: 'WIDGET', quantity: 3 }] })
    t.same(line(perUnit, 0).adjustments, [{ ruleId: 'p.unit', kind: 'amount', label: 'Adjustment', amount: '-4.50' }])
    t.equal(line(perUnit, 0).netAmount, '25.50')
    const perLine = await evaluate({ pricing: [rule({ event: adjust({ amount: '1.50', per: 'line' }) })] }, { lines: [{ sku: 'WIDGET', quantity: 3 }] })
    t.equal(line(perLine, 0).netAmount, '28.50')
    const clamped = await evaluate({ pricing: [rule({ event: adjust({ amount: '20.00' }) })] }, { lines: [{ sku: 'WIDGET', quantity: 3 }] })
    t.equal(line(clamped, 0).adjustments[0]?.amount, '-30.00')
    t.equal(line(clamped, 0).netAmount, '0.00')
    t.equal(line(clamped, 0).marginPercent, null, 'no margin on a free line')
  })

  t.test('a promo code is required: suppressed with a reason when not entered', async (t) => {
    const promo = rule({ id: 'p.spring', priority: 400, event: adjust({ percent: '20', promoCode: 'SPRING', label: 'Spring promo' }) })
    const without = await evaluate({ pricing: [promo] }, { lines: [{ sku: 'WIDGET', quantity: 1 }] })
    t.same(line(without, 0).adjustments, [])
    t.same(line(without, 0).suppressed, [{ ruleId: 'p.spring', reason: 'promotion code SPRING not entered' }])
    t.equal(line(without, 0).netAmount, '10.00')
    t.same(without.configuration.warnings, [])

    const withCode = await evaluate({ pricing: [promo] }, { lines: [{ sku: 'WIDGET', quantity: 1 }], promoCodes: ['SPRING'] })
    t.same(line(withCode, 0).adjustments, [{ ruleId: 'p.spring', kind: 'percent', label: 'Spring promo', amount: '-2.00', percent: '20', promoCode: 'SPRING' }])
    t.same(line(withCode, 0).suppressed, [])
    t.same(withCode.configuration.warnings, [])
  })

  t.test('PROMO_CODE_NOT_APPLIED when a code applies nowhere', async (t) => {
    const promo = rule({ id: 'p.spring', event: adjust({ percent: '20', promoCode: 'SPRING' }) })
    const r = await evaluate(
      { pricing: [promo] },
      {
        lines: [
          { sku: 'GADGET', quantity: 1 },
          { sku: 'WIDGET', quantity: 1 },
        ],
        promoCodes: ['SPRING', 'BOGUS'],
      },
    )
    t.same(r.configuration.warnings, [{ code: 'PROMO_CODE_NOT_APPLIED', message: 'promotion code BOGUS does not apply to this cart' }])
    t.equal(r.valid, true)
    const nowhere = await evaluate({ pricing: [promo] }, { lines: [{ sku: 'GADGET', quantity: 1 }], promoCodes: ['SPRING'] })
    t.same(nowhere.configuration.warnings, [{ code: 'PROMO_CODE_NOT_APPLIED', message: 'promotion code SPRING does not apply to this cart' }])
  })

  t.test('a stacking group: only the highest priority applies', async (t) => {
    const rules = [
      rule({ id: 'p.winter', priority: 400, event: adjust({ percent: '15', group: 'seasonal', label: 'Winter' }) }),
      rule({ id: 'p.summit', priority: 390, event: adjust({ percent: '10', group: 'seasonal', label: 'Summit' }) }),
      rule({ id: 'p.loyal', priority: 100, event: adjust({ percent: '5', label: 'Loyalty' }) }),
    ]
    const r = await evaluate({ pricing: rules }, { lines: [{ sku: 'WIDGET', quantity: 2 }] })
    const l = line(r, 0)
    t.same(
      l.adjustments.map((a) => [a.ruleId, a.amount, a.group]),
      [
        ['p.winter', '-3.00', 'seasonal'],
        ['p.loyal', '-0.85', undefined],
      ],
    )
    t.same(l.suppressed, [{ ruleId: 'p.summit', reason: 'stacking group seasonal already used by p.winter' }])
    t.equal(l.netAmount, '16.15')
  })

  t.test('an exclusive adjustment stands alone, whatever its priority', async (t) => {
    const rules = [
      rule({ id: 'p.big', priority: 300, event: adjust({ percent: '10', label: 'Big' }) }),
      rule({ id: 'p.launch', priority: 150, event: adjust({ percent: '20', exclusive: true, label: 'Launch' }) }),
      rule({ id: 'p.small', priority: 100, event: adjust({ amount: '1.00', label: 'Small' }) }),
    ]
    const r = await evaluate(
      { pricing: rules },
      {
        lines: [
          { sku: 'WIDGET', quantity: 1 },
          { sku: 'GADGET', quantity: 2 },
        ],
      },
    )
    const l = line(r, 0)
    t.same(
      l.adjustments.map((a) => a.ruleId),
      ['p.launch'],
    )
    t.same(l.suppressed, [
      { ruleId: 'p.big', reason: 'exclusive adjustment p.launch applies alone' },
      { ruleId: 'p.small', reason: 'exclusive adjustment p.launch applies alone' },
    ])
    t.equal(l.netAmount, '8.00')
    t.equal(line(r, 1).netAmount, '51.00', 'rules on WIDGET do not touch GADGET')
  })

  t.test("the rep's manual discount applies last, on what the rules left", async (t) => {
    const r = await evaluate(
      { pricing: [rule({ id: 'p.ten', event: adjust({ percent: '10', label: 'Ten' }) })] },
      { lines: [{ sku: 'WIDGET', quantity: 3, manualDiscountPercent: '12.5' }] },
    )
    const l = line(r, 0)
    // 30.00 − 10 % = 27.00; 12.5 % of 27.00 = 3.375 → 3.38 (half-even). Manual first would give 23.63.
    t.same(l.adjustments, [
      { ruleId: 'p.ten', kind: 'percent', label: 'Ten', amount: '-3.00', percent: '10' },
      { ruleId: null, kind: 'manual', label: 'Manual discount', amount: '-3.38', percent: '12.5' },
    ])
    t.equal(l.netAmount, '23.62')
    t.equal(l.discountPercent, '21.27') // 6.38 / 30.00
  })

  t.test('quote-scope adjustment with appliesTo families', async (t) => {
    const platform = rule({
      id: 'p.platform',
      scope: 'quote',
      conditions: ALWAYS_QUOTE,
      event: adjust({ percent: '10', label: 'Platform deal', appliesTo: { families: ['platform'] } }),
    })
    const r = await evaluate(
      { pricing: [platform] },
      {
        lines: [
          { sku: 'WIDGET', quantity: 3 },
          { sku: 'SEAT', quantity: 5 },
        ],
      },
    )
    t.same(line(r, 0).adjustments, [], 'hardware untouched')
    t.same(line(r, 1).adjustments, [{ ruleId: 'p.platform', kind: 'percent', label: 'Platform deal', amount: '-10.00', percent: '10' }])
    t.equal(line(r, 1).netAmount, '90.00')
    t.equal(line(r, 1).contractAmount, '1080.00')
    t.equal(r.totals.standard, '1230.00')
    t.equal(r.totals.discount, '120.00')
    t.equal(r.totals.net, '1110.00')
    t.equal(r.totals.annualRecurring, '1080.00')
  })

  t.test('quote-scope adjustment without appliesTo touches every line; by sku and category', async (t) => {
    const every = rule({ id: 'p.all', scope: 'quote', conditions: ALWAYS_QUOTE, event: adjust({ amount: '1.00', per: 'line' }) })
    const bySku = rule({
      id: 'p.sku',
      scope: 'quote',
      conditions: ALWAYS_QUOTE,
      priority: 50,
      event: adjust({ percent: '50', appliesTo: { skus: ['GADGET'], categories: ['seat'] } }),
    })
    const r = await evaluate(
      { pricing: [every, bySku] },
      {
        lines: [
          { sku: 'WIDGET', quantity: 1 },
          { sku: 'GADGET', quantity: 1 },
          { sku: 'SEAT', quantity: 1 },
        ],
      },
    )
    t.same(
      r.lines.map((l) => l.netAmount),
      ['9.00', '12.25', '9.50'],
    )
  })
})

t.test('ramp: 5 % a year over 36 months, billed monthly', async (t) => {
  const ramp = rule({
    id: 'p.ramp',
    conditions: all(leaf('line', '$.sku', 'equal', 'SEAT'), leaf('line', '$.termMonths', 'greaterThanInclusive', 24)),
    event: { type: 'price.ramp', params: { upliftPercent: '5', label: 'Ramp' } },
  })
  const r = await evaluate({ pricing: [ramp] }, { lines: [{ sku: 'SEAT', quantity: 7, termMonths: 36 }] })
  const l = line(r, 0)
  t.same(l.ramp, [
    { year: 1, periods: 12, amountPerPeriod: '140.00', amount: '1680.00' },
    { year: 2, periods: 12, amountPerPeriod: '147.00', amount: '1764.00' },
    { year: 3, periods: 12, amountPerPeriod: '154.35', amount: '1852.20' },
  ])
  t.equal(l.netAmount, '140.00', 'net amount is the first-year period amount')
  t.equal(l.contractAmount, '5296.20')
  t.equal(r.totals.standard, '5040.00')
  t.equal(r.totals.discount, '0.00')
  t.equal(r.totals.rampUplift, '256.20')
  t.equal(r.totals.net, '5296.20')
  t.equal(r.totals.annualRecurring, '1680.00')

  t.test('a ramp on a 12-month term is suppressed', async (t) => {
    const short = rule({ id: 'p.ramp', conditions: onSku('SEAT'), event: { type: 'price.ramp', params: { upliftPercent: '5', label: 'Ramp' } } })
    const r = await evaluate({ pricing: [short] }, { lines: [{ sku: 'SEAT', quantity: 7, termMonths: 12 }] })
    t.equal(line(r, 0).ramp, null)
    t.same(line(r, 0).suppressed, [{ ruleId: 'p.ramp', reason: 'a ramp needs a term over 12 months' }])
    t.equal(line(r, 0).contractAmount, '1680.00')
    t.equal(r.totals.rampUplift, '0.00')
  })

  t.test('an 18-month quarterly ramp: the last year is partial', async (t) => {
    const q = rule({ id: 'p.qramp', conditions: onSku('QSEAT'), event: { type: 'price.ramp', params: { upliftPercent: '10', label: 'Ramp' } } })
    const r = await evaluate({ pricing: [q] }, { lines: [{ sku: 'QSEAT', quantity: 1, termMonths: 18 }] })
    t.same(line(r, 0).ramp, [
      { year: 1, periods: 4, amountPerPeriod: '50.00', amount: '200.00' },
      { year: 2, periods: 2, amountPerPeriod: '55.00', amount: '110.00' },
    ])
    t.equal(line(r, 0).contractAmount, '310.00')
    t.equal(line(r, 0).periods, 6)
  })
})

t.test('configuration rules', async (t) => {
  t.test('config.require adds a line (source rule, addedBy) with a computed quantity', async (t) => {
    const req = rule({
      id: 'c.support',
      conditions: onSku('SEAT'),
      event: { type: 'config.require', params: { sku: 'SUPPORT', quantity: { $logic: { var: 'line.quantity' } }, reason: 'Seats need support' } },
    })
    const r = await evaluate({ configuration: [req] }, { lines: [{ sku: 'SEAT', quantity: 5 }] })
    t.equal(r.lines.length, 2)
    const added = line(r, 1)
    t.match(added, {
      index: 1,
      sku: 'SUPPORT',
      source: 'rule',
      addedBy: 'c.support',
      cartIndex: null,
      parentIndex: null,
      quantity: 5,
      termMonths: 12,
      periods: 1,
      startDate: '2026-03-01',
    })
    t.equal(added.netAmount, '600.00')
    t.same(r.configuration.added, [{ sku: 'SUPPORT', quantity: 5, ruleId: 'c.support', reason: 'Seats need support' }])
    t.equal(r.totals.net, '1800.00') // 100 × 12 + 600
    t.equal(r.valid, true)
  })

  t.test('config.require: already in the cart → nothing added; too few → an error', async (t) => {
    const req = rule({
      id: 'c.support',
      conditions: onSku('SEAT'),
      event: { type: 'config.require', params: { sku: 'SUPPORT', quantity: 3, reason: 'Seats need support' } },
    })
    const enough = await evaluate(
      { configuration: [req] },
      {
        lines: [
          { sku: 'SEAT', quantity: 5 },
          { sku: 'SUPPORT', quantity: 3 },
        ],
      },
    )
    t.equal(enough.lines.length, 2)
    t.same(enough.configuration.added, [])
    t.same(enough.configuration.errors, [])
    const short = await evaluate(
      { configuration: [req] },
      {
        lines: [
          { sku: 'SEAT', quantity: 5 },
          { sku: 'SUPPORT', quantity: 2 },
        ],
      },
    )
    t.same(short.configuration.errors, [
      { code: 'CONFIGURATION_REQUIRES', message: 'Seats need support: at least 3 × SUPPORT (cart has 2)', ruleId: 'c.support' },
    ])
    t.equal(short.valid, false)
  })

  t.test('config.exclude is an error naming the rule and line, and blocks the quote', async (t) => {
    const exclude = rule({ id: 'c.no-gadget', event: { type: 'config.exclude', params: { skus: ['GADGET', 'ODD'], reason: 'WIDGET and GADGET do not mix' } } })
    const r = await evaluate(
      { configuration: [exclude] },
      {
        lines: [
          { sku: 'GADGET', quantity: 1 },
          { sku: 'WIDGET', quantity: 1 },
        ],
      },
    )
    t.same(r.configuration.errors, [{ code: 'CONFIGURATION_EXCLUDED', message: 'WIDGET and GADGET do not mix (GADGET)', ruleId: 'c.no-gadget', line: 1 }])
    t.equal(r.valid, false)
    t.equal(r.guardrails.outcome, 'blocked')
    t.same(r.guardrails.breaches, [
      { ruleId: null, metric: null, outcome: 'blocked', reason: 'The configuration is invalid: fix the configuration errors first' },
    ])
    t.equal(r.approvals.required, false)
    const fine = await evaluate({ configuration: [exclude] }, { lines: [{ sku: 'WIDGET', quantity: 1 }] })
    t.same(fine.configuration.errors, [])
    t.equal(fine.valid, true)
  })

  t.test('config.invalid and config.warn', async (t) => {
    const invalid = rule({
      id: 'c.too-many',
      conditions: all(leaf('line', '$.sku', 'equal', 'WIDGET'), leaf('line', '$.quantity', 'greaterThan', 100)),
      event: { type: 'config.invalid', params: { message: 'At most 100 widgets' } },
    })
    const warn = rule({
      id: 'c.web',
      scope: 'quote',
      conditions: all(leaf('quote', '$.channel', 'equal', 'web')),
      event: { type: 'config.warn', params: { message: 'Web quotes are checked later' } },
    })
    const bad = await evaluate({ configuration: [invalid, warn] }, { lines: [{ sku: 'WIDGET', quantity: 101 }], channel: 'web' })
    t.same(bad.configuration.errors, [{ code: 'CONFIGURATION_INVALID', message: 'At most 100 widgets', ruleId: 'c.too-many', line: 0 }])
    t.same(bad.configuration.warnings, [{ code: 'CONFIGURATION_WARNING', message: 'Web quotes are checked later', ruleId: 'c.web' }])
    t.equal(bad.valid, false)
    const ok = await evaluate({ configuration: [invalid, warn] }, { lines: [{ sku: 'WIDGET', quantity: 100 }], channel: 'web' })
    t.same(ok.configuration.errors, [])
    t.equal(ok.configuration.warnings.length, 1)
    t.equal(ok.valid, true, 'a warning does not invalidate')
    t.equal(ok.guardrails.outcome, 'allowed')
  })
})

t.test('bundles', async (t) => {
  t.test('the default option is added when its group is empty, scaled by the bundle quantity', async (t) => {
    const r = await evaluate({}, { lines: [{ sku: 'KIT', quantity: 2 }] })
    t.same(
      r.lines.map((l) => [l.sku, l.source, l.cartIndex, l.parentIndex, l.quantity, l.netAmount]),
      [
        ['KIT', 'cart', 0, null, 2, '200.00'],
        ['MOUNT-A', 'option', 0, 0, 2, '30.00'],
      ],
    )
    t.same(r.configuration.errors, [])
    t.equal(r.totals.net, '230.00')
  })

  t.test('chosen options replace the default; option quantity is per bundle unit', async (t) => {
    const r = await evaluate(
      {},
      {
        lines: [
          { sku: 'WIDGET', quantity: 1 },
          { sku: 'KIT', quantity: 2, options: [{ sku: 'MOUNT-B' }, { sku: 'CABLE' }] },
        ],
      },
    )
    t.same(
      r.lines.map((l) => [l.sku, l.source, l.cartIndex, l.parentIndex, l.quantity, l.netAmount]),
      [
        ['WIDGET', 'cart', 0, null, 1, '10.00'],
        ['KIT', 'cart', 1, null, 2, '200.00'],
        ['MOUNT-B', 'option', 1, 1, 2, '40.00'],
        ['CABLE', 'option', 1, 1, 4, '10.00'],
      ],
    )
  })

  t.test('too many options of a group is a configuration error', async (t) => {
    const r = await evaluate({}, { lines: [{ sku: 'KIT', quantity: 1, options: [{ sku: 'MOUNT-A' }, { sku: 'MOUNT-B' }] }] })
    t.same(r.configuration.errors, [{ code: 'OPTION_GROUP_COUNT', message: 'KIT: choose 1 of "Mount" (2 chosen)', line: 0 }])
    t.equal(r.valid, false)
  })

  t.test('an option not in any group → CartError with its pointer', async (t) => {
    t.same(await cartErrors({}, { lines: [{ sku: 'KIT', quantity: 1, options: [{ sku: 'WIDGET' }] }] }), [
      { pointer: '/lines/0/options/0/sku', detail: 'WIDGET is not an option of KIT' },
    ])
    t.same(
      await cartErrors(
        {},
        {
          lines: [
            { sku: 'WIDGET', quantity: 1 },
            { sku: 'WIDGET', quantity: 1, options: [{ sku: 'CABLE' }] },
          ],
        },
      ),
      [{ pointer: '/lines/1/options', detail: 'WIDGET is not a bundle and has no options' }],
    )
  })

  t.test('a recurring option on a term its billing period does not divide is refused as a cart error', async (t) => {
    // PACK is monthly; its SUPPORT option is billed yearly. A 6-month PACK gives SUPPORT 6 months = half a period.
    let thrown: unknown
    try {
      await evaluate({}, { lines: [{ sku: 'PACK', quantity: 1, termMonths: 6 }] })
    } catch (error) {
      thrown = error
    }
    t.type(thrown, CartError, `a CartError, got ${String(thrown)}`)
  })
})

t.test('cart errors, each with its pointer', async (t) => {
  t.test('unknown sku', async (t) => {
    t.same(
      await cartErrors(
        {},
        {
          lines: [
            { sku: 'WIDGET', quantity: 1 },
            { sku: 'NOPE', quantity: 1 },
          ],
        },
      ),
      [{ pointer: '/lines/1/sku', detail: 'unknown sku NOPE' }],
    )
  })

  t.test('inactive product; product missing from the book', async (t) => {
    t.same(await cartErrors({}, { lines: [{ sku: 'OLD', quantity: 1 }] }), [{ pointer: '/lines/0/sku', detail: 'OLD is no longer sold (inactive)' }])
    t.same(await cartErrors({}, { lines: [{ sku: 'NOPRICE', quantity: 1 }] }), [
      { pointer: '/lines/0/sku', detail: 'NOPRICE has no price in price book eur-list' },
    ])
  })

  t.test('no price book for the currency, or for the date: the pointer names what to change', async (t) => {
    t.same(await cartErrors({}, { currency: 'USD', lines: [{ sku: 'WIDGET', quantity: 1 }] }), [
      { pointer: '/currency', detail: 'no price book is in USD; books are in EUR' },
    ])
    // A date before every book names /date, not /currency.
    t.same(await cartErrors({}, { date: '2025-12-31', lines: [{ sku: 'WIDGET', quantity: 1 }] }), [
      { pointer: '/date', detail: 'no EUR price book is valid on 2025-12-31 (the first starts 2026-01-01)' },
    ])
    t.same(await cartErrors({}, { currency: 'ZZZ', lines: [{ sku: 'WIDGET', quantity: 1 }] }), [
      { pointer: '/currency', detail: 'ZZZ is not an ISO 4217 currency' },
    ])
  })

  t.test('segments, channels and countries are closed lists: a typo is refused, not priced without its discounts', async (t) => {
    t.same(await cartErrors({}, { account: { id: 'a', segment: 'public-sector', country: 'DE' }, lines: [{ sku: 'WIDGET', quantity: 1 }] }), [
      { pointer: '/account/segment', detail: 'unknown segment public-sector; one of smb, enterprise, public_sector' },
    ])
    t.same(await cartErrors({}, { channel: 'retail', account: { id: 'a', segment: 'smb', country: 'XX' }, lines: [{ sku: 'WIDGET', quantity: 1 }] }), [
      { pointer: '/channel', detail: 'unknown channel retail; one of direct, partner, web' },
      { pointer: '/account/country', detail: 'XX is not an ISO 3166-1 country code' },
    ])
  })

  t.test('fractional quantity on a whole-unit product', async (t) => {
    t.same(await cartErrors({}, { lines: [{ sku: 'WIDGET', quantity: 1.5 }] }), [
      { pointer: '/lines/0/quantity', detail: 'piece quantities must be whole numbers' },
    ])
    t.same(await cartErrors({}, { lines: [{ sku: 'DAYS', quantity: 1.0005 }] }), [{ pointer: '/lines/0/quantity', detail: 'at most 3 decimals' }])
  })

  t.test('term not a multiple of the billing period; a term on a one-time product', async (t) => {
    t.same(await cartErrors({}, { lines: [{ sku: 'QSEAT', quantity: 1, termMonths: 10 }] }), [
      { pointer: '/lines/0/termMonths', detail: 'must be a multiple of 3 (billed per quarter)' },
    ])
    t.same(await cartErrors({}, { lines: [{ sku: 'WIDGET', quantity: 1, termMonths: 12 }] }), [
      { pointer: '/lines/0/termMonths', detail: 'WIDGET is not a subscription' },
    ])
  })

  t.test('start date before the book', async (t) => {
    t.same(
      await cartErrors(
        {},
        {
          lines: [
            { sku: 'WIDGET', quantity: 1 },
            { sku: 'SEAT', quantity: 1, startDate: '2025-12-15' },
          ],
        },
      ),
      [{ pointer: '/lines/1/startDate', detail: 'before price book eur-list starts (2026-01-01)' }],
    )
  })

  t.test('every problem at once, and the message lists them', async (t) => {
    const errors = await cartErrors(
      {},
      {
        lines: [
          { sku: 'NOPE', quantity: 1 },
          { sku: 'WIDGET', quantity: 2.5 },
          { sku: 'QSEAT', quantity: 1, termMonths: 4 },
        ],
      },
    )
    t.same(
      errors.map((e) => e.pointer),
      ['/lines/0/sku', '/lines/1/quantity', '/lines/2/termMonths'],
    )
    const error = new CartError(errors)
    t.equal(
      error.message,
      '/lines/0/sku: unknown sku NOPE; /lines/1/quantity: piece quantities must be whole numbers; /lines/2/termMonths: must be a multiple of 3 (billed per quarter)',
    )
  })
})

t.test('guardrails', async (t) => {
  const maxDiscount = rule({
    id: 'g.max-discount',
    priority: 600,
    conditions: all(leaf('line', '$.listUnitPrice', 'greaterThan', 0)),
    event: { type: 'guardrail.limit', params: { metric: 'discountPercent', max: '20', outcome: 'needs_approval', reason: 'Discount above 20 %' } },
  })
  const minMargin = rule({
    id: 'g.min-margin',
    priority: 500,
    conditions: all(leaf('line', '$.unitCost', 'greaterThan', 0)),
    event: { type: 'guardrail.limit', params: { metric: 'marginPercent', min: '70', outcome: 'blocked', reason: 'Margin below 70 %' } },
  })

  t.test('discountPercent above max → needs_approval with actual and max', async (t) => {
    const r = await evaluate(
      { guardrails: [maxDiscount] },
      {
        lines: [
          { sku: 'GADGET', quantity: 2, manualDiscountPercent: '25' },
          { sku: 'GADGET', quantity: 2, manualDiscountPercent: '20' },
          { sku: 'GADGET', quantity: 1, manualDiscountPercent: '25' },
        ],
      },
    )
    t.same(line(r, 0).guardrail, {
      outcome: 'needs_approval',
      breaches: [{ ruleId: 'g.max-discount', metric: 'discountPercent', max: '20', actual: '25.00', outcome: 'needs_approval', reason: 'Discount above 20 %' }],
    })
    t.same(line(r, 1).guardrail, { outcome: 'allowed', breaches: [] }, 'exactly at the max is allowed')
    // 25 % of 25.50 = 6.375 → 6.38: the actual discount is 25.02 %, reported rounded to two decimals.
    t.equal(line(r, 2).guardrail.breaches[0]?.actual, '25.02')
    t.equal(r.guardrails.outcome, 'needs_approval')
    t.same(r.guardrails.breaches, [], 'line breaches stay on their line')
  })

  t.test('marginPercent below min → blocked; the quote outcome is the worst', async (t) => {
    const r = await evaluate(
      { guardrails: [maxDiscount, minMargin] },
      {
        lines: [
          { sku: 'WIDGET', quantity: 3 },
          { sku: 'GADGET', quantity: 1, manualDiscountPercent: '30' },
        ],
      },
    )
    t.same(line(r, 0).guardrail, {
      outcome: 'blocked',
      breaches: [{ ruleId: 'g.min-margin', metric: 'marginPercent', min: '70', actual: '60.00', outcome: 'blocked', reason: 'Margin below 70 %' }],
    })
    t.equal(line(r, 1).guardrail.outcome, 'needs_approval')
    t.equal(r.guardrails.outcome, 'blocked')
    t.equal(r.approvals.required, false, 'a blocked quote is not routed for approval')
  })

  t.test('a quote-scope guardrail without a metric: firing is the breach', async (t) => {
    const big = rule({
      id: 'g.big',
      scope: 'quote',
      conditions: all(leaf('quote', '$.netTotal', 'greaterThan', 1000)),
      event: { type: 'guardrail.limit', params: { outcome: 'needs_approval', reason: 'Big deal' } },
    })
    const r = await evaluate({ guardrails: [big] }, { lines: [{ sku: 'KIT', quantity: 10 }] })
    t.same(r.guardrails, { outcome: 'needs_approval', breaches: [{ ruleId: 'g.big', metric: null, outcome: 'needs_approval', reason: 'Big deal' }] })
    const small = await evaluate({ guardrails: [big] }, { lines: [{ sku: 'KIT', quantity: 1 }] })
    t.same(small.guardrails, { outcome: 'allowed', breaches: [] })
  })

  t.test('netUnitPrice floor on a line', async (t) => {
    const floor = rule({
      id: 'g.floor',
      conditions: onSku('WIDGET'),
      event: { type: 'guardrail.limit', params: { metric: 'netUnitPrice', min: '8.50', outcome: 'blocked', reason: 'Floor' } },
    })
    const r = await evaluate({ guardrails: [floor] }, { lines: [{ sku: 'WIDGET', quantity: 4, manualDiscountPercent: '20' }] })
    t.same(line(r, 0).guardrail.breaches, [{ ruleId: 'g.floor', metric: 'netUnitPrice', min: '8.50', actual: '8.00', outcome: 'blocked', reason: 'Floor' }])
  })

  t.test('guardrail facts: quote.guardrailOutcome is unknown to guardrails, so using it there is a load error', async (t) => {
    const g = rule({
      id: 'g.outcome',
      scope: 'quote',
      conditions: all(leaf('quote', '$.guardrailOutcome', 'equal', 'allowed')),
      event: { type: 'guardrail.limit', params: { outcome: 'blocked', reason: 'x' } },
    })
    const { errors } = buildRuleSet({ rules: [{ file: 'guardrails/a.yaml', content: { rules: [g] } }], priceBooks: BOOKS })
    t.equal(errors.length, 1)
    t.equal(errors[0]?.path, '/rules/0/conditions/all/0/path')
  })
})

t.test('approvals', async (t) => {
  const discounted = all(leaf('quote', '$.maxLineDiscountPercent', 'greaterThan', 10))
  const needsApproval = rule({
    id: 'g.any-discount',
    priority: 600,
    conditions: all(leaf('line', '$.discountPercent', 'greaterThan', 0)),
    event: { type: 'guardrail.limit', params: { outcome: 'needs_approval', reason: 'Any discount' } },
  })

  t.test('steps merged by level and role, with both reasons; sorted by level', async (t) => {
    const approvals = [
      rule({
        id: 'a.discount',
        priority: 900,
        scope: 'quote',
        conditions: discounted,
        event: { type: 'approval.require', params: { role: 'sales_manager', level: 1, mode: 'any', reason: 'Discount above 10 %' } },
      }),
      rule({
        id: 'a.big',
        priority: 800,
        scope: 'quote',
        conditions: all(leaf('quote', '$.netTotal', 'greaterThan', 50)),
        event: { type: 'approval.require', params: { role: 'sales_manager', level: 1, mode: 'any', reason: 'Over 50' } },
      }),
      rule({
        id: 'a.finance',
        priority: 950,
        scope: 'quote',
        conditions: all(leaf('quote', '$.guardrailOutcome', 'equal', 'needs_approval')),
        event: { type: 'approval.require', params: { role: 'finance', level: 2, reason: 'Guardrail' } },
      }),
      rule({
        id: 'a.never',
        priority: 100,
        scope: 'quote',
        conditions: all(leaf('quote', '$.netTotal', 'greaterThan', 1e9)),
        event: { type: 'approval.require', params: { role: 'admin', level: 3, reason: 'Never' } },
      }),
    ]
    const r = await evaluate({ guardrails: [needsApproval], approvals }, { lines: [{ sku: 'WIDGET', quantity: 10, manualDiscountPercent: '15' }] })
    t.equal(r.guardrails.outcome, 'needs_approval')
    t.same(r.approvals, {
      required: true,
      steps: [
        {
          level: 1,
          role: 'sales_manager',
          mode: 'any',
          reasons: [
            { ruleId: 'a.discount', reason: 'Discount above 10 %' },
            { ruleId: 'a.big', reason: 'Over 50' },
          ],
          upTo: {},
        },
        { level: 2, role: 'finance', mode: 'all', reasons: [{ ruleId: 'a.finance', reason: 'Guardrail' }], upTo: {} },
      ],
    })
  })

  t.test('no step, no approval needed', async (t) => {
    const r = await evaluate(
      {
        approvals: [
          rule({ scope: 'quote', conditions: discounted, event: { type: 'approval.require', params: { role: 'sales_manager', level: 1, reason: 'x' } } }),
        ],
      },
      { lines: [{ sku: 'WIDGET', quantity: 1 }] },
    )
    t.same(r.approvals, { required: false, steps: [] })
  })

  t.test('fallback deal_desk step when a guardrail needs approval and no rule routes it', async (t) => {
    const r = await evaluate({ guardrails: [needsApproval] }, { lines: [{ sku: 'WIDGET', quantity: 1, manualDiscountPercent: '5' }] })
    t.same(r.approvals, {
      required: true,
      steps: [
        {
          level: 1,
          role: 'deal_desk',
          mode: 'all',
          reasons: [{ ruleId: null, reason: 'A guardrail requires approval and no approval rule routed it' }],
          upTo: {},
        },
      ],
    })
  })
})

t.test('recommendations skip skus already in the cart, and unpriced ones', async (t) => {
  const rec = (id: string, sku: string, priority: number, quantity?: unknown) =>
    rule({
      id,
      priority,
      scope: 'quote',
      conditions: all(leaf('quote', '$.skus', 'contains', 'SEAT')),
      event: { type: 'recommend.add', params: { sku, kind: 'cross_sell', reason: `Add ${sku}`, ...(quantity === undefined ? {} : { quantity }) } },
    })
  const r = await evaluate(
    {
      recommendations: [
        rec('r.widget', 'WIDGET', 300),
        rec('r.gadget', 'GADGET', 200, { $logic: { '*': [{ var: 'quote.lineCount' }, 2] } }),
        rec('r.gadget-again', 'GADGET', 100),
        rec('r.noprice', 'NOPRICE', 50),
      ],
    },
    {
      lines: [
        { sku: 'SEAT', quantity: 1 },
        { sku: 'WIDGET', quantity: 1 },
      ],
    },
  )
  t.same(r.recommendations, [
    { sku: 'GADGET', name: 'Product GADGET', quantity: 4, kind: 'cross_sell', ruleId: 'r.gadget', reason: 'Add GADGET', listUnitPrice: '25.50' },
  ])
})

t.test('a json-logic runtime error names the rule', async (t) => {
  const bad = rule({ id: 'p.bad-logic', event: adjust({ percent: { $logic: { cat: ['a', 'bc'] } } }) })
  let thrown: unknown
  try {
    await evaluate({ pricing: [bad] }, { lines: [{ sku: 'WIDGET', quantity: 1 }] })
  } catch (error) {
    thrown = error
  }
  t.type(thrown, RuleEvaluationError)
  t.equal((thrown as RuleEvaluationError).ruleId, 'p.bad-logic')
  t.equal((thrown as RuleEvaluationError).message, 'event param percent is not a finite number (got "abc")')

  t.test('a config.require quantity that is not a whole number', async (t) => {
    const req = rule({
      id: 'c.half',
      event: { type: 'config.require', params: { sku: 'CABLE', quantity: { $logic: { '/': [{ var: 'line.quantity' }, 2] } }, reason: 'x' } },
    })
    await t.rejects(evaluate({ configuration: [req] }, { lines: [{ sku: 'WIDGET', quantity: 3 }] }), {
      name: 'RuleEvaluationError',
      ruleId: 'c.half',
      message: 'event param quantity must be a whole number from 1 (got 1.5)',
    })
  })

  t.test('a percent above 100', async (t) => {
    const over = rule({ id: 'p.over', event: adjust({ percent: { $logic: { '+': [100, 1] } } }) })
    await t.rejects(evaluate({ pricing: [over] }, { lines: [{ sku: 'WIDGET', quantity: 1 }] }), {
      name: 'RuleEvaluationError',
      ruleId: 'p.over',
      message: 'event param percent 101 is outside -1000..100',
    })
  })
})

t.test('the trace', async (t) => {
  const rules = {
    pricing: [
      rule({ id: 'p.hit', priority: 200, event: adjust({ percent: '10' }) }),
      rule({
        id: 'p.miss',
        priority: 100,
        conditions: all(leaf('line', '$.sku', 'equal', 'WIDGET'), leaf('line', '$.quantity', 'greaterThan', 100)),
        event: adjust({ percent: '5' }),
      }),
    ],
  }
  const cart = { lines: [{ sku: 'WIDGET', quantity: 3 }] }

  t.test('fired: the rules that fired, with the facts they looked at', async (t) => {
    const r = await evaluate(rules, cart, 'fired')
    t.same(r.trace, [{ stage: 'pricing', ruleId: 'p.hit', line: 0, fired: true, applied: true, facts: { 'line.sku': 'WIDGET' } }])
  })

  t.test('full: also the ones that did not, naming the first failed condition', async (t) => {
    const r = await evaluate(rules, cart, 'full')
    t.same(r.trace, [
      { stage: 'pricing', ruleId: 'p.hit', line: 0, fired: true, applied: true, facts: { 'line.sku': 'WIDGET' } },
      {
        stage: 'pricing',
        ruleId: 'p.miss',
        line: 0,
        fired: false,
        facts: { 'line.sku': 'WIDGET', 'line.quantity': 3 },
        failed: { fact: 'line', path: '$.quantity', operator: 'greaterThan', value: 100, actual: 3 },
      },
    ])
  })

  t.test('none: an empty trace, left out of the rendered output', async (t) => {
    const e = await evaluateQuote(ruleSetOf(rules), cartOf(cart), { trace: 'none' })
    t.same(e.trace, [])
    t.notOk('trace' in renderEvaluation(e, 'none'))
    t.equal(line(renderEvaluation(e, 'none'), 0).netAmount, '27.00', 'the trace level does not change the result')
  })

  t.test('quote-scope rules have no line, and dynamic facts are labelled with their param', async (t) => {
    const q = rule({
      id: 'c.qty',
      scope: 'quote',
      conditions: all({ fact: 'cartQuantity', params: { sku: 'WIDGET' }, operator: 'greaterThanInclusive', value: 5 }),
      event: { type: 'config.warn', params: { message: 'Many widgets' } },
    })
    const r = await evaluate(
      { configuration: [q] },
      {
        lines: [
          { sku: 'WIDGET', quantity: 2 },
          { sku: 'WIDGET', quantity: 3 },
        ],
      },
      'full',
    )
    t.same(r.trace, [{ stage: 'configuration', ruleId: 'c.qty', fired: true, applied: true, facts: { 'cartQuantity(WIDGET)': 5 } }])
  })

  t.test('fired is not applied: a suppressed promotion, a guardrail within its limits, a requirement already met say why', async (t) => {
    const r = await evaluate(
      {
        pricing: [
          rule({ id: 'p.promo', priority: 300, event: adjust({ percent: '20', promoCode: 'SPRING' }) }),
          rule({ id: 'p.a', priority: 200, event: adjust({ percent: '5', group: 'g' }) }),
          rule({ id: 'p.b', priority: 100, event: adjust({ percent: '3', group: 'g' }) }),
        ],
        guardrails: [
          rule({ id: 'g.max', event: { type: 'guardrail.limit', params: { metric: 'discountPercent', max: '10', outcome: 'needs_approval', reason: 'x' } } }),
        ],
        configuration: [rule({ id: 'c.req', event: { type: 'config.require', params: { sku: 'GADGET', reason: 'needs a gadget' } } })],
      },
      {
        lines: [
          { sku: 'WIDGET', quantity: 1 },
          { sku: 'GADGET', quantity: 1 },
        ],
      },
      'fired',
    )
    const of = (id: string) => r.trace!.filter((e) => e.ruleId === id).map(({ fired, applied, reason }) => ({ fired, applied, reason }))
    t.same(of('p.promo'), [{ fired: true, applied: false, reason: 'promotion code SPRING not entered' }])
    t.same(of('p.a'), [{ fired: true, applied: true, reason: undefined }])
    t.same(of('p.b'), [{ fired: true, applied: false, reason: 'stacking group g already used by p.a' }])
    t.same(of('g.max'), [{ fired: true, applied: false, reason: 'within its limits (actual 5.00)' }])
    t.same(of('c.req'), [{ fired: true, applied: false, reason: 'the cart already has 1 × GADGET' }])
  })
})

t.test('determinism: the same cart twice gives deep-equal output', async (t) => {
  const ruleSet = ruleSetOf({
    pricing: [
      rule({ id: 'p.a', priority: 300, event: adjust({ percent: '7.5' }) }),
      rule({ id: 'p.b', priority: 300, conditions: onSku('GADGET'), event: adjust({ amount: '0.33' }) }),
      rule({ id: 'p.q', scope: 'quote', conditions: ALWAYS_QUOTE, event: adjust({ percent: '3', appliesTo: { families: ['platform', 'hardware'] } }) }),
    ],
    guardrails: [
      rule({
        id: 'g.d',
        conditions: all(leaf('line', '$.listUnitPrice', 'greaterThan', 0)),
        event: { type: 'guardrail.limit', params: { metric: 'discountPercent', max: '10', outcome: 'needs_approval', reason: 'x' } },
      }),
    ],
  })
  const cart = cartOf({
    lines: [
      { sku: 'WIDGET', quantity: 7 },
      { sku: 'GADGET', quantity: 3, manualDiscountPercent: '2.25' },
      { sku: 'SEAT', quantity: 11, termMonths: 36 },
      { sku: 'KIT', quantity: 1 },
    ],
  })
  const first = renderEvaluation(await evaluateQuote(ruleSet, cart, { trace: 'full' }), 'full')
  const second = renderEvaluation(await evaluateQuote(ruleSet, structuredClone(cart), { trace: 'full' }), 'full')
  t.same(second, first)
  t.equal(JSON.stringify(second), JSON.stringify(first), 'byte for byte, key order included')
  // WIDGET 70.00 −7.5 % → 64.75 −3 % → 62.81; GADGET 76.50 −0.99 → 75.51 −3 % → 73.24 −2.25 % → 71.59;
  // SEAT 220.00 −3 % → 213.40 × 36 = 7682.40; KIT 100.00 + MOUNT-A 15.00.
  t.same(
    first.lines.map((l) => l.contractAmount),
    ['62.81', '71.59', '7682.40', '100.00', '15.00'],
  )
  t.equal(first.totals.net, '7931.80')
})

t.test('properties (fast-check)', async (t) => {
  const minor = (amount: string) => parseAmount(amount, 'EUR')
  const cents = (n: number) => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`
  const percentString = fc
    .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 99 }))
    .map(([i, f]) => (i === 100 ? '100' : `${i}.${String(f).padStart(2, '0')}`))
  const signedPercent = fc.tuple(fc.integer({ min: -50, max: 99 }), fc.integer({ min: 0, max: 9 })).map(([i, f]) => `${i}.${f}`)

  const scenario = fc.record({
    widgetPrice: fc.integer({ min: 0, max: 1_000_000 }),
    seatPrice: fc.integer({ min: 1, max: 100_000 }),
    widgetQty: fc.integer({ min: 1, max: 1000 }),
    seatQty: fc.integer({ min: 1, max: 500 }),
    daysQty: fc.integer({ min: 1, max: 10_000 }).map((n) => n / 1000),
    term: fc.constantFrom(12, 24, 36, 48),
    percent: signedPercent,
    amount: fc.integer({ min: 0, max: 5_000 }),
    per: fc.constantFrom('unit', 'line'),
    quotePercent: percentString,
    uplift: fc.integer({ min: 0, max: 20 }),
    manual: fc.option(percentString, { nil: undefined }),
  })

  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const book: SourceFile = {
        file: 'eur-list.yaml',
        content: {
          ...(EUR_BOOK.content as Json),
          entries: [
            { sku: 'WIDGET', listPrice: cents(s.widgetPrice), cost: '1.00' },
            {
              sku: 'SEAT',
              listPrice: cents(s.seatPrice),
              tiering: {
                mode: 'slab',
                tiers: [
                  { upTo: 10, unitPrice: cents(s.seatPrice) },
                  { upTo: null, unitPrice: cents(Math.floor(s.seatPrice / 2)) },
                ],
              },
            },
            { sku: 'DAYS', listPrice: '999.99' },
          ],
        },
      }
      const { ruleSet, errors } = buildRuleSet({
        rules: [
          {
            file: 'pricing/p.yaml',
            content: {
              rules: [
                rule({ id: 'p.pct', priority: 300, conditions: all(leaf('line', '$.quantity', 'greaterThan', 0)), event: adjust({ percent: s.percent }) }),
                rule({
                  id: 'p.amt',
                  priority: 200,
                  conditions: all(leaf('line', '$.quantity', 'greaterThan', 0)),
                  event: adjust({ amount: cents(s.amount), per: s.per }),
                }),
                rule({
                  id: 'p.quote',
                  scope: 'quote',
                  conditions: ALWAYS_QUOTE,
                  event: adjust({ percent: s.quotePercent, appliesTo: { families: ['platform'] } }),
                }),
                rule({ id: 'p.ramp', conditions: onSku('SEAT'), event: { type: 'price.ramp', params: { upliftPercent: String(s.uplift), label: 'Ramp' } } }),
              ],
            },
          },
        ],
        priceBooks: [CATALOG, book],
      })
      if (!ruleSet) throw new Error(JSON.stringify(errors))
      const cart = cartOf({
        lines: [
          { sku: 'WIDGET', quantity: s.widgetQty, ...(s.manual ? { manualDiscountPercent: s.manual } : {}) },
          { sku: 'SEAT', quantity: s.seatQty, termMonths: s.term },
          { sku: 'DAYS', quantity: s.daysQty },
        ],
      })
      const r = renderEvaluation(await evaluateQuote(ruleSet, cart, { trace: 'none' }), 'none')
      for (const l of r.lines) {
        if (minor(l.netAmount) < 0n) return false
        if (minor(l.contractAmount) < 0n) return false
      }
      const { standard, discount, rampUplift, net, list } = r.totals
      if (minor(net) !== minor(standard) - minor(discount) + minor(rampUplift)) return false
      if (minor(net) !== r.lines.reduce((sum, l) => sum + minor(l.contractAmount), 0n)) return false
      // Each line's adjustments take it exactly from its list amount to its net amount.
      for (const l of r.lines) {
        if (minor(l.listAmount) + l.adjustments.reduce((sum, a) => sum + minor(a.amount), 0n) !== minor(l.netAmount)) return false
      }
      // The ramp only ever raises the contract, and list is the sum of list × periods.
      if (minor(rampUplift) < 0n) return false
      if (minor(list) !== r.lines.reduce((sum, l) => sum + minor(l.listAmount) * BigInt(l.periods), 0n)) return false
      return true
    }),
    { numRuns: 150, seed: 20260301 },
  )
  t.pass('properties hold')
})

t.test('the discount that triggers a guardrail or an approval is the discount shown (2 decimals, from the amounts charged)', async (t) => {
  const book = structuredClone(EUR_BOOK) as { content: { entries: Json[] } } & SourceFile
  book.content.entries.push({ sku: 'NOPRICE', listPrice: '33.33' })
  const rules = {
    guardrails: [
      rule({
        id: 'g.ten',
        conditions: onSku('NOPRICE'),
        event: { type: 'guardrail.limit', params: { metric: 'discountPercent', max: '10', outcome: 'needs_approval', reason: 'over 10 %' } },
      }),
    ],
    approvals: [
      rule({
        id: 'a.ten',
        scope: 'quote',
        conditions: all(leaf('quote', '$.maxLineDiscountPercent', 'greaterThan', 10)),
        event: { type: 'approval.require', params: { role: 'sales_manager', level: 1, reason: 'over 10 %' } },
      }),
    ],
  }
  const ruleSet = ruleSetOf(rules, [CATALOG, book])
  // 3 × 33.33 = 99.99; 10 % = 9.999 → 10.00 off → 89.99: 10.001 % exactly, shown as 10.00 — and treated as 10.00.
  const one = renderEvaluation(
    await evaluateQuote(ruleSet, cartOf({ lines: [{ sku: 'NOPRICE', quantity: 3, manualDiscountPercent: '10' }] }), { trace: 'fired' }),
    'fired',
  )
  t.equal(line(one, 0).discountPercent, '10.00')
  t.equal(one.guardrails.outcome, 'allowed')
  t.same(one.approvals.steps, [])
  t.same(one.trace!.find((e) => e.ruleId === 'g.ten')?.reason, 'within its limits (actual 10.00)')
  // The same goods on three lines: the same answer.
  const three = renderEvaluation(
    await evaluateQuote(ruleSet, cartOf({ lines: [1, 2, 3].map(() => ({ sku: 'NOPRICE', quantity: 1, manualDiscountPercent: '10' })) }), { trace: 'none' }),
    'none',
  )
  t.same(three.approvals.steps, [])
  t.equal(three.guardrails.outcome, 'allowed')
  // 10.01 % shown is over the limit, and triggers both.
  const over = renderEvaluation(
    await evaluateQuote(ruleSet, cartOf({ lines: [{ sku: 'NOPRICE', quantity: 3, manualDiscountPercent: '10.01' }] }), { trace: 'none' }),
    'none',
  )
  t.equal(line(over, 0).discountPercent, '10.01')
  t.equal(over.guardrails.outcome, 'needs_approval')
  t.same(
    over.approvals.steps.map((s) => s.role),
    ['sales_manager'],
  )
})

t.test('margin counts only the lines whose cost is known, and says how much of the revenue it covers', async (t) => {
  // WIDGET 10.00 with cost 4.00; GADGET 25.50 without cost.
  const r = await evaluate(
    {},
    {
      lines: [
        { sku: 'WIDGET', quantity: 1 },
        { sku: 'GADGET', quantity: 1 },
      ],
    },
  )
  t.equal(line(r, 1).marginPercent, null)
  t.same([r.totals.cost, r.totals.marginPercent, r.totals.costCoveragePercent], ['4.00', '60.00', '28.17']) // 10.00 / 35.50
  const none = await evaluate({}, { lines: [{ sku: 'GADGET', quantity: 2 }] })
  t.same([none.totals.cost, none.totals.marginPercent, none.totals.costCoveragePercent], [null, null, null], 'no cost known: no margin invented')
})

t.test("a line added by a rule takes the deal's term unless the rule names one", async (t) => {
  const require = (params: Json = {}) =>
    rule({ id: 'c.support', conditions: onSku('SEAT'), event: { type: 'config.require', params: { sku: 'SUPPORT', reason: 'Seats need support', ...params } } })
  const r = await evaluate({ configuration: [require()] }, { lines: [{ sku: 'SEAT', quantity: 10, termMonths: 36 }] })
  t.match(line(r, 1), { sku: 'SUPPORT', source: 'rule', termMonths: 36, periods: 3 })
  const named = await evaluate({ configuration: [require({ termMonths: 12 })] }, { lines: [{ sku: 'SEAT', quantity: 10, termMonths: 36 }] })
  t.match(line(named, 1), { sku: 'SUPPORT', termMonths: 12, periods: 1 })
  // A deal term the added product cannot bill (SUPPORT is yearly) falls back to its default term.
  const odd = await evaluate({ configuration: [require()] }, { lines: [{ sku: 'SEAT', quantity: 10, termMonths: 18 }] })
  t.match(line(odd, 1), { sku: 'SUPPORT', termMonths: 12 })
  // A term that does not fit the product's billing period is refused at load.
  const { errors } = buildRuleSet({ rules: [{ file: 'configuration/a.yaml', content: { rules: [require({ termMonths: 18 })] } }], priceBooks: BOOKS })
  t.same(
    errors.map((e) => [e.path, e.message]),
    [['/rules/0/event/params/termMonths', 'must be a multiple of 12 (SUPPORT is billed per year)']],
  )
})

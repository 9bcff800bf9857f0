import t from 'tap'
import { cp, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTestApp } from '../helpers/app.js'

const ROOT = new URL('../../', import.meta.url).pathname

/** The README's demo cart. */
export const DEMO_CART = {
  currency: 'EUR',
  date: '2026-12-01',
  account: { id: 'acc_123', segment: 'enterprise', country: 'FR', vatId: 'FR11123456782' },
  lines: [
    { sku: 'PLAT-ENT-SEAT', quantity: 120, termMonths: 36, startDate: '2027-01-01' },
    { sku: 'GW-200', quantity: 10, manualDiscountPercent: '5' },
  ],
  promoCodes: ['WINTER26'],
  paymentTermsDays: 30,
}

t.test('evaluation over HTTP', async (t) => {
  // The app serves a copy of the demo rules, so the reload tests can break files safely.
  const dir = await mkdtemp(join(tmpdir(), 'qtc-rules-'))
  await cp(join(ROOT, 'rules'), join(dir, 'rules'), { recursive: true })
  await cp(join(ROOT, 'price-books'), join(dir, 'price-books'), { recursive: true })
  const { app, as, database } = await buildTestApp(t, { rulesDir: join(dir, 'rules'), priceBooksDir: join(dir, 'price-books') })
  const evaluate = (body: unknown, role: Parameters<typeof as>[0] = 'sales_rep', query = '') =>
    app.inject({ method: 'POST', url: `/v1/quotes/evaluate${query}`, headers: as(role), payload: body as object })

  await t.test('the demo cart is priced, explained and deterministic', async (t) => {
    const first = await evaluate(DEMO_CART)
    t.equal(first.statusCode, 200, first.body)
    const body = first.json()
    t.match(body.ruleSetHash, /^[0-9a-f]{64}$/)
    t.match(body.priceBookHash, /^[0-9a-f]{64}$/)
    t.equal(body.priceBook.id, 'eur-list')
    const seats = body.lines[0]
    t.equal(seats.sku, 'PLAT-ENT-SEAT')
    t.equal(seats.listAmount, '9000.00', '120 × 75.00')
    t.equal(seats.baseAmount, '8280.00', 'range tier 2: 120 × 69.00')
    t.ok(seats.adjustments.length >= 2, 'every adjustment is listed')
    for (const a of seats.adjustments) t.match(a.amount, /^-?\d+\.\d{2}$/, 'amounts are decimal strings')
    t.ok(Array.isArray(seats.ramp) && seats.ramp.length === 3, 'a 36-month enterprise line ramps over 3 years')
    t.ok(Array.isArray(body.trace) && body.trace.length > 0 && body.trace.every((e: { fired: boolean }) => e.fired), 'default trace lists fired rules')
    t.type(body.evaluationMs, 'number')
    // Amounts add up: net = standard − discount + ramp uplift, in cents.
    const cents = (s: string) => BigInt(s.replace('.', ''))
    t.equal(cents(body.totals.net), cents(body.totals.standard) - cents(body.totals.discount) + cents(body.totals.rampUplift))
    t.equal(
      cents(body.totals.net),
      body.lines.reduce((sum: bigint, l: { contractAmount: string }) => sum + cents(l.contractAmount), 0n),
    )
    const second = (await evaluate(DEMO_CART)).json()
    const { evaluationMs: _a, ...a } = body
    const { evaluationMs: _b, ...b } = second
    t.same(b, a, 'the same request twice gives identical amounts, hashes and trace')
  })

  await t.test('trace levels', async (t) => {
    const none = (await evaluate(DEMO_CART, 'sales_rep', '?trace=none')).json()
    t.equal(none.trace, undefined)
    const full = (await evaluate(DEMO_CART, 'sales_rep', '?trace=full')).json()
    const notFired = full.trace.filter((e: { fired: boolean }) => !e.fired)
    t.ok(notFired.length > 0, 'full trace includes rules that did not fire')
    t.ok(
      notFired.some((e: { failed?: { fact: string } }) => e.failed && typeof e.failed.fact === 'string'),
      'with the first failed condition',
    )
    t.equal((await evaluate(DEMO_CART, 'sales_rep', '?trace=verbose')).statusCode, 400)
    const big = { ...DEMO_CART, lines: Array.from({ length: 501 }, () => ({ sku: 'SEN-TEMP', quantity: 1 })) }
    const refused = await evaluate(big, 'sales_rep', '?trace=full')
    t.equal(refused.statusCode, 400)
    t.same(refused.json().errors, [{ pointer: '/trace', in: 'querystring', detail: 'at most 500 lines with trace=full' }], 'a full trace is bounded')
    t.equal((await evaluate(big, 'sales_rep', '?trace=fired')).statusCode, 200)
  })

  await t.test('bad carts get 422 naming the line', async (t) => {
    const res = await evaluate({ ...DEMO_CART, lines: [DEMO_CART.lines[0], { sku: 'NOPE-1', quantity: 1 }] })
    t.equal(res.statusCode, 422)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal(res.json().code, 'CART_INVALID')
    t.same(
      res.json().errors.map((e: { pointer: string }) => e.pointer),
      ['/lines/1/sku'],
    )
    const fractional = await evaluate({ ...DEMO_CART, lines: [{ sku: 'GW-200', quantity: 1.5 }] })
    t.same(fractional.json().errors[0].pointer, '/lines/0/quantity')
    const noBook = await evaluate({ ...DEMO_CART, currency: 'JPY' })
    t.same(noBook.json().errors[0].pointer, '/currency')
    const zero = await evaluate({ ...DEMO_CART, lines: [{ sku: 'GW-200', quantity: 0 }] })
    t.equal(zero.statusCode, 400, 'schema: quantity must be > 0')
    t.equal(zero.json().errors[0].pointer, '/lines/0/quantity')
    const unknownField = await evaluate({ ...DEMO_CART, discount: 50 })
    t.equal(unknownField.statusCode, 400)
    t.equal(unknownField.json().errors[0].pointer, '/discount')
  })

  await t.test('limits: lines per cart', async (t) => {
    const { app: small, as: asSmall } = await buildTestApp(t, { maxCartLines: 2 })
    const res = await small.inject({
      method: 'POST',
      url: '/v1/quotes/evaluate',
      headers: asSmall('sales_rep'),
      payload: { ...DEMO_CART, lines: [DEMO_CART.lines[1], DEMO_CART.lines[1], DEMO_CART.lines[1]] },
    })
    t.equal(res.statusCode, 400)
    t.equal(res.json().errors[0].pointer, '/lines')
    const account = await small.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: asSmall('sales_rep'),
      payload: {
        name: 'Small',
        billingAddress: { line1: '1 rue', city: 'Lyon', postalCode: '69001', country: 'FR' },
        country: 'FR',
        currency: 'EUR',
        segment: 'enterprise',
      },
    })
    const quote = await small.inject({
      method: 'POST',
      url: '/v1/quotes',
      headers: asSmall('sales_rep'),
      payload: { accountId: account.json().id, lines: [DEMO_CART.lines[1], DEMO_CART.lines[1], DEMO_CART.lines[1]] },
    })
    t.equal(quote.statusCode, 400, 'quotes have the same line limit')
    t.equal(quote.json().errors[0].pointer, '/lines')
  })

  await t.test('roles', async (t) => {
    t.equal((await app.inject({ method: 'POST', url: '/v1/quotes/evaluate', payload: DEMO_CART })).statusCode, 401)
    t.equal((await evaluate(DEMO_CART, 'pricing_analyst')).statusCode, 200, 'analysts evaluate (what-if and audit)')
    t.equal((await evaluate(DEMO_CART, 'deal_desk')).statusCode, 200)
  })

  await t.test('pricing date: today by default; a past date is a what-if for pricing analysts and finance only', async (t) => {
    const { date: _, ...undated } = DEMO_CART
    const today = await evaluate(undated)
    t.equal(today.statusCode, 200, today.body)
    t.same([today.json().date, today.json().whatIf], ['2026-12-01', false], 'an omitted date means today (the test clock)')
    const past = { ...DEMO_CART, date: '2026-06-01' }
    const rep = await evaluate(past, 'sales_rep')
    t.equal(rep.statusCode, 400, 'a rep cannot revive an ended promotion')
    t.same(rep.json().errors, [{ pointer: '/date', detail: 'must be 2026-12-01 or later (only pricing_analyst and finance may price as of a past date)' }])
    for (const role of ['pricing_analyst', 'finance'] as const) {
      const asOf = await evaluate(past, role)
      t.equal(asOf.statusCode, 200, `${role}: ${asOf.body}`)
      t.same([asOf.json().date, asOf.json().whatIf], ['2026-06-01', true], `${role} prices as of a past date, marked as a what-if`)
    }
    const future = await evaluate({ ...DEMO_CART, date: '2027-02-01' }, 'sales_rep')
    t.same([future.statusCode, future.json().whatIf], [200, false])
  })

  await t.test('record: the decision is stored with its hashes and replays to the cent', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/quotes/evaluate',
      headers: { ...as('sales_rep'), 'idempotency-key': 'eval-1' },
      payload: { ...DEMO_CART, record: true },
    })
    t.equal(res.statusCode, 201)
    const { decisionId, ruleSetHash } = res.json()
    t.match(decisionId, /^dec_/)
    const row = await database.db.selectFrom('decisions').selectAll().where('id', '=', decisionId).executeTakeFirstOrThrow()
    t.equal(row.rule_set_hash, ruleSetHash)
    t.equal((row.input as { lines: unknown[] }).lines.length, 2)
    const retry = await app.inject({
      method: 'POST',
      url: '/v1/quotes/evaluate',
      headers: { ...as('sales_rep'), 'idempotency-key': 'eval-1' },
      payload: { ...DEMO_CART, record: true },
    })
    t.equal(retry.json().decisionId, decisionId, 'a retry replays, it does not record twice')
    const count = await database.db
      .selectFrom('decisions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    t.equal(Number(count.n), 1)
    await t.rejects(database.db.updateTable('decisions').set({ kind: 'evaluation' }).where('id', '=', decisionId).execute(), /append-only/)
    const replay = await app.inject({ method: 'GET', url: `/v1/decisions/${decisionId}/replay`, headers: as('finance') })
    t.equal(replay.statusCode, 200)
    t.equal(replay.json().identical, true)
    t.equal((await app.inject({ method: 'GET', url: `/v1/decisions/${decisionId}/replay`, headers: as('sales_rep') })).statusCode, 403)
    t.equal((await app.inject({ method: 'GET', url: '/v1/decisions/dec_nope/replay', headers: as('finance') })).statusCode, 404)
  })

  await t.test('catalog, price books and the current rule set', async (t) => {
    const products = await app.inject({ method: 'GET', url: '/v1/catalog/products?limit=5', headers: as('sales_rep') })
    t.equal(products.statusCode, 200)
    t.equal(products.json().data.length, 5)
    t.equal(products.json().hasMore, true)
    const next = await app.inject({ method: 'GET', url: `/v1/catalog/products?limit=5&starting_after=${products.json().nextCursor}`, headers: as('sales_rep') })
    t.ok(next.json().data[0].sku > products.json().data[4].sku, 'the cursor continues in sku order')
    const books = (await app.inject({ method: 'GET', url: '/v1/price-books', headers: as('sales_rep') })).json()
    t.same(
      books.data.map((b: { id: string }) => b.id),
      ['eur-list', 'eur-partner', 'usd-list'],
    )
    const current = (await app.inject({ method: 'GET', url: '/v1/rule-sets/current', headers: as('pricing_analyst') })).json()
    t.match(current.ruleSetHash, /^[0-9a-f]{64}$/)
    t.ok(current.ruleCounts.pricing > 0)
  })

  await t.test('reload: a malformed rule file is refused with file, rule and path; the old set keeps serving', async (t) => {
    const before = (await app.inject({ method: 'GET', url: '/v1/rule-sets/current', headers: as('pricing_analyst') })).json()
    t.equal((await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('sales_rep') })).statusCode, 403)
    const same = await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('pricing_analyst') })
    t.equal(same.statusCode, 200)
    t.equal(same.json().changed, false)

    const bad = join(dir, 'rules', 'pricing', 'zz-broken.yaml')
    await writeFile(
      bad,
      'rules:\n  - id: broken.rule\n    description: x\n    owner: me\n    effective: { from: 2026-01-01 }\n    priority: 5\n    scope: line\n    conditions: { all: [ { fact: line, path: $.colour, operator: equal, value: red } ] }\n    event: { type: price.adjust, params: { percent: "5", label: x } }\n',
    )
    const refused = await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('pricing_analyst') })
    t.equal(refused.statusCode, 422)
    t.equal(refused.json().code, 'RULE_SET_INVALID')
    t.same(refused.json().errors, [
      { pointer: '/rules/0/conditions/all/0/path', detail: 'line has no property "colour"', file: 'pricing/zz-broken.yaml', ruleId: 'broken.rule' },
    ])
    const after = (await app.inject({ method: 'GET', url: '/v1/rule-sets/current', headers: as('pricing_analyst') })).json()
    t.equal(after.ruleSetHash, before.ruleSetHash, 'the old set still serves')
    t.equal((await evaluate(DEMO_CART)).statusCode, 200)

    await writeFile(
      bad,
      'rules:\n  - id: extra.rule\n    description: Five percent off gateways for a test\n    owner: me\n    effective: { from: 2026-01-01 }\n    priority: 5\n    scope: line\n    conditions: { all: [ { fact: line, path: $.sku, operator: equal, value: GW-300 } ] }\n    event: { type: price.adjust, params: { percent: "5", label: x } }\n',
    )
    const swapped = await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('admin') })
    t.equal(swapped.statusCode, 200)
    t.equal(swapped.json().changed, true)
    t.not(swapped.json().ruleSetHash, before.ruleSetHash)
    const stored = await database.db.selectFrom('rule_set_versions').select('rule_set_hash').execute()
    t.same(stored.map((r) => r.rule_set_hash).sort(), [before.ruleSetHash, swapped.json().ruleSetHash].sort(), 'both published sets are stored')
  })

  await t.test('a rule failing at run time fails the evaluation with a code naming the rule', async (t) => {
    // Valid at load time (cat is an allowed json-logic operation), but it computes a word where a percentage is needed.
    await writeFile(
      join(dir, 'rules', 'pricing', 'zz-broken.yaml'),
      'rules:\n  - id: broken.percent\n    description: A percentage computed as text\n    owner: me\n    effective: { from: 2026-01-01 }\n    priority: 5\n    scope: line\n    conditions: { all: [ { fact: line, path: $.sku, operator: equal, value: GW-300 } ] }\n    event: { type: price.adjust, params: { percent: { $logic: { cat: [ten, percent] } }, label: x } }\n',
    )
    t.equal((await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('admin') })).statusCode, 200)
    const res = await evaluate({ ...DEMO_CART, lines: [{ sku: 'GW-300', quantity: 1 }] })
    t.equal(res.statusCode, 500)
    t.equal(res.json().code, 'RULE_EVALUATION_FAILED')
    t.equal(res.json().ruleId, 'broken.percent')
    t.match(res.json().detail, /broken\.percent.*percent/)
    t.equal((await evaluate(DEMO_CART)).statusCode, 200, 'carts the rule does not touch still price')
  })
})

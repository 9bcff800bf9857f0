import t from 'tap'
import { CART_LINE_BYTES, CART_OVERHEAD_BYTES, cartBodyLimit } from '../../src/http/body-limit.js'
import { buildTestApp } from '../helpers/app.js'

/** The cart routes' body limit is sized from MAX_CART_LINES, so the two limits agree. */

// A big subscription renewal: seats and add-ons with terms and manual discounts, and a few
// starter kits with their options (the rules allow at most 10 kits a quote).
const kit = {
  sku: 'KIT-STARTER',
  quantity: 1,
  options: [
    { sku: 'GW-200', quantity: 1 },
    { sku: 'SEN-TEMP', quantity: 5 },
    { sku: 'MNT-WALL', quantity: 1 },
  ],
  manualDiscountPercent: '7.5',
}
const kinds = [
  (i: number) => ({ sku: 'PLAT-ENT-SEAT', quantity: 25 + (i % 75), termMonths: 36, startDate: '2027-01-01', manualDiscountPercent: '12.5' }),
  (i: number) => ({ sku: 'ADD-SSO', quantity: 10 + (i % 90), termMonths: 36, startDate: '2027-01-01' }),
  (i: number) => ({ sku: 'ADD-ANALYTICS', quantity: 10 + (i % 90), termMonths: 36, startDate: '2027-01-01', manualDiscountPercent: '5' }),
  (i: number) => ({ sku: 'ADD-STORAGE-100', quantity: 1 + (i % 20), termMonths: 36, manualDiscountPercent: '2.5' }),
]
const cart = (n: number) => ({
  currency: 'EUR',
  date: '2026-12-01',
  account: { id: 'acc_big', segment: 'enterprise', country: 'FR', vatId: 'FR11123456782' },
  lines: Array.from({ length: n }, (_, i) => (i < 10 ? kit : kinds[i % kinds.length]!(i))),
})

t.test('the documented limits: 10,000 lines, 1 MiB elsewhere, 10,256 KiB on cart routes', async (t) => {
  t.equal(CART_LINE_BYTES, 1024)
  t.equal(CART_OVERHEAD_BYTES, 256 * 1024)
  t.equal(cartBodyLimit(10_000, 1024 * 1024), 10_502_144)
  t.equal(cartBodyLimit(100, 1024 * 1024), 1024 * 1024, 'never below BODY_LIMIT_BYTES')
})

t.test('a realistic 10,000-line cart (options, terms, manual discounts), indented, is evaluated', async (t) => {
  const ctx = await buildTestApp(t)
  t.equal(ctx.config.maxCartLines, 10_000, 'the default line limit')
  t.equal(ctx.config.bodyLimitBytes, 1024 * 1024, 'the default body limit')
  const payload = JSON.stringify(cart(10_000), null, 2)
  t.ok(payload.length > 1024 * 1024, `more than the general 1 MiB limit (${payload.length} bytes)`)
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/v1/quotes/evaluate?trace=none',
    headers: { ...ctx.as('sales_rep'), 'content-type': 'application/json' },
    payload,
  })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'evaluated' : res.body.slice(0, 500))
  const body = res.json()
  t.same(body.configuration.errors, [], 'a valid configuration')
  t.equal(body.valid, true)
  t.ok(body.lines.length >= 10_000, 'every line priced')
})

t.test('413 names the body limit, and on cart routes the line limit', async (t) => {
  const ctx = await buildTestApp(t, { maxCartLines: 10, bodyLimitBytes: 2048 })
  const limit = cartBodyLimit(10, 2048)
  t.equal(limit, CART_OVERHEAD_BYTES + 10 * CART_LINE_BYTES)
  const huge = { ...cart(1), account: { id: 'x'.repeat(limit), segment: 'enterprise', country: 'FR' } }
  for (const [method, url] of [
    ['POST', '/v1/quotes/evaluate'],
    ['POST', '/v1/quotes'],
    ['PATCH', '/v1/quotes/qt_x'],
  ] as const) {
    const res = await ctx.app.inject({ method, url, headers: { ...ctx.as('sales_rep'), 'if-match': '"v1"' }, payload: huge })
    t.equal(res.statusCode, 413, `${method} ${url}`)
    t.equal(res.json().code, 'PAYLOAD_TOO_LARGE')
    t.equal(
      res.json().detail,
      `The request body is larger than ${limit.toLocaleString('en')} bytes, the limit of this route: it takes a cart of up to 10 lines (MAX_CART_LINES).`,
    )
  }
  const other = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: { name: 'x'.repeat(3000) } })
  t.equal(other.statusCode, 413)
  t.equal(other.json().detail, 'The request body is larger than 2,048 bytes, the limit of this route (BODY_LIMIT_BYTES).')

  const tooMany = await ctx.app.inject({ method: 'POST', url: '/v1/quotes/evaluate', headers: ctx.as('sales_rep'), payload: cart(11) })
  t.equal(tooMany.statusCode, 400)
  t.same(tooMany.json().errors, [
    { pointer: '/lines', in: 'body', detail: `must have at most 10 lines (MAX_CART_LINES); the body may be up to ${limit.toLocaleString('en')} bytes` },
  ])
})

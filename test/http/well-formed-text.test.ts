import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'

/** NUL characters and lone surrogates are refused with 400 wherever strings enter, and change nothing. */

const ACCOUNT = {
  name: 'Acme Industrie SA',
  billingAddress: { line1: '12 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  segment: 'enterprise',
}
const ctx = await buildTestApp(t)
const { app, database } = ctx
const rep = ctx.as('sales_rep')
const account = await app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: ACCOUNT })
const accountId = account.json().id as string
const quote = await app.inject({
  method: 'POST',
  url: '/v1/quotes',
  headers: rep,
  payload: { accountId, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 5, termMonths: 12 }], pricingDate: '2026-12-01' },
})
const quoteId = quote.json().id as string

const count = async (table: 'accounts' | 'quotes' | 'quote_revisions') =>
  Number(
    (
      await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

function refused(t: Test, res: { statusCode: number; json(): any }, expected: Array<{ pointer: string; in: string; detail: RegExp }>) {
  t.equal(res.statusCode, 400)
  const body = res.json()
  t.equal(body.code, 'VALIDATION_FAILED')
  t.match(body.detail, /not accepted: a NUL character or a lone surrogate/)
  t.equal(body.errors.length, expected.length, 'one error per bad string')
  expected.forEach((e, i) => t.match(body.errors[i], e))
}

const NUL = /NUL character \(U\+0000\)/
const SURROGATE = /lone surrogate/

t.test("a NUL in a quote's notes: 400, nothing written", async (t) => {
  t.equal(quote.statusCode, 201, quote.body)
  const revisions = await count('quote_revisions')
  const res = await app.inject({
    method: 'PATCH',
    url: `/v1/quotes/${quoteId}`,
    headers: { ...rep, 'if-match': quote.headers.etag as string },
    payload: { notes: 'a\u0000b' },
  })
  refused(t, res, [{ pointer: '/notes', in: 'body', detail: NUL }])
  const created = await app.inject({
    method: 'POST',
    url: '/v1/quotes',
    headers: rep,
    payload: { accountId, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 5 }], notes: '\u0000' },
  })
  refused(t, created, [{ pointer: '/notes', in: 'body', detail: NUL }])
  t.equal(await count('quote_revisions'), revisions, 'no revision written')
})

t.test('lone surrogates in an account: 400, nothing written', async (t) => {
  const before = await count('accounts')
  const res = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    headers: rep,
    payload: { ...ACCOUNT, name: 'Acme \ud800', billingAddress: { ...ACCOUNT.billingAddress, city: 'Pa\udfffris', line1: 'x\u0000' } },
  })
  refused(t, res, [
    { pointer: '/name', in: 'body', detail: SURROGATE },
    { pointer: '/billingAddress/line1', in: 'body', detail: NUL },
    { pointer: '/billingAddress/city', in: 'body', detail: SURROGATE },
  ])
  const key = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    headers: rep,
    payload: { ...ACCOUNT, billingAddress: { ...ACCOUNT.billingAddress, ['x\u0000']: 'y' } },
  })
  refused(t, key, [{ pointer: '/billingAddress/x\u0000', in: 'body', detail: /^property name must not contain the NUL/ }])
  t.equal(await count('accounts'), before, 'no account created')
})

t.test('at most 20 bad strings are listed', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    headers: rep,
    payload: { ...ACCOUNT, billingAddress: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, '\u0000'])) },
  })
  t.equal(res.statusCode, 400)
  t.equal(res.json().errors.length, 20)
  t.same(
    res
      .json()
      .errors.slice(0, 2)
      .map((e: { pointer: string }) => e.pointer),
    ['/billingAddress/k0', '/billingAddress/k1'],
  )
})

t.test('a well-formed surrogate pair (an emoji) is text and is stored', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: { ...ACCOUNT, name: 'Café 🚀' } })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json().name, 'Café 🚀')
})

t.test('in a query string and a path parameter', async (t) => {
  refused(t, await app.inject({ method: 'GET', url: '/v1/accounts?starting_after=acc_%00', headers: rep }), [
    { pointer: '/starting_after', in: 'querystring', detail: NUL },
  ])
  refused(t, await app.inject({ method: 'GET', url: '/v1/quotes/qt_%00x', headers: rep }), [{ pointer: '/id', in: 'params', detail: NUL }])
})

t.test('in an evaluated cart', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/quotes/evaluate',
    headers: rep,
    payload: {
      currency: 'EUR',
      date: '2026-12-01',
      account: { id: 'a\u0000', segment: 'enterprise', country: 'FR' },
      lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 1 }],
    },
  })
  refused(t, res, [{ pointer: '/account/id', in: 'body', detail: NUL }])
})

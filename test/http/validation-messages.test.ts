import t from 'tap'
import { PATTERN_WORDS } from '../../src/http/validation-messages.js'
import { buildTestApp } from '../helpers/app.js'

/** 400s say what to send in words: no regular expression, no Ajv jargon. */

const ctx = await buildTestApp(t)
const { app } = ctx
const rep = ctx.as('sales_rep')

// Anything that reads like a regular expression: anchors, escapes, classes, quantifiers.
const REGEX = /\^|\$"|\\[dws]|\[[A-Za-z0-9]-|\{\d+,\d*\}|must match pattern|anyOf|must be equal to constant/

const ACCOUNT = {
  name: 'Acme',
  billingAddress: { line1: 'x', city: 'Paris', postalCode: '75002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  segment: 'enterprise',
}
const CART = {
  currency: 'EUR',
  date: '2026-12-01',
  account: { id: 'acc_1', segment: 'enterprise', country: 'FR' },
  lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 5 }],
}

t.test('a sample of invalid inputs across routes: details in words', async (t) => {
  const cases: Array<[string, { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: object }, Record<string, string>]> = [
    [
      'sku, date, percent, currency, country, promo code, segment, vat id',
      {
        method: 'POST',
        url: '/v1/quotes/evaluate',
        payload: {
          ...CART,
          currency: 'eur',
          date: '1.12.2026',
          account: { id: 'a', segment: 'Enterprise!', country: 'france', vatId: 'fr 123' },
          lines: [{ sku: 'plat pro', quantity: 5, manualDiscountPercent: '12,5', startDate: '2026-02-30' }],
          promoCodes: ['-WINTER'],
          channel: 'fax',
        },
      },
      {
        '/currency': 'must be a currency code: three upper-case letters (ISO 4217), e.g. EUR',
        '/date': 'must be a calendar date written YYYY-MM-DD',
        '/account/segment': 'must be an identifier: lower-case letters, digits, dots, dashes and underscores, up to 100, starting with a letter or digit',
        '/account/country': 'must be a country code: two upper-case letters (ISO 3166-1), e.g. FR',
        '/account/vatId': 'must be upper-case letters and digits only, without spaces or punctuation',
        '/lines/0/sku': 'must be a SKU: upper-case letters, digits and dashes, up to 64, not starting with a dash',
        '/lines/0/manualDiscountPercent': 'must be a percentage written as a string, e.g. "12.5": up to 3 digits and 4 decimals',
        '/lines/0/startDate': 'must be a calendar date written YYYY-MM-DD',
        '/promoCodes/0': 'must be a promotion code: upper-case letters, digits, dashes and underscores, up to 32, not starting with a dash or underscore',
      },
    ],
    [
      'account: missing and unknown properties, a bad email',
      { method: 'POST', url: '/v1/accounts', payload: { ...ACCOUNT, country: 'fr', nickname: 'x', name: undefined } },
      {
        '/name': 'is required',
        '/nickname': 'unknown property',
        '/country': 'must be a country code: two upper-case letters (ISO 3166-1), e.g. FR',
      },
    ],
    [
      "a quote's notes too long, a nullable union",
      { method: 'POST', url: '/v1/quotes', payload: { accountId: 'acc_x', lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 1 }], notes: 'n'.repeat(5001) } },
      {
        '/notes': 'must not have more than 5000 characters',
      },
    ],
    [
      'a query string',
      { method: 'GET', url: '/v1/quotes?status=lost&limit=0' },
      {
        '/limit': 'must be >= 1',
      },
    ],
  ]
  for (const [name, request, expected] of cases) {
    const res = await app.inject({ ...request, headers: rep })
    t.equal(res.statusCode, 400, name)
    const errors: Array<{ pointer: string; detail: string }> = res.json().errors
    for (const e of errors) t.notMatch(e.detail, REGEX, `${name}: ${e.pointer} "${e.detail}" reads as words`)
    t.notMatch(res.json().detail, REGEX)
    const details = Object.fromEntries(errors.map((e) => [e.pointer, e.detail]))
    for (const [pointer, detail] of Object.entries(expected)) t.equal(details[pointer], detail, `${name}: ${pointer}`)
    t.equal(new Set(errors.map((e) => `${e.pointer} ${e.detail}`)).size, errors.length, `${name}: no error repeated`)
  }
  const status = await app.inject({ method: 'GET', url: '/v1/quotes?status=lost', headers: rep })
  t.match(status.json().errors, [{ pointer: '/status', detail: /^must be one of: "draft", / }], 'the allowed values of a union are listed once')
  t.equal(status.json().errors.length, 1)
})

t.test('every pattern a route validates has words', async (t) => {
  await app.ready()
  const patterns = new Set<string>()
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk)
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      if (key === 'pattern' && typeof value === 'string') patterns.add(value)
      else walk(value)
    }
  }
  const spec = app.swagger() as { paths: Record<string, Record<string, { parameters?: unknown; requestBody?: unknown }>>; components: unknown }
  for (const item of Object.values(spec.paths)) for (const op of Object.values(item)) walk([op.parameters, op.requestBody])
  walk(spec.components)
  t.ok(patterns.size >= 8, `found ${patterns.size} patterns`)
  for (const pattern of patterns) t.type(PATTERN_WORDS[pattern], 'string', `words for ${pattern}`)
})

t.test('a __proto__ or constructor.prototype key: says what is refused, not "invalid JSON"', async (t) => {
  const json = { ...rep, 'content-type': 'application/json' }
  const proto = await app.inject({ method: 'POST', url: '/v1/accounts', headers: json, payload: '{"name":"x","billingAddress":{"__proto__":{"admin":true}}}' })
  t.equal(proto.statusCode, 400)
  t.equal(proto.json().code, 'MALFORMED_REQUEST')
  t.equal(proto.json().detail, 'The key __proto__ is not accepted in a request body (prototype pollution).')
  t.same(proto.json().errors, [{ pointer: '/billingAddress/__proto__', in: 'body', detail: 'the key __proto__ is not accepted (prototype pollution)' }])
  const ctor = await app.inject({ method: 'POST', url: '/v1/accounts', headers: json, payload: '{"lines":[{"constructor":{"prototype":{"x":1}}}]}' })
  t.equal(ctor.json().detail, 'The key constructor.prototype is not accepted in a request body (prototype pollution).')
  t.same(ctor.json().errors, [
    { pointer: '/lines/0/constructor/prototype', in: 'body', detail: 'the key constructor.prototype is not accepted (prototype pollution)' },
  ])
  const broken = await app.inject({ method: 'POST', url: '/v1/accounts', headers: json, payload: '{"name": "x", ' })
  t.equal(broken.json().detail, 'The request body is not valid JSON.', 'real syntax errors still say so')
  const escaped = await app.inject({ method: 'POST', url: '/v1/accounts', headers: json, payload: '{"\\u005f_proto__":{}}' })
  t.equal(escaped.json().detail, 'The key __proto__ is not accepted in a request body (prototype pollution).', 'an escaped spelling is the same key')
})

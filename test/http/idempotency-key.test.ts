import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTestApp } from '../helpers/app.js'

/**
 * Idempotent replays over HTTP: the stored answer is sent back byte for byte (jsonb would
 * have re-ordered its keys), and a retry is answered before validation and pricing.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

// Rules and price books of their own, so the test can change what serves.
const filesDir = mkdtempSync(join(tmpdir(), 'qtc-idempotency-rules-'))
t.teardown(() => rmSync(filesDir, { recursive: true, force: true }))
cpSync(join(ROOT, 'rules'), join(filesDir, 'rules'), { recursive: true })
cpSync(join(ROOT, 'price-books'), join(filesDir, 'price-books'), { recursive: true })

const ctx = await buildTestApp(t, { rulesDir: join(filesDir, 'rules'), priceBooksDir: join(filesDir, 'price-books') })
const { app, as } = ctx

const CART = {
  currency: 'EUR',
  date: '2026-12-15', // ahead of the test clock, which a test moves a day on
  account: { id: 'acc_123', segment: 'enterprise', country: 'FR', vatId: 'FR11123456782' },
  lines: [
    { sku: 'PLAT-ENT-SEAT', quantity: 120, termMonths: 36, startDate: '2027-01-01' },
    { sku: 'GW-200', quantity: 10, manualDiscountPercent: '5' },
  ],
  promoCodes: ['WINTER26'],
  paymentTermsDays: 30,
}
const ACCOUNT = {
  name: 'Bytes SA',
  billingAddress: { line1: '1 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  segment: 'enterprise',
}

const post = (url: string, payload: unknown, key: string) =>
  app.inject({ method: 'POST', url, headers: { ...as('sales_rep'), 'idempotency-key': key }, payload: payload as object })

async function count(table: 'decisions' | 'quotes' | 'accounts'): Promise<number> {
  const row = await ctx.database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('a replay is the first answer byte for byte, key order included', async (t) => {
  const account = await post('/v1/accounts', ACCOUNT, 'bytes-account')
  t.equal(account.statusCode, 201)
  const accountReplay = await post('/v1/accounts', ACCOUNT, 'bytes-account')
  t.equal(accountReplay.headers['idempotent-replayed'], 'true')
  t.equal(accountReplay.payload, account.payload, 'an account')

  const quoteBody = { accountId: account.json().id, lines: CART.lines, promoCodes: ['WINTER26'] }
  const quote = await post('/v1/quotes', quoteBody, 'bytes-quote')
  t.equal(quote.statusCode, 201)
  const quoteReplay = await post('/v1/quotes', quoteBody, 'bytes-quote')
  t.same([quoteReplay.statusCode, quoteReplay.headers['idempotent-replayed']], [201, 'true'])
  t.equal(quoteReplay.payload, quote.payload, 'a quote, with its nested revision and evaluation')
  t.equal(quoteReplay.headers['content-type'], quote.headers['content-type'])
  // jsonb stores object keys shortest first: the first answer's order is not that one, so the old replay differed.
  const lineKeys = Object.keys(quote.json().revision.evaluation.lines[0])
  t.not(lineKeys.join(), [...lineKeys].sort((a, b) => a.length - b.length || (a < b ? -1 : 1)).join(), 'the first answer is not in jsonb order')

  const evaluation = await post('/v1/quotes/evaluate', { ...CART, record: true }, 'bytes-eval')
  t.equal(evaluation.statusCode, 201)
  const evaluationReplay = await post('/v1/quotes/evaluate', { ...CART, record: true }, 'bytes-eval')
  t.equal(evaluationReplay.headers['idempotent-replayed'], 'true')
  t.equal(evaluationReplay.payload, evaluation.payload, 'an evaluation, evaluationMs included')

  const row = await ctx.database.db
    .selectFrom('idempotency_keys')
    .select(['response_bytes', 'response_type'])
    .where('key', '=', 'bytes-eval')
    .executeTakeFirstOrThrow()
  t.equal(row.response_bytes.toString('utf8'), evaluation.payload, 'what is stored is what was sent')
  t.equal(row.response_type, 'application/json; charset=utf-8')
})

t.test('a replay is answered before validation and pricing', async (t) => {
  // Pricing: the first evaluation is recorded, then the serving price books stop selling GW-200.
  const first = await post('/v1/quotes/evaluate', { ...CART, record: true }, 'before-pricing')
  t.equal(first.statusCode, 201)
  const catalog = join(filesDir, 'price-books', 'catalog.yaml')
  const text = readFileSync(catalog, 'utf8')
  writeFileSync(catalog, text.replace(/(- sku: GW-200\n(?: {4}.*\n)*? {4}active: )true/, '$1false'))
  t.teardown(async () => {
    writeFileSync(catalog, text)
    await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('pricing_analyst') })
  })
  const reload = await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('pricing_analyst') })
  t.same([reload.statusCode, reload.json().changed], [200, true], reload.body)
  const fresh = await post('/v1/quotes/evaluate', { ...CART, record: true }, 'before-pricing-2')
  t.same([fresh.statusCode, fresh.json().code], [422, 'CART_INVALID'], 'the cart no longer prices')
  const decisions = await count('decisions')
  const replay = await post('/v1/quotes/evaluate', { ...CART, record: true }, 'before-pricing')
  t.same([replay.statusCode, replay.headers['idempotent-replayed']], [201, 'true'], 'the retry still gets its answer')
  t.equal(replay.payload, first.payload, 'unchanged')
  t.equal(await count('decisions'), decisions, 'nothing recorded')

  // Validation: a quote priced for today; a retry tomorrow would be refused ("pricing date in the past").
  const account = await post('/v1/accounts', { ...ACCOUNT, name: 'Tomorrow SA' }, 'before-validation-account')
  const body = { accountId: account.json().id, lines: [CART.lines[0]], pricingDate: '2026-12-01' }
  const quote = await post('/v1/quotes', body, 'before-validation')
  t.equal(quote.statusCode, 201, quote.body)
  ctx.clock.advance(20 * 60 * 60 * 1000)
  const late = await post('/v1/quotes', body, 'before-validation-2')
  t.same([late.statusCode, late.json().errors?.[0]?.pointer], [400, '/pricingDate'], 'a new request is validated')
  const quotes = await count('quotes')
  const retry = await post('/v1/quotes', body, 'before-validation')
  t.same([retry.statusCode, retry.headers['idempotent-replayed']], [201, 'true'])
  t.equal(retry.payload, quote.payload)
  t.equal(await count('quotes'), quotes)
})

t.test('the same body is the body as sent: key order and blanks do not matter, a spelled-out default does', async (t) => {
  const first = await post('/v1/quotes/evaluate', { ...CART, record: true }, 'as-sent')
  t.equal(first.statusCode, 201)
  const reordered = Object.fromEntries(Object.entries({ ...CART, record: true }).reverse())
  const spaced = await app.inject({
    method: 'POST',
    url: '/v1/quotes/evaluate',
    headers: { ...as('sales_rep'), 'idempotency-key': 'as-sent', 'content-type': 'application/json' },
    payload: JSON.stringify(reordered, null, 2),
  })
  t.same([spaced.statusCode, spaced.headers['idempotent-replayed']], [201, 'true'], 'another key order, other blanks: a replay')
  t.equal(spaced.payload, first.payload)
  const spelled = await post('/v1/quotes/evaluate', { ...CART, channel: 'direct', record: true }, 'as-sent')
  t.same([spelled.statusCode, spelled.json().code], [422, 'IDEMPOTENCY_KEY_REUSED'], 'channel: "direct" is the default, but the first request did not send it')
})

t.test('a replay repeats the body, not the other headers of the first answer', async (t) => {
  const account = await post('/v1/accounts', { ...ACCOUNT, name: 'Headers SA' }, 'headers-account')
  const body = { accountId: account.json().id, lines: [CART.lines[0]] }
  const first = await post('/v1/quotes', body, 'headers-quote')
  t.equal(first.headers.etag, '"v1"')
  const replay = await post('/v1/quotes', body, 'headers-quote')
  t.same([replay.headers['idempotent-replayed'], replay.headers.etag], ['true', undefined], 'no ETag: read the quote for its current one')
})

t.test('what is not a replay still goes to the handler', async (t) => {
  const first = await post('/v1/accounts', { ...ACCOUNT, name: 'Other SA' }, 'not-a-replay')
  t.equal(first.statusCode, 201)
  const other = await post('/v1/accounts', { ...ACCOUNT, name: 'Different SA' }, 'not-a-replay')
  t.same([other.statusCode, other.json().code], [422, 'IDEMPOTENCY_KEY_REUSED'], 'the same key, another body')
  const invalid = await post('/v1/accounts', { ...ACCOUNT, name: '' }, 'not-a-replay-2')
  t.same([invalid.statusCode, invalid.json().code], [400, 'VALIDATION_FAILED'], 'a first request is validated')
  const otherPrincipal = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    headers: { ...as('sales_manager'), 'idempotency-key': 'not-a-replay' },
    payload: { ...ACCOUNT, name: 'Other SA' },
  })
  t.same([otherPrincipal.statusCode, otherPrincipal.headers['idempotent-replayed']], [201, undefined], 'keys are per principal')
  const forbidden = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    headers: { ...as('pricing_analyst'), 'idempotency-key': 'not-a-replay' },
    payload: { ...ACCOUNT, name: 'Other SA' },
  })
  t.equal(forbidden.statusCode, 403, 'authorisation comes first')
  const accounts = await count('accounts')
  ctx.clock.advance(24 * 60 * 60 * 1000 + 1)
  const expired = await post('/v1/accounts', { ...ACCOUNT, name: 'Other SA' }, 'not-a-replay')
  t.same([expired.statusCode, expired.headers['idempotent-replayed']], [201, undefined], 'after 24 hours, a new request')
  t.equal(await count('accounts'), accounts + 1)
})

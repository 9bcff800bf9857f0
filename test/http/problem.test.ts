import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp, REDACTED_PATHS } from '../../src/app.js'
import { buildTestApp } from '../helpers/app.js'

const PROBLEM_KEYS = ['code', 'detail', 'instance', 'status', 'title', 'type']

/** Asserts the response is an RFC 9457 problem with this status and code; returns its body. */
function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, extra: { todo?: string } = {}): Record<string, any> {
  t.equal(res.statusCode, status, `status ${status}`, extra)
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json content type', extra)
  const body = res.json()
  t.equal(body.status, status, 'body.status', extra)
  t.equal(body.code, code, 'body.code', extra)
  t.equal(body.type, `urn:qtc:problem:${code.toLowerCase().replaceAll('_', '-')}`, 'body.type', extra)
  t.type(body.title, 'string', extra)
  t.ok(body.title?.length > 0, 'title is not empty', extra)
  t.type(body.detail, 'string', extra)
  t.ok(body.detail?.length > 0, 'detail is not empty', extra)
  t.equal(body.instance, res.headers['x-request-id'], 'instance is the request id', extra)
  t.match(body.instance, /^req_[0-9a-f]{32}$/, 'instance is a request id', extra)
  return body
}

/**
 * Known regression (src/app.ts since a46a0be): `app.addSchema(EvaluationSchema)` runs after
 * principalRoutes is registered. Fastify then marks the principal routes' schema controller as
 * having new schemas and, at ready(), rebuilds their validator from its *default* builder: the
 * strict Ajv of src/http/validation.ts is silently replaced by fastify's default one (type
 * coercion, unknown properties stripped, first error only). The assertions that catch it run,
 * marked todo; delete this marker and its uses once fixed.
 */

// One app for everything but rate limiting; a 2 KiB body limit so "oversize" is cheap.
const ctx = await buildTestApp(t, { bodyLimitBytes: 2048 })
const { app, database } = ctx

// buildApp does not call ready(): a route may still be added before the first inject.
app.get('/boom', { config: { public: true } }, async () => {
  throw new Error('secret internals')
})

async function principalCount(): Promise<number> {
  const row = await database.db
    .selectFrom('principals')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('unknown route: 404 problem with the request id as instance', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/v1/nowhere?x=1', headers: ctx.as('admin') })
  const body = problem(t, res, 404, 'NOT_FOUND')
  t.equal(body.title, 'Not Found')
  t.equal(body.detail, 'No route GET /v1/nowhere.')
  t.same(Object.keys(body).sort(), PROBLEM_KEYS)

  const anonymous = await app.inject({ method: 'DELETE', url: '/nope' })
  problem(t, anonymous, 404, 'NOT_FOUND')
  t.not(anonymous.json().instance, body.instance, 'each request has its own id')
})

t.test('schema validation failures: 400 with JSON pointers', async (t) => {
  const before = await principalCount()
  const pointersOf = (body: Record<string, any>) => (body.errors ?? []).map((e: { pointer: string; in: string }) => `${e.in}:${e.pointer}`).sort()

  const missing = await app.inject({ method: 'POST', url: '/v1/principals', headers: ctx.as('admin'), payload: {} })
  const m = problem(t, missing, 400, 'VALIDATION_FAILED')
  t.equal(m.title, 'Bad Request')
  t.equal(m.detail, 'The request body is invalid.')
  t.ok(pointersOf(m).includes('body:/name'), 'the missing name is reported')
  t.same(pointersOf(m), ['body:/name', 'body:/roles'], 'both missing properties are reported')

  const wrongType = await app.inject({ method: 'POST', url: '/v1/principals', headers: ctx.as('admin'), payload: { name: 5, roles: 'admin' } })
  const w = problem(t, wrongType, 400, 'VALIDATION_FAILED')
  t.same(pointersOf(w), ['body:/name', 'body:/roles'], 'a number is not a string, a string is not an array')
  t.match(w.errors?.find((e: { pointer: string }) => e.pointer === '/name')?.detail, /string/, 'the detail names the type')

  const badRole = await app.inject({ method: 'POST', url: '/v1/principals', headers: ctx.as('admin'), payload: { name: 'x', roles: ['emperor'] } })
  const b = problem(t, badRole, 400, 'VALIDATION_FAILED')
  t.ok(b.errors.length > 0)
  t.ok(
    b.errors.every((e: { pointer: string }) => e.pointer === '/roles/0'),
    'pointer into the array element',
  )

  const tooLong = await app.inject({ method: 'POST', url: '/v1/principals', headers: ctx.as('admin'), payload: { name: 'x'.repeat(201), roles: ['admin'] } })
  const l = problem(t, tooLong, 400, 'VALIDATION_FAILED')
  t.same(pointersOf(l), ['body:/name'])

  const unknown = await app.inject({ method: 'POST', url: '/v1/principals', headers: ctx.as('admin'), payload: { name: 'x', roles: ['admin'], isRoot: true } })
  const u = problem(t, unknown, 400, 'VALIDATION_FAILED')
  t.same(u.errors, [{ pointer: '/isRoot', in: 'body', detail: 'unknown property' }], 'unknown property rejected, not stripped')

  const query = await app.inject({ method: 'GET', url: '/v1/principals?limit=zero', headers: ctx.as('admin') })
  const q = problem(t, query, 400, 'VALIDATION_FAILED')
  t.equal(q.detail, 'The request querystring is invalid.')
  t.same(pointersOf(q), ['querystring:/limit'])

  const params = await app.inject({ method: 'GET', url: `/v1/principals/${'p'.repeat(65)}`, headers: ctx.as('admin') })
  const p = problem(t, params, 400, 'VALIDATION_FAILED')
  t.equal(p.detail, 'The request params is invalid.')
  t.same(pointersOf(p), ['params:/id'])

  t.equal(await principalCount(), before, 'nothing was created by an invalid request')
})

t.test('malformed JSON: 400 MALFORMED_REQUEST', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { ...ctx.as('admin'), 'content-type': 'application/json' },
    payload: '{"name": "x", "roles": [',
  })
  problem(t, res, 400, 'MALFORMED_REQUEST')

  const empty = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { ...ctx.as('admin'), 'content-type': 'application/json' },
    payload: '',
  })
  problem(t, empty, 400, 'MALFORMED_REQUEST')
})

t.test('prototype poisoning is refused and creates nothing', async (t) => {
  const before = await principalCount()
  const proto = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { ...ctx.as('admin'), 'content-type': 'application/json' },
    payload: '{"name": "poisoned", "roles": ["sales_rep"], "__proto__": {"roles": ["admin"]}}',
  })
  problem(t, proto, 400, 'MALFORMED_REQUEST')

  const nested = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { ...ctx.as('admin'), 'content-type': 'application/json' },
    payload: '{"name": "poisoned", "roles": ["sales_rep"], "managerId": null, "x": {"__proto__": {"isAdmin": true}}}',
  })
  problem(t, nested, 400, 'MALFORMED_REQUEST')

  const ctor = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { ...ctx.as('admin'), 'content-type': 'application/json' },
    payload: '{"name": "poisoned", "roles": ["sales_rep"], "constructor": {"prototype": {"isAdmin": true}}}',
  })
  const c = problem(t, ctor, 400, 'MALFORMED_REQUEST')
  t.notMatch(c.detail, /at .*\.js/, 'no stack in the detail')

  t.equal(await principalCount(), before, 'no principal was created')
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype untouched')
  t.equal(({} as Record<string, unknown>).roles, undefined, 'Object.prototype untouched')
})

t.test('oversize body: 413 PAYLOAD_TOO_LARGE', async (t) => {
  const before = await principalCount()
  const res = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: ctx.as('admin'),
    payload: { name: 'x'.repeat(3000), roles: ['admin'] },
  })
  const body = problem(t, res, 413, 'PAYLOAD_TOO_LARGE')
  t.equal(body.title, 'Content Too Large')

  // Just under the limit is parsed (and then fails validation on the 200-character name).
  const under = await app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: ctx.as('admin'),
    payload: { name: 'x'.repeat(1900), roles: ['admin'] },
  })
  problem(t, under, 400, 'VALIDATION_FAILED')
  t.equal(await principalCount(), before)
})

t.test('wrong content type: 415 UNSUPPORTED_MEDIA_TYPE', async (t) => {
  for (const type of ['application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: { ...ctx.as('admin'), 'content-type': type },
      payload: '{"name": "x", "roles": ["admin"]}',
    })
    const body = problem(t, res, 415, 'UNSUPPORTED_MEDIA_TYPE')
    t.equal(body.title, 'Unsupported Media Type', type)
  }
})

t.test('text/plain on a JSON POST: 415 UNSUPPORTED_MEDIA_TYPE', async (t) => {
  // Fastify ships a text/plain parser; buildApp must remove it, or the body becomes a string
  // that fails validation with 400 instead of 415.
  const before = await principalCount()
  for (const type of ['text/plain', 'text/plain; charset=utf-8']) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: { ...ctx.as('admin'), 'content-type': type },
      payload: '{"name": "x", "roles": ["admin"]}',
    })
    const body = problem(t, res, 415, 'UNSUPPORTED_MEDIA_TYPE')
    t.equal(body.detail, 'Send the body as application/json.', type)
  }
  t.equal(await principalCount(), before, 'nothing created')
})

t.test('an unexpected exception: 500 INTERNAL without internals', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/boom' })
  const body = problem(t, res, 500, 'INTERNAL')
  t.equal(body.title, 'Internal Server Error')
  t.same(Object.keys(body).sort(), PROBLEM_KEYS, 'no message or stack property')
  t.notMatch(res.body, /secret internals/)
  t.notMatch(res.body, /stack/i)
  t.notMatch(res.body, /\.ts:\d+|\.js:\d+/, 'no source locations')
  t.notMatch(res.body, /Error:/)
})

t.test('rate limit: 429 RATE_LIMITED per credential', async (t) => {
  // A second app on the same database, limited to 3 requests a minute.
  const limited = await buildApp({ config: { ...ctx.config, rateLimitPerMinute: 3 }, database, clock: ctx.clock })
  t.teardown(() => limited.close())
  for (let i = 0; i < 3; i++) {
    const ok = await limited.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('sales_rep') })
    t.equal(ok.statusCode, 200, `request ${i + 1} of 3 passes`)
  }
  const res = await limited.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('sales_rep') })
  const body = problem(t, res, 429, 'RATE_LIMITED')
  t.equal(body.title, 'Too Many Requests')
  t.match(body.detail, /at most 3 a minute/)
  t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After is sent')

  const other = await limited.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('finance') })
  t.equal(other.statusCode, 200, 'another credential has its own budget')
})

t.test('log redaction covers credentials', async (t) => {
  t.ok(REDACTED_PATHS.includes('req.headers.authorization'))
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink)
  logger.info(
    { req: { headers: { authorization: 'Bearer secret', cookie: 'sid=secret', 'idempotency-key': 'secret', accept: 'application/json' } } },
    'request',
  )
  logger.info({ created: { apiKey: 'qtc_secret', name: 'visible' } }, 'created')
  logger.info({ res: { headers: { 'set-cookie': 'sid=secret' } } }, 'response')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(lines.length, 3, 'three lines logged')
  const text = lines.join('')
  t.notMatch(text, /secret/, 'no credential reaches the log')
  const first = JSON.parse(lines[0]!)
  t.same(first.req.headers, { authorization: '[redacted]', cookie: '[redacted]', 'idempotency-key': '[redacted]', accept: 'application/json' })
  t.same(JSON.parse(lines[1]!).created, { apiKey: '[redacted]', name: 'visible' })
  t.same(JSON.parse(lines[2]!).res.headers, { 'set-cookie': '[redacted]' })
})

import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { buildApp } from '../src/app.js'
import { readdirSync } from 'node:fs'
import { pino } from 'pino'
import { openDatabase } from '../src/db/database.js'
import { MIGRATIONS_DIR } from '../src/db/migrate.js'
import { createPrincipal } from '../src/principals/principal.service.js'
import { RuleSetRegistry } from '../src/rules/rule-set.service.js'
import { buildTestApp } from './helpers/app.js'

const ctx = await buildTestApp(t)
const { app, database } = ctx

type Operation = { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>; security?: unknown[] }

t.test('/health answers 200 without a key', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
  t.match(res.headers['x-request-id'], /^req_[0-9a-f]{32}$/)
  t.equal(res.headers['x-content-type-options'], 'nosniff', 'helmet headers are set')

  const withBadKey = await app.inject({ method: 'GET', url: '/health', headers: { authorization: 'Bearer nonsense' } })
  t.equal(withBadKey.statusCode, 200, 'a bad key does not matter on a public route')
})

t.test('/ready answers 200 with its checks', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.status, 'ready')
  t.equal(body.checks.database, 'ok')
  t.equal(body.checks.migrations, 'ok')
  t.same(
    Object.entries(body.checks).filter(([, v]) => v !== 'ok'),
    [],
    'every check is ok',
  )
  t.same(Object.keys(body), ['status', 'checks', 'ruleSetHash', 'priceBookHash'])
  const current = (await app.inject({ method: 'GET', url: '/v1/rule-sets/current', headers: ctx.as('pricing_analyst') })).json()
  t.same([body.ruleSetHash, body.priceBookHash], [current.ruleSetHash, current.priceBookHash], 'the hashes in service')
  t.match(body.ruleSetHash, /^[0-9a-f]{64}$/)
})

t.test('/openapi.json is a valid OpenAPI 3.1 document', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200, 'public: no key needed')
  t.match(res.headers['content-type'], /^application\/json/)
  const spec = res.json()
  t.equal(spec.openapi, '3.1.0')
  t.equal(spec.info.title, 'QTC quote-to-cash API')

  const result = await new Validator().validate(spec)
  if (!result.valid) t.comment(JSON.stringify(result.errors, null, 2))
  t.equal(result.valid, true, 'the schema validator accepts it')

  t.same(spec.components.securitySchemes.apiKey, { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer qtc_…' })
  t.same(spec.security, [{ apiKey: [] }], 'a key is required unless an operation says otherwise')
  t.ok(spec.components.schemas.Problem, 'the Problem schema is a component')
  t.same(spec.components.schemas.Problem.required, ['type', 'title', 'status', 'detail', 'code', 'instance'])
  t.notOk(
    Object.keys(spec.paths).some((p) => p.startsWith('/docs') || p === '/openapi.json'),
    'documentation routes are hidden',
  )

  const operations: Array<[string, string, Operation]> = []
  for (const [path, item] of Object.entries<Record<string, Operation>>(spec.paths)) {
    for (const [method, op] of Object.entries(item)) operations.push([method, path, op])
  }
  const documented = operations.map(([m, p]) => `${m} ${p}`)
  for (const expected of [
    'get /health',
    'get /ready',
    'get /v1/principals',
    'get /v1/principals/me',
    'get /v1/principals/{id}',
    'patch /v1/principals/{id}',
    'post /v1/principals',
    'post /v1/principals/{id}/revoke',
  ]) {
    t.ok(documented.includes(expected), `${expected} is documented`)
  }

  // Public or not is what the running app does without a key, not what the document says.
  const publicOps: string[] = []
  for (const [method, path, op] of operations) {
    const name = `${method.toUpperCase()} ${path}`
    const probe = await app.inject({ method: method.toUpperCase() as 'GET', url: path.replace(/\{[^}]+\}/g, 'probe') })
    const isPublic = probe.statusCode !== 401
    if (isPublic) {
      publicOps.push(name)
      t.same(op.security, [], `${name} is public and says so (security: [])`)
      t.notOk(op.responses['401'], `${name} is public: no 401`)
    } else {
      t.ok(op.responses['401'], `${name} documents 401`)
      t.equal(op.security, undefined, `${name} keeps the global security requirement`)
    }
    for (const [code, response] of Object.entries(op.responses)) {
      if (!/^4\d\d$/.test(code)) continue
      const content = response.content ?? {}
      t.same(Object.keys(content), ['application/problem+json'], `${name} ${code} is served as application/problem+json`)
      t.equal(content['application/problem+json']?.schema?.$ref, '#/components/schemas/Problem', `${name} ${code} is a Problem`)
    }
  }
  t.same(publicOps, ['GET /health', 'GET /ready'], 'only health and readiness are public')

  const patch = spec.paths['/v1/principals/{id}'].patch as Operation
  t.same(Object.keys(patch.responses).sort(), ['200', '400', '401', '403', '404', '412', '428', '429', '500'])
  const create = spec.paths['/v1/principals'].post as Operation & { parameters: Array<{ name: string; in: string }> }
  t.ok(
    create.parameters.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
    'the Idempotency-Key header is documented',
  )
  t.ok(create.responses['422'] && create.responses['409'], 'idempotency refusals are documented')
  const ready = spec.paths['/ready'].get as Operation
  t.equal(ready.responses['503']?.content?.['application/problem+json']?.schema?.$ref, '#/components/schemas/Problem', '/ready documents 503')
})

t.test('/openapi.json: query parameters with a default are optional, and every list states its page size', async (t) => {
  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  type Parameter = { name: string; in: string; required?: boolean; schema: { default?: unknown; maximum?: number } }
  const withDefaults: string[] = []
  const limits: Record<string, [unknown, unknown]> = {}
  for (const [path, item] of Object.entries<Record<string, { parameters?: Parameter[] }>>(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const p of op.parameters ?? []) {
        if (p.schema.default === undefined) continue
        withDefaults.push(`${method} ${path} ${p.name}`)
        t.not(p.required, true, `${method} ${path}: ${p.name} has a default, so it is not required`)
        if (p.name === 'limit') limits[`${method} ${path}`] = [p.schema.default, p.schema.maximum]
      }
    }
  }
  t.ok(withDefaults.includes('get /v1/approvals assignee') && withDefaults.includes('post /v1/quotes/evaluate trace'), 'assignee and trace are among them')
  // The defaults docs/api.md states under "Pagination".
  t.same(limits, {
    'get /v1/principals': [20, 100],
    'get /v1/catalog/products': [100, 100],
    'get /v1/accounts': [20, 100],
    'get /v1/accounts/{id}/contacts': [20, 100],
    'get /v1/quotes': [20, 100],
    'get /v1/orders': [20, 100],
    'get /v1/orders/{id}/fulfilments': [20, 100],
    'get /v1/orders/{id}/billing-schedule': [20, 100],
    'get /v1/approvals': [50, 100],
    'get /v1/invoice-runs': [20, 100],
    'get /v1/invoices': [20, 100],
    'get /v1/invoice-drafts': [20, 100],
    'get /v1/journal': [20, 100],
    'get /v1/payments': [20, 100],
    'get /v1/webhook-endpoints': [20, 100],
    'get /v1/webhook-endpoints/{id}/deliveries': [20, 100],
  })
})

t.test('a list without limit answers a page of the default size', async (t) => {
  for (let i = 0; i < 15; i++) await createPrincipal({ db: database.db, clock: ctx.clock }, { name: `Page filler ${i}`, roles: ['sales_rep'] }, null)
  const first = await app.inject({ method: 'GET', url: '/v1/principals', headers: ctx.as('admin') })
  t.equal(first.statusCode, 200)
  t.equal(first.json().data.length, 20, 'default limit: 20')
  t.equal(first.json().hasMore, true)
  const rest = await app.inject({ method: 'GET', url: `/v1/principals?starting_after=${first.json().nextCursor}`, headers: ctx.as('admin') })
  t.ok(rest.json().data.length >= 1, 'the rest on the next page')
  t.equal(rest.json().hasMore, false)
})

t.test('/docs serves Swagger UI without a key', async (t) => {
  let res = await app.inject({ method: 'GET', url: '/docs' })
  for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 5; hops++) {
    res = await app.inject({ method: 'GET', url: new URL(res.headers.location as string, 'http://localhost/docs').pathname })
  }
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /<title>Swagger UI<\/title>/)
  t.match(res.body, /swagger-ui/)

  const redirect = await app.inject({ method: 'GET', url: '/docs/static/index.html' })
  t.equal(redirect.statusCode, 302)
  t.equal(redirect.headers.location, '/docs/')

  const css = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })
  t.equal(css.statusCode, 200, 'static assets are public too')
  t.match(css.headers['content-type'], /^text\/css/)

  const json = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(json.statusCode, 200)
  t.equal(json.json().openapi, '3.1.0')
})

t.test('/ready answers 503 NOT_READY when migrations are pending', async (t) => {
  // Forget that the latest migration ran.
  type Row = { name: string; timestamp: string }
  const applied = (await database.db
    .selectFrom('kysely_migration' as never)
    .selectAll()
    .execute()) as Row[]
  t.ok(applied.length >= 1, 'migrations are recorded')
  const latest = applied
    .map((r) => r.name)
    .sort()
    .at(-1)!
  t.equal(
    latest,
    readdirSync(MIGRATIONS_DIR)
      .filter((f) => /\.(sql|ts)$/.test(f))
      .sort()
      .at(-1)!
      .replace(/\.(sql|ts)$/, ''),
  )
  await database.db
    .deleteFrom('kysely_migration' as never)
    .where('name' as never, '=', latest as never)
    .execute()
  try {
    const res = await app.inject({ method: 'GET', url: '/ready' })
    t.equal(res.statusCode, 503)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(res.json().code, 'NOT_READY')
    t.equal(res.json().detail, `Not ready: migrations pending: ${latest}.`)
    t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the process is still up')
  } finally {
    await database.db
      .insertInto('kysely_migration' as never)
      .values(applied.filter((r) => r.name === latest) as never)
      .execute()
  }
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'ready again')
})

t.test('/ready answers 503 when the database is unreachable', async (t) => {
  // Nothing listens on port 1: every query fails to connect.
  const unreachable = await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', databaseSchema: null, dataDir: 'unused' })
  t.teardown(() => unreachable.close())
  // A registry that is never started: starting would need the database.
  const ruleSets = new RuleSetRegistry({
    db: unreachable.db,
    clock: ctx.clock,
    log: pino({ level: 'silent' }),
    rulesDir: ctx.config.rulesDir,
    priceBooksDir: ctx.config.priceBooksDir,
  })
  const broken = await buildApp({ config: ctx.config, database: unreachable, clock: ctx.clock, ruleSets })
  t.teardown(() => broken.close())
  const res = await broken.inject({ method: 'GET', url: '/ready' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'NOT_READY')
  t.match(res.json().detail, /^Not ready: database unreachable[;.]/)
  t.equal((await broken.inject({ method: 'GET', url: '/health' })).statusCode, 200)
})

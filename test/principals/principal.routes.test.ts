import t from 'tap'
import { createHash } from 'node:crypto'
import { ROLES } from '../../src/principals/roles.js'
import { buildTestApp } from '../helpers/app.js'

const ctx = await buildTestApp(t)
const { app, database } = ctx
const db = database.db

/**
 * Known regression (src/app.ts since a46a0be): `app.addSchema(EvaluationSchema)` runs after
 * principalRoutes is registered, so at ready() fastify rebuilds the principal routes' validator
 * from its default builder and the strict Ajv of src/http/validation.ts is lost: unknown
 * properties are stripped instead of refused, and `managerId: null` is coerced to "" (a
 * foreign-key violation: 500). The assertions that catch it run, marked todo; delete this
 * marker and its uses once fixed.
 */

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

async function principalCount(): Promise<number> {
  const row = await db
    .selectFrom('principals')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function create(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/principals', headers: { ...ctx.as('admin'), ...headers }, payload: body })
}

t.test('no key, a malformed header or an unknown key: 401 UNAUTHENTICATED', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['empty header', { authorization: '' }],
    ['basic scheme', { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }],
    ['bearer without a key', { authorization: 'Bearer ' }],
    ['bearer with two words', { authorization: `Bearer ${ctx.keys.admin} extra` }],
    ['the key without the scheme', { authorization: ctx.keys.admin }],
    ['unknown key', bearer(`qtc_${'A'.repeat(43)}`)],
    ['short key', bearer('qtc_short')],
    ['overlong key', bearer(`qtc_${'x'.repeat(300)}`)],
    ['a key with one character changed', bearer(ctx.keys.admin.slice(0, -1) + (ctx.keys.admin.endsWith('A') ? 'B' : 'A'))],
  ]
  for (const [name, headers] of cases) {
    const res = await app.inject({ method: 'GET', url: '/v1/principals/me', headers })
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['content-type'], /^application\/problem\+json/, name)
    const body = res.json()
    t.equal(body.code, 'UNAUTHENTICATED', name)
    t.equal(body.status, 401, name)
    t.equal(body.instance, res.headers['x-request-id'], name)
    t.notOk('id' in body || 'roles' in body, `${name}: no principal data`)
  }
  const unknownBody = (await app.inject({ method: 'GET', url: '/v1/principals/me', headers: bearer(`qtc_${'A'.repeat(43)}`) })).json()
  t.equal(unknownBody.detail, 'The API key is unknown or revoked.')

  // The scheme is case-insensitive, surrounding blanks are tolerated.
  const lower = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: { authorization: `bearer   ${ctx.keys.finance}  ` } })
  t.equal(lower.statusCode, 200)
  t.same(lower.json().roles, ['finance'])
})

t.test('GET /v1/principals/me answers for every role', async (t) => {
  for (const role of ROLES) {
    const res = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as(role) })
    t.equal(res.statusCode, 200, role)
    const me = res.json()
    t.equal(me.id, ctx.principalIds[role], `${role}: its own principal`)
    t.same(me.roles, [role], `${role}: its role`)
    t.equal(me.name, `Test ${role}`)
    t.equal(me.status, 'active')
    t.equal(me.managerId, null)
    t.equal(me.version, 1)
    t.equal(me.createdAt, ctx.clock.now().toISOString())
    t.equal(res.headers.etag, '"v1"')
    t.notOk('apiKey' in me, 'no key material')
  }
})

t.test('a sales_rep may not create principals: 403 FORBIDDEN', async (t) => {
  const before = await principalCount()
  for (const role of ROLES.filter((r) => r !== 'admin')) {
    const res = await create({ name: 'Sneaky', roles: ['admin'] }, ctx.as(role))
    t.equal(res.statusCode, 403, role)
    t.equal(res.json().code, 'FORBIDDEN', role)
    t.match(res.json().detail, /admin/)
  }
  const list = await app.inject({ method: 'GET', url: '/v1/principals', headers: ctx.as('sales_rep') })
  t.equal(list.statusCode, 403)
  const read = await app.inject({ method: 'GET', url: `/v1/principals/${ctx.principalIds.admin}`, headers: ctx.as('deal_desk') })
  t.equal(read.statusCode, 403)
  const revoke = await app.inject({ method: 'POST', url: `/v1/principals/${ctx.principalIds.admin}/revoke`, headers: ctx.as('sales_manager') })
  t.equal(revoke.statusCode, 403)
  const duplicated = await create({ name: 'Twice', roles: ['finance', 'finance'] })
  t.equal(duplicated.statusCode, 400, 'duplicate roles are refused')
  t.same(
    duplicated.json().errors.map((e: { pointer: string }) => e.pointer),
    ['/roles'],
  )
  t.equal(await principalCount(), before, 'nothing created')
  const admin = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('admin') })
  t.equal(admin.json().status, 'active', 'the admin was not revoked')
})

t.test('an admin creates a principal whose new key authenticates and is not stored in clear', async (t) => {
  const res = await create(
    { name: 'Integration bot', roles: ['finance', 'deal_desk'], managerId: ctx.principalIds.sales_manager },
    { 'idempotency-key': 'create-bot-1' },
  )
  t.equal(res.statusCode, 201)
  t.equal(res.headers['idempotent-replayed'], undefined, 'a first answer is not a replay')
  const { principal, apiKey } = res.json()
  t.type(apiKey, 'string')
  t.match(apiKey, /^qtc_[A-Za-z0-9_-]{43}$/, 'qtc_ then 256 bits in base64url')
  t.match(principal.id, /^prn_[0-9a-f]{32}$/)
  t.equal(principal.name, 'Integration bot')
  t.same(principal.roles, ['deal_desk', 'finance'], 'roles sorted')
  t.equal(principal.managerId, ctx.principalIds.sales_manager)
  t.equal(principal.status, 'active')
  t.equal(principal.version, 1)

  const me = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: bearer(apiKey) })
  t.equal(me.statusCode, 200)
  t.equal(me.json().id, principal.id)
  t.same(me.json().roles, ['deal_desk', 'finance'])

  const read = await app.inject({ method: 'GET', url: `/v1/principals/${principal.id}`, headers: ctx.as('admin') })
  t.equal(read.statusCode, 200)
  t.same(read.json(), principal, 'reading it back gives the same view')
  t.notOk('apiKey' in read.json())

  const keys = await db.selectFrom('api_keys').selectAll().where('principal_id', '=', principal.id).execute()
  t.equal(keys.length, 1, 'one key for the new principal')
  t.equal(keys[0]!.key_hash, createHash('sha256').update(apiKey).digest('hex'), 'key_hash is the sha256 hex of the key')
  t.equal(keys[0]!.key_prefix, apiKey.slice(0, 10))
  t.equal(keys[0]!.revoked_at, null)

  const allKeys = await db.selectFrom('api_keys').selectAll().execute()
  const stored = await db.selectFrom('idempotency_keys').selectAll().execute()
  t.equal(stored.length, 1, 'the idempotent response was stored')
  t.equal(stored[0]!.key, 'create-bot-1')
  for (const row of [...allKeys, ...stored]) {
    for (const [column, value] of Object.entries(row)) {
      const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '')
      t.notOk(text.includes(apiKey), `${column} does not contain the key`)
      t.notOk(text.includes(apiKey.slice(4)), `${column} does not contain the key's secret part`)
    }
  }
  const principals = await db.selectFrom('principals').selectAll().execute()
  t.notOk(JSON.stringify(principals).includes(apiKey.slice(4)), 'nor does any principal row')
})

t.test('revocation: the key stops working; nobody revokes themself', async (t) => {
  const created = (await create({ name: 'Temp contractor', roles: ['sales_rep'] })).json()
  const key: string = created.apiKey
  t.equal((await app.inject({ method: 'GET', url: '/v1/principals/me', headers: bearer(key) })).statusCode, 200, 'works before')

  const res = await app.inject({ method: 'POST', url: `/v1/principals/${created.principal.id}/revoke`, headers: ctx.as('admin') })
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'revoked')
  t.equal(res.json().version, 2)
  t.equal(res.json().id, created.principal.id)

  const after = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: bearer(key) })
  t.equal(after.statusCode, 401, 'the revoked key is refused')
  t.equal(after.json().code, 'UNAUTHENTICATED')
  const keyRow = await db.selectFrom('api_keys').select('revoked_at').where('principal_id', '=', created.principal.id).executeTakeFirstOrThrow()
  t.same(keyRow.revoked_at, ctx.clock.now(), 'the key row is revoked at the clock time')

  const again = await app.inject({ method: 'POST', url: `/v1/principals/${created.principal.id}/revoke`, headers: ctx.as('admin') })
  t.equal(again.statusCode, 200, 'revoking twice is harmless')
  t.equal(again.json().version, 2, 'and changes nothing')

  const self = await app.inject({ method: 'POST', url: `/v1/principals/${ctx.principalIds.admin}/revoke`, headers: ctx.as('admin') })
  t.equal(self.statusCode, 403)
  t.equal(self.json().code, 'FORBIDDEN')
  t.equal((await app.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('admin') })).statusCode, 200, 'the admin still works')

  const unknown = await app.inject({ method: 'POST', url: '/v1/principals/prn_doesnotexist/revoke', headers: ctx.as('admin') })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'NOT_FOUND')
})

t.test('GET /v1/principals pages with a cursor', async (t) => {
  const expected = (await db.selectFrom('principals').select('id').orderBy('id').execute()).map((r) => r.id)
  t.ok(expected.length >= 8, 'enough principals for several pages')

  const first = await app.inject({ method: 'GET', url: '/v1/principals?limit=2', headers: ctx.as('admin') })
  t.equal(first.statusCode, 200)
  const page1 = first.json()
  t.same(
    page1.data.map((p: { id: string }) => p.id),
    expected.slice(0, 2),
  )
  t.equal(page1.hasMore, true)
  t.equal(page1.nextCursor, expected[1])

  const second = (await app.inject({ method: 'GET', url: `/v1/principals?limit=2&starting_after=${page1.nextCursor}`, headers: ctx.as('admin') })).json()
  t.same(
    second.data.map((p: { id: string }) => p.id),
    expected.slice(2, 4),
  )
  t.equal(second.nextCursor, expected[3])

  // Walk to the end.
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const url: string = `/v1/principals?limit=2${cursor ? `&starting_after=${cursor}` : ''}`
    const page = (await app.inject({ method: 'GET', url, headers: ctx.as('admin') })).json()
    seen.push(...page.data.map((p: { id: string }) => p.id))
    t.equal(page.hasMore, page.nextCursor !== null, 'hasMore iff there is a cursor')
    cursor = page.nextCursor
    pages++
  } while (cursor && pages < 50)
  t.same(seen, expected, 'every principal exactly once, in id order')
  t.equal(pages, Math.ceil(expected.length / 2), 'no empty trailing page')

  const all = (await app.inject({ method: 'GET', url: '/v1/principals', headers: ctx.as('admin') })).json()
  t.equal(all.data.length, expected.length, 'default limit 20 covers them all')
  t.equal(all.hasMore, false)
  t.equal(all.nextCursor, null)
  const revoked = all.data.find((p: { name: string }) => p.name === 'Temp contractor')
  t.equal(revoked?.status, 'revoked', 'revoked principals are listed')

  const exact = (await app.inject({ method: 'GET', url: `/v1/principals?limit=${expected.length}`, headers: ctx.as('admin') })).json()
  t.equal(exact.hasMore, false, 'a page that ends exactly at the last row has no more')
  t.equal(exact.nextCursor, null)

  const past = (await app.inject({ method: 'GET', url: `/v1/principals?starting_after=${expected.at(-1)}`, headers: ctx.as('admin') })).json()
  t.same(past, { data: [], hasMore: false, nextCursor: null })

  for (const bad of ['limit=101', 'limit=0', 'limit=-1', 'limit=2.5', 'limit=abc', `starting_after=${'x'.repeat(65)}`]) {
    const res = await app.inject({ method: 'GET', url: `/v1/principals?${bad}`, headers: ctx.as('admin') })
    t.equal(res.statusCode, 400, bad)
    t.equal(res.json().code, 'VALIDATION_FAILED', bad)
    t.equal(res.json().errors?.[0]?.in, 'querystring', bad)
  }
  const unknownParam = await app.inject({ method: 'GET', url: '/v1/principals?unknown=1', headers: ctx.as('admin') })
  t.equal(unknownParam.statusCode, 400, 'an unknown query parameter is refused')
  t.same(unknownParam.json().errors, [{ pointer: '/unknown', in: 'querystring', detail: 'unknown property' }], 'and named')
  const over = (await app.inject({ method: 'GET', url: '/v1/principals?limit=101', headers: ctx.as('admin') })).json()
  t.equal(over.errors[0].pointer, '/limit')
  const max = await app.inject({ method: 'GET', url: '/v1/principals?limit=100', headers: ctx.as('admin') })
  t.equal(max.statusCode, 200, 'limit=100 is allowed')
})

t.test('PATCH /v1/principals/:id needs a current If-Match', async (t) => {
  const id = ctx.principalIds.pricing_analyst
  const url = `/v1/principals/${id}`
  const read = await app.inject({ method: 'GET', url, headers: ctx.as('admin') })
  t.equal(read.headers.etag, '"v1"')
  const original = read.json()

  const none = await app.inject({ method: 'PATCH', url, headers: ctx.as('admin'), payload: { name: 'Renamed' } })
  t.equal(none.statusCode, 428)
  t.equal(none.json().code, 'PRECONDITION_REQUIRED')

  const stale = await app.inject({ method: 'PATCH', url, headers: { ...ctx.as('admin'), 'if-match': '"v7"' }, payload: { name: 'Renamed' } })
  t.equal(stale.statusCode, 412)
  t.equal(stale.json().code, 'PRECONDITION_FAILED')
  t.match(stale.json().detail, /now version 1/)

  const garbage = await app.inject({ method: 'PATCH', url, headers: { ...ctx.as('admin'), 'if-match': 'v1' }, payload: { name: 'Renamed' } })
  t.equal(garbage.statusCode, 412, 'an If-Match that is no ETag of ours')
  t.equal(garbage.json().code, 'PRECONDITION_FAILED')

  t.same((await app.inject({ method: 'GET', url, headers: ctx.as('admin') })).json(), original, 'failed updates changed nothing')

  ctx.clock.advance(60_000)
  const ok = await app.inject({
    method: 'PATCH',
    url,
    headers: { ...ctx.as('admin'), 'if-match': read.headers.etag as string },
    payload: { name: 'Renamed analyst', roles: ['pricing_analyst', 'finance'], managerId: ctx.principalIds.sales_manager },
  })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers.etag, '"v2"')
  const updated = ok.json()
  t.equal(updated.name, 'Renamed analyst')
  t.same(updated.roles, ['finance', 'pricing_analyst'])
  t.equal(updated.managerId, ctx.principalIds.sales_manager)
  t.equal(updated.version, 2)
  t.equal(updated.createdAt, original.createdAt)
  t.equal(updated.updatedAt, ctx.clock.now().toISOString())

  const row = await db.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  t.equal(row.name, 'Renamed analyst')
  t.same(row.roles, ['finance', 'pricing_analyst'])
  t.equal(row.version, 2)

  const me = (await app.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('pricing_analyst') })).json()
  t.same(me.roles, ['finance', 'pricing_analyst'], 'the new roles apply to the key at once')

  const replayedOld = await app.inject({ method: 'PATCH', url, headers: { ...ctx.as('admin'), 'if-match': '"v1"' }, payload: { name: 'Lost update' } })
  t.equal(replayedOld.statusCode, 412, 'the ETag read before the update is now stale')
  t.match(replayedOld.json().detail, /now version 2/)

  const weak = await app.inject({ method: 'PATCH', url, headers: { ...ctx.as('admin'), 'if-match': 'W/"v2"' }, payload: { roles: ['pricing_analyst'] } })
  t.equal(weak.statusCode, 200, 'a weak ETag of the current version is accepted')
  t.equal(weak.headers.etag, '"v3"')
  t.same(weak.json().roles, ['pricing_analyst'])
  t.equal(weak.json().name, 'Renamed analyst', 'fields not sent are unchanged')
  t.equal(weak.json().managerId, ctx.principalIds.sales_manager, 'fields not sent are unchanged')

  const clear = await app.inject({ method: 'PATCH', url, headers: { ...ctx.as('admin'), 'if-match': '"v3"' }, payload: { managerId: null } })
  t.equal(clear.statusCode, 200, 'managerId: null removes the manager')
  t.equal(clear.json().managerId, null, 'no manager any more')

  const current = async () => (await app.inject({ method: 'GET', url, headers: ctx.as('admin') })).headers.etag as string
  const empty = await app.inject({ method: 'PATCH', url, headers: { ...ctx.as('admin'), 'if-match': await current() }, payload: {} })
  t.equal(empty.statusCode, 400, 'an empty patch is refused')
  t.equal(empty.json().code, 'VALIDATION_FAILED')

  const before = await current()
  const status = await app.inject({ method: 'PATCH', url, headers: { ...ctx.as('admin'), 'if-match': before }, payload: { status: 'revoked' } })
  t.equal(status.statusCode, 400, 'status cannot be mass-assigned')
  t.same(status.json().errors, [{ pointer: '/status', in: 'body', detail: 'unknown property' }], 'and is named')
  const after = (await app.inject({ method: 'GET', url, headers: ctx.as('admin') })).json()
  t.equal(after.status, 'active', 'the principal is not revoked')
  t.equal(`"v${after.version}"`, before, 'nor changed at all')
})

t.test('managerId: null means no manager', async (t) => {
  const res = await create({ name: 'Unmanaged', roles: ['deal_desk'], managerId: null })
  t.equal(res.statusCode, 201, 'created')
  t.equal(res.json().principal?.managerId, null, 'without a manager')
})

t.test('unknown ids: 404', async (t) => {
  const read = await app.inject({ method: 'GET', url: '/v1/principals/prn_nobody', headers: ctx.as('admin') })
  t.equal(read.statusCode, 404)
  t.equal(read.json().code, 'NOT_FOUND')
  t.equal(read.json().detail, 'No principal prn_nobody.')
  const patch = await app.inject({
    method: 'PATCH',
    url: '/v1/principals/prn_nobody',
    headers: { ...ctx.as('admin'), 'if-match': '"v1"' },
    payload: { name: 'x' },
  })
  t.equal(patch.statusCode, 404)
  t.equal(patch.json().code, 'NOT_FOUND')
})

t.test('a managerId that does not exist: 400 VALIDATION_FAILED at /managerId', async (t) => {
  const before = await principalCount()
  const created = await create({ name: 'Orphan', roles: ['sales_rep'], managerId: 'prn_ghost' })
  t.equal(created.statusCode, 400)
  t.equal(created.json().code, 'VALIDATION_FAILED')
  t.same(created.json().errors, [{ pointer: '/managerId', detail: 'no principal with this id' }])
  t.equal(await principalCount(), before, 'nothing created')

  const id = ctx.principalIds.sales_rep
  const patched = await app.inject({
    method: 'PATCH',
    url: `/v1/principals/${id}`,
    headers: { ...ctx.as('admin'), 'if-match': '"v1"' },
    payload: { managerId: 'prn_ghost' },
  })
  t.equal(patched.statusCode, 400)
  t.equal(patched.json().code, 'VALIDATION_FAILED')
  t.same(
    patched.json().errors.map((e: { pointer: string }) => e.pointer),
    ['/managerId'],
  )

  const selfManaged = await app.inject({
    method: 'PATCH',
    url: `/v1/principals/${id}`,
    headers: { ...ctx.as('admin'), 'if-match': '"v1"' },
    payload: { managerId: id },
  })
  t.equal(selfManaged.statusCode, 400, 'nobody manages themself')
  t.same(
    selfManaged.json().errors.map((e: { pointer: string }) => e.pointer),
    ['/managerId'],
  )

  const row = await db.selectFrom('principals').select(['manager_id', 'version']).where('id', '=', id).executeTakeFirstOrThrow()
  t.same(row, { manager_id: null, version: 1 }, 'the refused updates changed nothing')
})

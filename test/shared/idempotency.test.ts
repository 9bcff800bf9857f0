import t from 'tap'
import { AppError } from '../../src/errors.js'
import { IDEMPOTENCY_TTL_MS, purgeExpiredIdempotencyKeys, runIdempotent, type IdempotencyRequest } from '../../src/shared/idempotency.js'
import { buildTestApp, onPostgres } from '../helpers/app.js'

const ctx = await buildTestApp(t)
const { app, database } = ctx
const db = database.db

async function countNamed(name: string): Promise<number> {
  const row = await db
    .selectFrom('principals')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('name', '=', name)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function storedKeys(key: string) {
  return db.selectFrom('idempotency_keys').selectAll().where('key', '=', key).execute()
}

function post(body: Record<string, unknown>, key: string | undefined, auth: { authorization: string } = ctx.as('admin')) {
  return app.inject({
    method: 'POST',
    url: '/v1/principals',
    headers: { ...auth, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: body,
  })
}

t.test('a replay returns the first answer without the key, and creates nothing', async (t) => {
  const body = { name: 'Replay bot', roles: ['finance'] }
  const first = await post(body, 'replay-1')
  t.equal(first.statusCode, 201)
  t.equal(first.headers['idempotent-replayed'], undefined)
  const created = first.json()
  t.match(created.apiKey, /^qtc_/)

  // Same body, keys in another order: the same request.
  const replay = await post({ roles: ['finance'], name: 'Replay bot' }, 'replay-1')
  t.equal(replay.statusCode, 201, 'the stored status')
  t.equal(replay.headers['idempotent-replayed'], 'true', 'marked as a replay')
  const replayed = replay.json()
  t.equal(replayed.principal?.id, created.principal.id, 'the same principal')
  t.same(replayed.principal, created.principal, 'the same view')
  t.notOk('apiKey' in replayed, 'the key is shown only once')
  t.notOk(replay.body.includes(created.apiKey), 'not even somewhere else in the body')

  const third = await post(body, 'replay-1')
  t.equal(third.statusCode, 201, 'replayed again')
  t.equal(third.json().principal?.id, created.principal.id, 'the same principal again')

  t.equal(await countNamed('Replay bot'), 1, 'one principal only')
  const rows = await storedKeys('replay-1')
  t.equal(rows.length, 1)
  t.equal(rows[0]!.principal_id, ctx.principalIds.admin)
  t.equal(rows[0]!.method, 'POST')
  t.equal(rows[0]!.path, '/v1/principals')
  t.equal(rows[0]!.response_status, 201)
  t.same(rows[0]!.created_at, ctx.clock.now())

  // Without a key, the same body is a new request each time.
  const a = await post(body, undefined)
  const b = await post(body, undefined)
  t.equal(a.statusCode, 201)
  t.equal(b.statusCode, 201)
  t.not(a.json().principal.id, b.json().principal.id)
  t.equal(await countNamed('Replay bot'), 3)
})

t.test('the same key with a different request: 422 IDEMPOTENCY_KEY_REUSED', async (t) => {
  const first = await post({ name: 'Reuse bot', roles: ['finance'] }, 'reuse-1')
  t.equal(first.statusCode, 201)
  const other = await post({ name: 'Reuse bot', roles: ['deal_desk'] }, 'reuse-1')
  t.equal(other.statusCode, 422)
  t.match(other.headers['content-type'], /^application\/problem\+json/)
  const problem = other.json()
  t.equal(problem.code, 'IDEMPOTENCY_KEY_REUSED')
  t.same(problem.firstRequest, { method: 'POST', path: '/v1/principals' })
  t.equal(await countNamed('Reuse bot'), 1)

  const bad = await post({ name: 'Reuse bot', roles: ['finance'] }, 'x'.repeat(256))
  t.equal(bad.statusCode, 400, 'a key over 255 characters is refused')
  t.equal(bad.json().code, 'VALIDATION_FAILED')
  const blank = await post({ name: 'Reuse bot', roles: ['finance'] }, 'has space')
  t.equal(blank.statusCode, 400, 'a key with a blank is refused')
  t.same(blank.json().errors, [{ pointer: '/idempotency-key', in: 'headers', detail: 'invalid' }])
  t.equal(await countNamed('Reuse bot'), 1)
})

t.test('a failed first attempt stores nothing; the key stays free', async (t) => {
  const invalid = await post({ name: '', roles: ['finance'] }, 'fix-1')
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.json().code, 'VALIDATION_FAILED')
  t.same(await storedKeys('fix-1'), [], 'schema failure: nothing stored')

  const noManager = await post({ name: 'Fixed bot', roles: ['sales_rep'], managerId: 'prn_ghost' }, 'fix-1')
  t.equal(noManager.statusCode, 400, 'a failure inside the work')
  t.same(noManager.json().errors, [{ pointer: '/managerId', detail: 'no principal with this id' }])
  t.same(await storedKeys('fix-1'), [], 'rolled back: nothing stored')
  t.equal(await countNamed('Fixed bot'), 0)

  const fixed = await post({ name: 'Fixed bot', roles: ['sales_rep'], managerId: ctx.principalIds.sales_manager }, 'fix-1')
  t.equal(fixed.statusCode, 201, 'the corrected request runs')
  t.equal(fixed.headers['idempotent-replayed'], undefined)
  t.equal(fixed.json().principal.managerId, ctx.principalIds.sales_manager)
  t.equal((await storedKeys('fix-1')).length, 1)
  t.equal(await countNamed('Fixed bot'), 1)
})

t.test('keys belong to a principal: another admin may use the same string', async (t) => {
  const second = await post({ name: 'Second admin', roles: ['admin'] }, undefined)
  t.equal(second.statusCode, 201)
  const otherAdmin = { authorization: `Bearer ${second.json().apiKey}` }

  const body = { name: 'Shared-key bot', roles: ['finance'] }
  const mine = await post(body, 'shared-1')
  const theirs = await post(body, 'shared-1', otherAdmin)
  t.equal(mine.statusCode, 201)
  t.equal(theirs.statusCode, 201)
  t.equal(theirs.headers['idempotent-replayed'], undefined, 'not a replay of the other admin')
  t.not(theirs.json().principal.id, mine.json().principal.id)
  t.match(theirs.json().apiKey, /^qtc_/)
  t.equal(await countNamed('Shared-key bot'), 2)
  const rows = await storedKeys('shared-1')
  t.same(rows.map((r) => r.principal_id).sort(), [ctx.principalIds.admin, second.json().principal.id].sort())

  const theirReplay = await post(body, 'shared-1', otherAdmin)
  t.equal(theirReplay.headers['idempotent-replayed'], 'true', 'marked as a replay')
  t.equal(theirReplay.json().principal?.id, theirs.json().principal.id, 'each admin replays their own answer')
  t.equal(await countNamed('Shared-key bot'), 2, 'the replay created nothing')
})

t.test(
  'the same key at the same time: the second gets IDEMPOTENCY_IN_FLIGHT, the first commits',
  { skip: onPostgres ? false : 'needs a real PostgreSQL: PGlite is a single connection' },
  async (t) => {
    const request: IdempotencyRequest = { principalId: ctx.principalIds.admin, key: 'race-1', method: 'POST', path: '/v1/race', body: { n: 1 } }
    let entered!: () => void
    const inWork = new Promise<void>((resolve) => (entered = resolve))
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let runs = 0

    const first = runIdempotent(
      db,
      request,
      () => ctx.clock.now(),
      async (trx) => {
        runs++
        entered()
        await gate
        await trx.updateTable('principals').set({ name: 'Raced' }).where('id', '=', ctx.principalIds.finance).execute()
        return { status: 201, body: { winner: 'first' } }
      },
    )
    await inWork

    const second = runIdempotent(
      db,
      request,
      () => ctx.clock.now(),
      async () => {
        runs++
        return { status: 201, body: { winner: 'second' } }
      },
    )
    const error = await second.then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(error instanceof AppError, 'the second call is refused')
    t.equal((error as AppError).code, 'IDEMPOTENCY_IN_FLIGHT')
    t.equal((error as AppError).status, 409)
    t.same(await storedKeys('race-1'), [], 'nothing stored while the first is in flight')

    release()
    const result = await first
    t.same(result, { status: 201, body: { winner: 'first' }, replayed: false })
    t.equal(runs, 1, 'the work ran once')
    const row = await db.selectFrom('principals').select('name').where('id', '=', ctx.principalIds.finance).executeTakeFirstOrThrow()
    t.equal(row.name, 'Raced', 'the first committed')

    const again = await runIdempotent(
      db,
      request,
      () => ctx.clock.now(),
      async () => {
        runs++
        return { status: 201, body: { winner: 'third' } }
      },
    )
    t.same(again, { status: 201, body: { winner: 'first' }, replayed: true }, 'later retries replay the first')
    t.equal(runs, 1)
  },
)

t.test('concurrent PATCHes with the same If-Match: exactly one wins', async (t) => {
  const id = ctx.principalIds.pricing_analyst
  for (let round = 0; round < 3; round++) {
    const etag = (await app.inject({ method: 'GET', url: `/v1/principals/${id}`, headers: ctx.as('admin') })).headers.etag as string
    const names = [0, 1, 2, 3].map((i) => `Analyst ${round}.${i}`)
    const results = await Promise.all(
      names.map((name) => app.inject({ method: 'PATCH', url: `/v1/principals/${id}`, headers: { ...ctx.as('admin'), 'if-match': etag }, payload: { name } })),
    )
    const statuses = results.map((r) => r.statusCode).sort()
    t.same(statuses, [200, 412, 412, 412], `round ${round}: one 200, the others 412`)
    const winner = results.find((r) => r.statusCode === 200)!
    for (const loser of results.filter((r) => r.statusCode === 412)) t.equal(loser.json().code, 'PRECONDITION_FAILED')
    const row = await db.selectFrom('principals').select(['name', 'version']).where('id', '=', id).executeTakeFirstOrThrow()
    t.equal(row.name, winner.json().name, 'the stored name is the winner’s')
    t.equal(winner.headers.etag, `"v${row.version}"`)
    t.equal(row.version, Number(etag.slice(2, -1)) + 1, 'exactly one increment')
  }
})

t.test('a key expires after 24 hours', async (t) => {
  const body = { name: 'Expiring bot', roles: ['finance'] }
  const first = await post(body, 'expire-1')
  t.equal(first.statusCode, 201)

  ctx.clock.advance(IDEMPOTENCY_TTL_MS)
  const atTtl = await post(body, 'expire-1')
  t.equal(atTtl.headers['idempotent-replayed'], 'true', 'still replayed at exactly 24 h')
  t.equal(atTtl.json().principal?.id, first.json().principal.id, 'the first principal')
  t.equal(await countNamed('Expiring bot'), 1, 'nothing new at exactly 24 h')

  ctx.clock.advance(1)
  const after = await post(body, 'expire-1')
  t.equal(after.statusCode, 201)
  t.equal(after.headers['idempotent-replayed'], undefined, 'a new request after 24 h + 1 ms')
  t.not(after.json().principal.id, first.json().principal.id)
  t.match(after.json().apiKey, /^qtc_/)
  t.equal(await countNamed('Expiring bot'), 2, 'a second principal was created')
  const rows = await storedKeys('expire-1')
  t.equal(rows.length, 1, 'the expired row was replaced')
  t.same(rows[0]!.created_at, ctx.clock.now())

  const replay = await post(body, 'expire-1')
  t.equal(replay.json().principal?.id, after.json().principal.id, 'the new answer is now the one replayed')

  const different = await post({ name: 'Expiring bot', roles: ['deal_desk'] }, 'replay-1')
  t.equal(different.statusCode, 201, 'an expired key may even be reused for another request')
})

t.test('purgeExpiredIdempotencyKeys deletes only expired rows', async (t) => {
  await db.deleteFrom('idempotency_keys').execute()
  const now = ctx.clock.now()
  const ago = (ms: number) => new Date(now.getTime() - ms)
  const rows = [
    ['fresh', ago(0)],
    ['hour-old', ago(60 * 60 * 1000)],
    ['exactly-ttl', ago(IDEMPOTENCY_TTL_MS)],
    ['just-expired', ago(IDEMPOTENCY_TTL_MS + 1)],
    ['week-old', ago(7 * IDEMPOTENCY_TTL_MS)],
  ] as const
  await db
    .insertInto('idempotency_keys')
    .values(
      rows.map(([key, createdAt]) => ({
        principal_id: ctx.principalIds.admin,
        key,
        method: 'POST',
        path: '/v1/principals',
        request_hash: 'h',
        response_status: 201,
        response_bytes: Buffer.from('{"ok":true}'),
        response_type: 'application/json; charset=utf-8',
        created_at: createdAt,
      })),
    )
    .execute()

  t.equal(await purgeExpiredIdempotencyKeys(db, now), 2, 'two expired rows deleted')
  const left = (await db.selectFrom('idempotency_keys').select('key').orderBy('key').execute()).map((r) => r.key)
  t.same(left, ['exactly-ttl', 'fresh', 'hour-old'])
  t.equal(await purgeExpiredIdempotencyKeys(db, now), 0, 'a second run deletes nothing')

  t.equal(await purgeExpiredIdempotencyKeys(db, new Date(now.getTime() + 1)), 1, '1 ms later the 24 h row goes too')
  const remaining = (await db.selectFrom('idempotency_keys').select('key').orderBy('key').execute()).map((r) => r.key)
  t.same(remaining, ['fresh', 'hour-old'])
})

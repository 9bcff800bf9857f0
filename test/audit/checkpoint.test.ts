import t from 'tap'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql, type Kysely } from 'kysely'
import { chainHash, GENESIS_HASH } from '../../src/audit/audit.js'
import { appendAudit } from '../../src/audit/audit.service.js'
import { isAuthentic, judgeCheckpoint, signCheckpoint, type AuditCheckpoint } from '../../src/audit/checkpoint.js'
import { runCli } from '../../src/cli/main.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { dropSchema, openDatabase } from '../../src/db/database.js'
import { JOB_CATALOGUE } from '../../src/jobs/job-catalogue.js'
import type { Database } from '../../src/db/schema.js'
import { buildTestApp, onPostgres } from '../helpers/app.js'

/**
 * Signed checkpoints of the audit chain's head, and verifying the chain against one: a cut
 * tail, an edit re-chained to look consistent, and a forged checkpoint are each detected.
 */

const KEY = 'k'.repeat(16) + 'an audit key of 32+ chars'
const HEAD = { seq: 42n, hash: 'ab'.repeat(32) }
const AT = new Date('2026-12-01T09:00:00.000Z')

t.test('a checkpoint is HMAC-SHA256 of the canonical JSON of seq, hash and at', async (t) => {
  const checkpoint = signCheckpoint(KEY, HEAD, AT)
  const canonical = `{"at":"2026-12-01T09:00:00.000Z","hash":"${'ab'.repeat(32)}","seq":"42"}`
  t.same(checkpoint, { seq: '42', hash: 'ab'.repeat(32), at: '2026-12-01T09:00:00.000Z', mac: createHmac('sha256', KEY).update(canonical).digest('hex') })
  t.ok(isAuthentic(KEY, checkpoint))
  t.notOk(isAuthentic(KEY + 'x', checkpoint), 'another key')
  for (const altered of [{ seq: '41' }, { hash: 'cd'.repeat(32) }, { at: '2026-12-01T09:00:00.001Z' }, { mac: 'f'.repeat(64) }]) {
    t.notOk(isAuthentic(KEY, { ...checkpoint, ...altered }), `altered ${Object.keys(altered)[0]}`)
  }
})

t.test('judgeCheckpoint: matches, cut tail, re-chained, forged', async (t) => {
  const checkpoint = signCheckpoint(KEY, HEAD, AT)
  t.same(judgeCheckpoint(KEY, checkpoint, HEAD.hash, 50n), { seq: '42', ok: true })
  t.same(judgeCheckpoint(KEY, checkpoint, undefined, 40n), {
    seq: '42',
    ok: false,
    reason: "the chain ends at entry 40, before the checkpoint's entry 42: its tail was cut",
  })
  t.same(judgeCheckpoint(KEY, checkpoint, 'ee'.repeat(32), 42n), {
    seq: '42',
    ok: false,
    reason: "entry 42 does not have the checkpoint's hash: the chain was rewritten (edited and re-chained)",
  })
  t.same(judgeCheckpoint(KEY, { ...checkpoint, seq: '3' }, HEAD.hash, 50n), {
    seq: '3',
    ok: false,
    reason: 'the checkpoint does not verify with QTC_AUDIT_KEY: forged, altered, or signed with another key',
  })
  t.same(judgeCheckpoint(KEY, signCheckpoint(KEY, { seq: 0n, hash: GENESIS_HASH }, AT), undefined, 0n), { seq: '0', ok: true }, 'an empty chain')
})

t.test('QTC_AUDIT_KEY and QTC_SCHEDULE_AUDIT_CHECKPOINT', async (t) => {
  const base = loadConfig({})
  t.equal(base.auditKey, null, 'no key by default')
  t.equal(JOB_CATALOGUE.find((j) => j.name === 'audit.checkpoint')?.defaultSchedule, '0 * * * *', 'hourly by default')
  t.same(loadConfig({ QTC_SCHEDULE_AUDIT_CHECKPOINT: 'off' }).jobSchedules, { QTC_SCHEDULE_AUDIT_CHECKPOINT: 'off' }, 'off: only on demand')
  t.equal(loadConfig({ QTC_AUDIT_KEY: KEY }).auditKey, KEY)
  const short = 'short-secret-key-of-31-chars-xx'
  t.equal(short.length, 31)
  const error = (() => {
    try {
      loadConfig({ QTC_AUDIT_KEY: short })
    } catch (e) {
      return e as Error
    }
  })()
  t.ok(error instanceof ConfigError, 'a key under 32 characters is refused')
  t.match(error?.message, /^Invalid QTC_AUDIT_KEY=\(hidden\): /, 'naming the variable')
  t.notMatch(error?.message, short, 'never printing the key')
  t.equal(loadConfig({ QTC_AUDIT_KEY: 'x'.repeat(1024) }).auditKey?.length, 1024, 'up to 1024 characters')
  t.throws(() => loadConfig({ QTC_AUDIT_KEY: 'x'.repeat(1025) }), { message: /^Invalid QTC_AUDIT_KEY=\(hidden\)/ }, 'not more')
  t.throws(() => loadConfig({ QTC_SCHEDULE_AUDIT_CHECKPOINT: 'hourly' }), { message: /^Invalid QTC_SCHEDULE_AUDIT_CHECKPOINT="hourly"/ })
})

/** Appends n entries to the chain. */
async function append(db: Kysely<Database>, n: number, from = 1): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await db
      .transaction()
      .execute((trx) =>
        appendAudit(trx, new Date(AT.getTime() + i * 1000), { actorId: null, action: 'test.entry', entityType: 'test', entityId: `t_${i}`, after: { i } }),
      )
  }
}

/** What someone with DDL rights does: edit entry `seq` and re-hash it and every entry after it, so the chain alone verifies. */
async function rechainFrom(db: Kysely<Database>, seq: bigint, after: unknown): Promise<void> {
  await sql`alter table audit_log disable trigger audit_log_append_only`.execute(db)
  const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', seq).orderBy('seq').execute()
  let prev =
    (
      await db
        .selectFrom('audit_log')
        .select('hash')
        .where('seq', '=', seq - 1n)
        .executeTakeFirst()
    )?.hash ?? GENESIS_HASH
  for (const r of rows) {
    const content = r.seq === seq ? after : r.after
    const hash = chainHash(prev, {
      seq: r.seq,
      at: r.at,
      actorId: r.actor_id,
      actingFor: r.acting_for,
      action: r.action,
      entityType: r.entity_type,
      entityId: r.entity_id,
      before: r.before,
      after: content,
    })
    await db
      .updateTable('audit_log')
      .set({ after: JSON.stringify(content), prev_hash: prev, hash })
      .where('seq', '=', r.seq)
      .execute()
    prev = hash
  }
  await sql`alter table audit_log enable trigger audit_log_append_only`.execute(db)
}

async function cutTail(db: Kysely<Database>, fromSeq: bigint): Promise<void> {
  await sql`alter table audit_log disable trigger audit_log_append_only`.execute(db)
  await db.deleteFrom('audit_log').where('seq', '>=', fromSeq).execute()
  await sql`alter table audit_log enable trigger audit_log_append_only`.execute(db)
}

t.test('over HTTP: POST /v1/audit/checkpoints, and verify against it', async (t) => {
  const { app, as, database, clock } = await buildTestApp(t, { auditKey: KEY })
  const db = database.db
  // The test app's principals are audited already: work above that head.
  const base = (await db.selectFrom('audit_log').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow()).seq
  const n = (i: number) => base + BigInt(i)
  const at = (i: number) => String(n(i))
  await append(db, 3, Number(base) + 1)

  const created = await app.inject({ method: 'POST', url: '/v1/audit/checkpoints', headers: { ...as('finance'), 'idempotency-key': 'cp-1' } })
  t.equal(created.statusCode, 201, created.body)
  const checkpoint = created.json() as AuditCheckpoint
  const head = await db.selectFrom('audit_log').select(['seq', 'hash']).where('seq', '=', n(3)).executeTakeFirstOrThrow()
  t.same(checkpoint, signCheckpoint(KEY, head, clock.now()), 'the head, signed, at the time of the request')
  const events = await db.selectFrom('outbox_events').selectAll().where('type', '=', 'audit.checkpoint').execute()
  t.equal(events.length, 1, 'emitted to the outbox')
  t.same(events[0]!.payload, checkpoint)
  t.same([events[0]!.aggregate_type, events[0]!.aggregate_id], ['audit_log', 'audit_log'])
  const replay = await app.inject({ method: 'POST', url: '/v1/audit/checkpoints', headers: { ...as('finance'), 'idempotency-key': 'cp-1' } })
  t.same([replay.statusCode, replay.headers['idempotent-replayed'], replay.payload], [201, 'true', created.payload], 'a retry replays')
  t.equal((await db.selectFrom('outbox_events').select('id').where('type', '=', 'audit.checkpoint').execute()).length, 1, 'and emits nothing more')
  t.equal((await app.inject({ method: 'POST', url: '/v1/audit/checkpoints', headers: as('sales_rep') })).statusCode, 403)

  const verify = (body: unknown) => app.inject({ method: 'POST', url: '/v1/audit/verify', headers: as('admin'), payload: body as object })
  const entries = (i: number) => Number(n(i))
  t.same((await verify({ checkpoint })).json(), { ok: true, entries: entries(3), checkpoint: { seq: at(3), ok: true } })
  await append(db, 2, entries(4))
  t.same((await verify({ checkpoint })).json(), { ok: true, entries: entries(5), checkpoint: { seq: at(3), ok: true } }, 'a chain that grew still holds it')

  // (b) an edit to an entry before the checkpoint's, re-chained: the chain alone verifies, the checkpoint does not.
  await rechainFrom(db, n(2), { i: 2, approvedBy: 'nobody' })
  t.same(
    (await app.inject({ method: 'GET', url: '/v1/audit/verify', headers: as('admin') })).json(),
    { ok: true, entries: entries(5) },
    'the chain alone cannot tell',
  )
  t.same((await verify({ checkpoint })).json(), {
    ok: false,
    entries: entries(5),
    checkpoint: { seq: at(3), ok: false, reason: `entry ${at(3)} does not have the checkpoint's hash: the chain was rewritten (edited and re-chained)` },
  })

  // (a) a cut tail: the checkpoint's entry and those after it deleted; what is left is a valid chain.
  await cutTail(db, n(3))
  t.same((await app.inject({ method: 'GET', url: '/v1/audit/verify', headers: as('admin') })).json(), { ok: true, entries: entries(2) })
  t.same((await verify({ checkpoint })).json(), {
    ok: false,
    entries: entries(2),
    checkpoint: { seq: at(3), ok: false, reason: `the chain ends at entry ${at(2)}, before the checkpoint's entry ${at(3)}: its tail was cut` },
  })

  // (c) a forged checkpoint naming the shortened head.
  const newHead = await db.selectFrom('audit_log').select(['seq', 'hash']).where('seq', '=', n(2)).executeTakeFirstOrThrow()
  const forged = signCheckpoint('another key, long enough to be valid', newHead, clock.now())
  t.same((await verify({ checkpoint: forged })).json(), {
    ok: false,
    entries: entries(2),
    checkpoint: { seq: at(2), ok: false, reason: 'the checkpoint does not verify with QTC_AUDIT_KEY: forged, altered, or signed with another key' },
  })
  t.same((await verify({ checkpoint: signCheckpoint(KEY, newHead, clock.now()) })).json().ok, true, 'the genuine one for that head verifies')

  const bad = await verify({ checkpoint: { ...checkpoint, seq: '-1' } })
  t.same([bad.statusCode, bad.json().code, bad.json().errors[0].pointer], [400, 'VALIDATION_FAILED', '/checkpoint/seq'])
  t.equal((await verify({ checkpoint: { ...checkpoint, extra: 1 } })).statusCode, 400, 'unknown fields are refused')
  t.equal((await verify({})).statusCode, 400)
})

t.test('without QTC_AUDIT_KEY, checkpoints are refused with a clear message', async (t) => {
  const { app, as } = await buildTestApp(t)
  const res = await app.inject({ method: 'POST', url: '/v1/audit/checkpoints', headers: as('admin') })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'AUDIT_KEY_MISSING')
  t.match(res.json().detail, /QTC_AUDIT_KEY/)
  const verify = await app.inject({ method: 'POST', url: '/v1/audit/verify', headers: as('admin'), payload: { checkpoint: signCheckpoint(KEY, HEAD, AT) } })
  t.same([verify.statusCode, verify.json().code], [503, 'AUDIT_KEY_MISSING'])
  t.equal((await app.inject({ method: 'GET', url: '/v1/audit/verify', headers: as('admin') })).statusCode, 200, 'the chain alone still verifies')
})

/** Runs the CLI in this process with these environment variables, capturing what it writes. */
async function cli(env: Record<string, string | undefined>, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) v === undefined ? delete process.env[k] : (process.env[k] = v)
  }
  const out: string[] = []
  const err: string[] = []
  const { write: stdoutWrite } = process.stdout
  const { write: stderrWrite } = process.stderr
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write
  apply(env)
  try {
    const code = await runCli(argv)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    apply(saved)
    process.stdout.write = stdoutWrite
    process.stderr.write = stderrWrite
  }
}

t.test('qtc audit checkpoint and qtc audit verify --checkpoint, end to end', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qtc-checkpoint-cli-'))
  const schema = onPostgres ? `test_cp_${randomBytes(6).toString('hex')}` : null
  t.teardown(async () => {
    rmSync(dataDir, { recursive: true, force: true })
    if (schema) await dropSchema(process.env.DATABASE_URL!, schema)
  })
  const env = {
    DATABASE_URL: onPostgres ? process.env.DATABASE_URL : undefined,
    DATABASE_SCHEMA: schema ?? undefined,
    QTC_DATA_DIR: dataDir,
    QTC_SEED_DEMO: 'false',
    QTC_AUDIT_KEY: KEY,
  }
  const open = () => openDatabase({ databaseUrl: onPostgres ? process.env.DATABASE_URL! : null, databaseSchema: schema, dataDir })

  const noKey = await cli({ ...env, QTC_AUDIT_KEY: undefined }, ['audit', 'checkpoint'])
  t.same([noKey.code, noKey.stdout], [2, ''])
  t.match(noKey.stderr, /^qtc: Audit checkpoints need QTC_AUDIT_KEY/)

  const empty = await cli(env, ['audit', 'checkpoint'])
  t.equal(empty.code, 0, empty.stderr)
  t.match(JSON.parse(empty.stdout), { seq: '0', hash: GENESIS_HASH }, 'an empty chain has a checkpoint too')

  const database = await open()
  try {
    await append(database.db, 3)
  } finally {
    await database.close()
  }
  const made = await cli(env, ['audit', 'checkpoint'])
  t.equal(made.code, 0, made.stderr)
  const checkpoint = JSON.parse(made.stdout) as AuditCheckpoint
  t.equal(checkpoint.seq, '3')
  const file = join(dataDir, 'checkpoint.json')
  writeFileSync(file, made.stdout)

  const inline = await cli(env, ['audit', 'verify', '--checkpoint', made.stdout.trim()])
  t.same([inline.code, inline.stdout], [0, 'audit log verified: 3 entries\ncheckpoint at entry 3: matches\n'])
  const fromFile = await cli(env, ['audit', 'verify', '--checkpoint', file, '--json'])
  t.same([fromFile.code, JSON.parse(fromFile.stdout)], [0, { ok: true, entries: 3, checkpoint: { seq: '3', ok: true } }])

  const tampered = await open()
  try {
    await cutTail(tampered.db, 3n)
  } finally {
    await tampered.close()
  }
  const cut = await cli(env, ['audit', 'verify', '--checkpoint', file])
  t.same(
    [cut.code, cut.stdout],
    [1, "audit log verified: 2 entries\ncheckpoint at entry 3 FAILS: the chain ends at entry 2, before the checkpoint's entry 3: its tail was cut\n"],
    'exit 1: the tail was cut',
  )
  const forged = await cli(env, ['audit', 'verify', '--checkpoint', JSON.stringify({ ...checkpoint, seq: '2' })])
  t.equal(forged.code, 1)
  t.match(forged.stdout, /checkpoint at entry 2 FAILS: the checkpoint does not verify with QTC_AUDIT_KEY/)
  const keyless = await cli({ ...env, QTC_AUDIT_KEY: undefined }, ['audit', 'verify', '--checkpoint', file])
  t.equal(keyless.code, 2)
  t.match(keyless.stderr, /QTC_AUDIT_KEY/)

  for (const [arg, message] of [
    ['{"seq": 3', /not JSON/],
    [join(dataDir, 'missing.json'), /cannot read/],
    ['{"seq":"3"}', /not a checkpoint/],
  ] as const) {
    const bad = await cli(env, ['audit', 'verify', '--checkpoint', arg])
    t.equal(bad.code, 2, `usage error: ${arg}`)
    t.match(bad.stderr, message)
  }
  t.equal((await cli(env, ['audit', 'verify'])).code, 0, 'without a checkpoint, the shortened chain verifies')
})

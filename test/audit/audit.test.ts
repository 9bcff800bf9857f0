import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { onPostgres } from '../helpers/app.js'
import { chainHash, ChainVerifier, GENESIS_HASH, type AuditEntry } from '../../src/audit/audit.js'
import { appendAudit } from '../../src/audit/audit.service.js'
import { runCli } from '../../src/cli/main.js'
import { dropSchema, openDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrate.js'

/**
 * The hash chain of the audit log: `chainHash` and `ChainVerifier` as units, then
 * `qtc audit verify` end to end on a database of its own (an embedded one in a temporary
 * directory, or a fresh schema when DATABASE_URL names a PostgreSQL server).
 */

const AT = new Date('2026-12-01T09:00:00.000Z')
const entry = (seq: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  seq: BigInt(seq),
  at: new Date(AT.getTime() + seq * 1000),
  actorId: 'prn_a',
  actingFor: null,
  action: 'quote.created',
  entityType: 'quote',
  entityId: `qt_${seq}`,
  before: null,
  after: { status: 'draft', revision: seq },
  ...over,
})

type Row = AuditEntry & { prevHash: string; hash: string }
function chain(n: number): Row[] {
  const rows: Row[] = []
  let prev = GENESIS_HASH
  for (let i = 1; i <= n; i++) {
    const e = entry(i)
    const hash = chainHash(prev, e)
    rows.push({ ...e, prevHash: prev, hash })
    prev = hash
  }
  return rows
}
function verify(rows: Row[]) {
  const verifier = new ChainVerifier()
  const pushed = rows.map((r) => verifier.push(r))
  return { pushed, result: verifier.result() }
}

t.test('chainHash: sha256 of the previous hash and the canonical JSON of the entry', async (t) => {
  const e = entry(1, { entityId: 'qt_1', at: AT, after: { status: 'draft', revision: 1 } })
  // RFC 8785 by hand: keys sorted by code unit, no whitespace, seq as a string.
  const canonical =
    '{"actingFor":null,"action":"quote.created","actorId":"prn_a","after":{"revision":1,"status":"draft"},"at":"2026-12-01T09:00:00.000Z","before":null,"entityId":"qt_1","entityType":"quote","seq":"1"}'
  const expected = createHash('sha256')
    .update(GENESIS_HASH + canonical)
    .digest('hex')
  t.equal(chainHash(GENESIS_HASH, e), expected)
  t.equal(GENESIS_HASH, '0'.repeat(64))
  t.match(chainHash(GENESIS_HASH, e), /^[0-9a-f]{64}$/)
})

t.test('chainHash is deterministic and independent of key order', async (t) => {
  const a = entry(7, { before: { status: 'draft', revision: 1, fingerprint: { b: 2, a: [1, { y: 1, x: 2 }] } }, after: { z: null, a: 'x' } })
  const b: AuditEntry = {
    after: { a: 'x', z: null },
    before: { fingerprint: { a: [1, { x: 2, y: 1 }], b: 2 }, revision: 1, status: 'draft' },
    entityId: a.entityId,
    entityType: a.entityType,
    action: a.action,
    actingFor: a.actingFor,
    actorId: a.actorId,
    at: new Date(a.at),
    seq: 7n,
  }
  const prev = 'ab'.repeat(32)
  t.equal(chainHash(prev, a), chainHash(prev, a), 'same input, same hash')
  t.equal(chainHash(prev, a), chainHash(prev, b), 'key order at any depth does not matter')
  t.equal(chainHash(prev, entry(1, { before: undefined, after: undefined })), chainHash(prev, entry(1, { before: null, after: null })), 'absent is null')

  const base = chainHash(prev, a)
  const variants: Array<[string, string]> = [
    ['previous hash', chainHash('cd'.repeat(32), a)],
    ['seq', chainHash(prev, { ...a, seq: 8n })],
    ['time', chainHash(prev, { ...a, at: new Date(a.at.getTime() + 1) })],
    ['actor', chainHash(prev, { ...a, actorId: 'prn_b' })],
    ['acting for', chainHash(prev, { ...a, actingFor: 'prn_a' })],
    ['action', chainHash(prev, { ...a, action: 'quote.revised' })],
    ['entity', chainHash(prev, { ...a, entityId: 'qt_8' })],
    ['array order', chainHash(prev, { ...a, before: { ...(a.before as object), fingerprint: { b: 2, a: [{ y: 1, x: 2 }, 1] } } })],
  ]
  for (const [what, hash] of variants) t.not(hash, base, `${what} changes the hash`)
  t.not(chainHash(prev, { ...a, after: { n: 1 } }), chainHash(prev, { ...a, after: { n: '1' } }), 'a number is not its string')
})

t.test('ChainVerifier accepts an intact chain', async (t) => {
  const { pushed, result } = verify(chain(5))
  t.same(pushed, [true, true, true, true, true])
  t.same(result, { ok: true, entries: 5 })
  t.same(new ChainVerifier().result(), { ok: true, entries: 0 }, 'an empty chain verifies')
})

t.test('ChainVerifier detects a deleted entry (a gap in seq), the first one included', async (t) => {
  const rows = chain(5)
  const { pushed, result } = verify([rows[0]!, rows[1]!, rows[3]!, rows[4]!])
  t.same(pushed, [true, true, false, false], 'everything after the break is refused')
  t.same(result, { ok: false, entries: 3, brokenAt: { seq: '4', reason: 'expected entry 3 (an entry is missing)' } })
  t.same(verify(rows.slice(1)).result, { ok: false, entries: 1, brokenAt: { seq: '2', reason: 'expected entry 1 (an entry is missing)' } })
  t.same(verify([rows[0]!, rows[2]!, rows[1]!]).result.brokenAt, { seq: '3', reason: 'expected entry 2 (an entry is missing)' }, 'out of order')
  t.same(verify([rows[0]!, rows[0]!]).result.brokenAt, { seq: '1', reason: 'expected entry 2 (an entry is missing)' }, 'a duplicated entry')
})

t.test('ChainVerifier detects a broken prev_hash link', async (t) => {
  const rows = chain(4)
  // Entry 3 re-hashed consistently over a forged previous hash: its content matches, its link does not.
  const forgedPrev = 'f'.repeat(64)
  const forged = { ...rows[2]!, prevHash: forgedPrev, hash: chainHash(forgedPrev, rows[2]!) }
  const { pushed, result } = verify([rows[0]!, rows[1]!, forged, rows[3]!])
  t.same(pushed, [true, true, false, false])
  t.same(result, { ok: false, entries: 3, brokenAt: { seq: '3', reason: 'prev_hash does not link to the previous entry' } })
  t.same(
    verify([{ ...rows[0]!, prevHash: forgedPrev }]).result.brokenAt,
    { seq: '1', reason: 'prev_hash does not link to the previous entry' },
    'the first entry links to the genesis hash',
  )
})

t.test('ChainVerifier detects altered content', async (t) => {
  const rows = chain(4)
  const altered: Row[] = [rows[0]!, { ...rows[1]!, after: { status: 'approved', revision: 2 } }, rows[2]!, rows[3]!]
  t.same(verify(altered).result, { ok: false, entries: 2, brokenAt: { seq: '2', reason: 'content does not match its hash (altered)' } })
  t.same(
    verify([rows[0]!, { ...rows[1]!, actingFor: 'prn_x' }]).result.brokenAt?.reason,
    'content does not match its hash (altered)',
    'who acted for whom is covered',
  )
  t.same(verify([rows[0]!, { ...rows[1]!, at: new Date(0) }]).result.brokenAt?.seq, '2', 'so is the time')
  t.same(
    verify([{ ...rows[0]!, hash: 'e'.repeat(64) }, rows[1]!]).result.brokenAt,
    { seq: '1', reason: 'content does not match its hash (altered)' },
    'a replaced hash',
  )
})

/** Sets environment variables (undefined deletes) for the duration of `work`, then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  apply(vars)
  try {
    return await work()
  } finally {
    apply(saved)
  }
}

/** Runs the CLI, capturing what it writes. */
async function cli(env: Record<string, string | undefined>, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  const stdoutWrite = process.stdout.write
  const stderrWrite = process.stderr.write
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write
  try {
    const code = await withEnv(env, () => runCli(argv))
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    process.stdout.write = stdoutWrite
    process.stderr.write = stderrWrite
  }
}

t.test('qtc audit verify, end to end', async (t) => {
  // A database of its own: an embedded one in a temporary directory, or a fresh schema on the server.
  const keys = ['DATABASE_URL', 'DATABASE_SCHEMA', 'QTC_DATA_DIR', 'QTC_SEED_DEMO']
  const envBefore = keys.map((k) => process.env[k])
  const dataDir = mkdtempSync(join(tmpdir(), 'qtc-audit-cli-'))
  const schema = onPostgres ? `test_cli_${randomBytes(6).toString('hex')}` : null
  t.teardown(async () => {
    rmSync(dataDir, { recursive: true, force: true })
    if (schema) await dropSchema(process.env.DATABASE_URL!, schema)
  })
  const env = onPostgres
    ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema!, QTC_DATA_DIR: dataDir, QTC_SEED_DEMO: 'false' }
    : { DATABASE_URL: undefined, DATABASE_SCHEMA: undefined, QTC_DATA_DIR: dataDir, QTC_SEED_DEMO: undefined }
  const open = () => openDatabase({ databaseUrl: onPostgres ? process.env.DATABASE_URL! : null, databaseSchema: schema, dataDir })

  const fresh = await cli(env, ['audit', 'verify', '--json'])
  t.equal(fresh.code, 0, fresh.stderr)
  t.same(JSON.parse(fresh.stdout), { ok: true, entries: 0 }, 'a fresh database: an empty chain that verifies')
  const human = await cli(env, ['audit', 'verify'])
  t.same([human.code, human.stdout], [0, 'audit log verified: 0 entries\n'])

  const database = await open()
  try {
    await migrateToLatest(database)
    for (let i = 1; i <= 3; i++) {
      await database.db
        .transaction()
        .execute((trx) =>
          appendAudit(trx, new Date(AT.getTime() + i), { actorId: null, action: 'test.entry', entityType: 'test', entityId: `t_${i}`, after: { i } }),
        )
    }
  } finally {
    await database.close()
  }
  const three = await cli(env, ['audit', 'verify', '--json'])
  t.same([three.code, JSON.parse(three.stdout)], [0, { ok: true, entries: 3 }])

  // Someone with DDL rights deletes entry 2.
  const tampered = await open()
  try {
    await t.rejects(tampered.db.deleteFrom('audit_log').where('seq', '=', 2n).execute(), /append-only/, 'the table refuses deletes')
    await sql`alter table audit_log disable trigger audit_log_append_only`.execute(tampered.db)
    await tampered.db.deleteFrom('audit_log').where('seq', '=', 2n).execute()
    await sql`alter table audit_log enable trigger audit_log_append_only`.execute(tampered.db)
  } finally {
    await tampered.close()
  }
  const broken = await cli(env, ['audit', 'verify', '--json'])
  t.equal(broken.code, 1, 'exit 1 on a broken chain')
  t.same(JSON.parse(broken.stdout), { ok: false, entries: 2, brokenAt: { seq: '3', reason: 'expected entry 2 (an entry is missing)' } })
  const brokenHuman = await cli(env, ['audit', 'verify'])
  t.same([brokenHuman.code, brokenHuman.stdout], [1, 'audit log BROKEN at entry 3: expected entry 2 (an entry is missing)\n'])

  const badConfig = await cli({ ...env, DATABASE_URL: 'mysql://localhost/qtc' }, ['audit', 'verify', '--json'])
  t.equal(badConfig.code, 2, 'a configuration error is a usage error')
  t.match(badConfig.stderr, /DATABASE_URL/)
  t.equal(badConfig.stdout, '')
  const usage = await cli(env, ['audit', 'verify', '--yaml'])
  t.equal(usage.code, 2, 'an unknown option')
  t.match(usage.stderr, /unknown option/)
  t.same(
    keys.map((k) => process.env[k]),
    envBefore,
    'the environment is restored',
  )
})

import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirLockedError, LOCK_FILE, lockDataDir, type LockOwner } from '../../src/db/data-dir-lock.js'
import { openDatabase } from '../../src/db/database.js'

/**
 * The embedded database's single-process guard, within one process. The two-process case
 * (a running service, then a second start and the CLI) is in test/server.test.ts.
 */

function folder(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtc-lock-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(child.stdout)
}

const owner = (over: Partial<LockOwner>): LockOwner => ({
  pid: process.pid,
  host: hostname(),
  purpose: 'server',
  started: '2026-12-01T09:00:00.000Z',
  token: 'feedfacefeedface',
  ...over,
})

t.test('one holder at a time; the refusal names the folder, the pid and what holds it', async (t) => {
  const dir = folder(t)
  const lock = lockDataDir(dir, 'server')
  const file = join(dir, LOCK_FILE)
  const stored = JSON.parse(readFileSync(file, 'utf8'))
  t.same(Object.keys(stored).sort(), ['host', 'pid', 'purpose', 'started', 'token'])
  t.equal(stored.pid, process.pid)
  t.equal(stored.host, hostname())
  t.equal(stored.purpose, 'server')

  const error = (() => {
    try {
      lockDataDir(dir, 'qtc keys create')
    } catch (e) {
      return e
    }
  })()
  t.ok(error instanceof DataDirLockedError, 'the second is refused')
  const refused = error as DataDirLockedError
  t.equal(refused.holder.pid, process.pid)
  t.match(refused.message, `the embedded database in ${dir} is in use by process ${process.pid} (server, since ${stored.started})`)
  t.notMatch(refused.message, 'on host', 'the same host is not named')
  t.same(readFileSync(file, 'utf8'), JSON.stringify(stored) + '\n', 'the refused attempt changed nothing')

  lock.release()
  t.notOk(existsSync(file), 'released: the file is gone')
  lock.release()
  const again = lockDataDir(dir, 'qtc migrate')
  t.equal(JSON.parse(readFileSync(file, 'utf8')).purpose, 'qtc migrate', 'free again')
  again.release()
})

t.test('a lock left by a dead process is taken over; an unreadable one too', async (t) => {
  const dir = folder(t)
  const file = join(dir, LOCK_FILE)
  const pid = deadPid()
  t.ok(pid > 0)
  writeFileSync(file, JSON.stringify(owner({ pid })))
  const lock = lockDataDir(dir, 'server')
  t.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid, 'the stale lock is ours now')
  lock.release()

  writeFileSync(file, '{"pid": 12')
  const second = lockDataDir(dir, 'server')
  t.equal(JSON.parse(readFileSync(file, 'utf8')).token, second.owner.token, 'a half-written file is no owner')
  second.release()
  t.same(existsSync(`${file}.takeover`), false, 'no takeover mutex is left behind')
})

t.test('a live owner on another host cannot be checked from here, so it is refused', async (t) => {
  const dir = folder(t)
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(owner({ host: 'other-host', pid: deadPid() })))
  t.throws(() => lockDataDir(dir, 'server'), { name: 'DataDirLockedError', message: /in use by process \d+ on host other-host/ })
})

t.test('a release never removes a successor’s lock', async (t) => {
  const dir = folder(t)
  const file = join(dir, LOCK_FILE)
  const lock = lockDataDir(dir, 'server')
  // Someone deleted our file by hand and another process took the folder.
  const successor = JSON.stringify(owner({ token: 'successor' }))
  writeFileSync(file, successor)
  lock.release()
  t.equal(readFileSync(file, 'utf8'), successor, 'left in place')
})

t.test('openDatabase holds the embedded folder until close; memory:// takes no lock', async (t) => {
  const dir = folder(t)
  const config = { databaseUrl: null, databaseSchema: null, dataDir: dir }
  const first = await openDatabase(config, { purpose: 'server' })
  t.teardown(() => first.close())
  t.ok(existsSync(join(dir, LOCK_FILE)))
  await t.rejects(openDatabase(config, { purpose: 'qtc audit verify' }), {
    name: 'DataDirLockedError',
    message: new RegExp(`${dir} is in use by process ${process.pid} \\(server`),
  })
  await first.close()
  t.notOk(existsSync(join(dir, LOCK_FILE)), 'closing releases it')
  const second = await openDatabase(config)
  await second.close()

  const memory = await openDatabase({ databaseUrl: 'memory://', databaseSchema: null, dataDir: dir })
  const other = await openDatabase({ databaseUrl: 'memory://', databaseSchema: null, dataDir: dir })
  t.notOk(existsSync(join(dir, LOCK_FILE)), 'in-memory databases share nothing')
  await memory.close()
  await other.close()
})

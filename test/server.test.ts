import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ROLES } from '../src/principals/roles.js'

/**
 * End to end, the README's way: `npm start` on an embedded database in a fresh data folder,
 * spoken to over real HTTP. Each start costs a few seconds, so starts are few.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const READY_TIMEOUT_MS = 60_000

interface Service {
  child: ChildProcess
  port: number
  base: string
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Process groups started here (npm, sh, tsx and node share one): all killed at the end, whatever happened. */
const groups = new Set<number>()
t.teardown(() => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

/** True while any process of the group is alive (the group outlives its leader, npm). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return condition()
}

/**
 * Known bug: npm runs the start script through `sh -c`, and dash does not exec a lone command.
 * npm forwards SIGTERM to that shell, which dies without passing it on; npm then exits by the
 * signal, and the service runs on, orphaned, holding the port and the data folder. The fix is
 * to exec the service from the script: "start": "exec node --import tsx src/main.ts" (or
 * "exec tsx src/main.ts": tsx relays the signal). Until then the assertions about npm's own
 * exit are todo, and stop() finishes the job by signalling the whole process group, as a
 * terminal's Ctrl-C would.
 */

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtc-server-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The parent's environment without anything that would point the service elsewhere. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of ['DATABASE_URL', 'DATABASE_SCHEMA', 'QTC_BOOTSTRAP_ADMIN_KEY', 'QTC_SEED_DEMO', 'HOST', 'RATE_LIMIT_PER_MINUTE', 'BODY_LIMIT_BYTES']) {
    delete env[name]
  }
  return env
}

async function npmStart(env: NodeJS.ProcessEnv, port: number): Promise<Service> {
  // detached: its own process group, so teardown can kill npm and everything below it.
  const child = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  groups.add(child.pid!)
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, port, base: `http://127.0.0.1:${port}`, output: () => output, exited }
}

/** Polls /ready until 200; fails if the process exits first or the timeout passes. */
async function waitReady(t: Test, service: Service): Promise<void> {
  const started = Date.now()
  const deadline = started + READY_TIMEOUT_MS
  let gone = false
  void service.exited.then(() => (gone = true))
  while (Date.now() < deadline) {
    if (gone) throw new Error(`npm start exited before it was ready:\n${service.output()}`)
    try {
      const res = await fetch(`${service.base}/ready`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) return void t.comment(`ready after ${Date.now() - started} ms`)
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS} ms:\n${service.output()}`)
}

/**
 * Sends SIGTERM to npm, as a process manager would, and checks that it exits with code 0 and
 * leaves no process behind; then makes sure the whole service is down and the port is free.
 */
async function stop(t: Test, service: Service): Promise<void> {
  const pgid = service.child.pid!
  const started = Date.now()
  service.child.kill('SIGTERM')
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000).unref())
  const exit = await Promise.race([service.exited, timeout])
  t.not(exit, 'timeout', 'npm exits after SIGTERM')
  t.same(exit, { code: 0, signal: null }, 'npm exits with code 0 after SIGTERM')
  const clean = await until(() => !groupAlive(pgid), 3_000)
  t.ok(clean, 'no process is left behind')
  if (groupAlive(pgid)) {
    process.kill(-pgid, 'SIGTERM')
    if (!(await until(() => !groupAlive(pgid), 20_000))) process.kill(-pgid, 'SIGKILL')
  }
  t.notOk(groupAlive(pgid), 'the service is down')
  await t.rejects(fetch(`${service.base}/health`, { signal: AbortSignal.timeout(2000) }), 'nothing listens any more')
  t.comment(`stopped after ${Date.now() - started} ms`)
}

async function me(base: string, key: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/v1/principals/me`, { headers: { authorization: `Bearer ${key}` } })
  return { status: res.status, body: (await res.json()) as any }
}

t.test('npm start serves on PORT, stops on SIGTERM, and keeps its data across restarts', async (t) => {
  const dataDir = tempDir(t)
  const port = await freePort()
  const env = { ...baseEnv(), PORT: String(port), QTC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }

  const first = await npmStart(env, port)
  await waitReady(t, first)
  const ready = (await (await fetch(`${first.base}/ready`)).json()) as { status: string; checks: Record<string, string> }
  t.equal(ready.status, 'ready')
  t.equal(ready.checks.database, 'ok')
  t.equal(ready.checks.migrations, 'ok')
  t.ok(
    Object.values(ready.checks).every((v) => v === 'ok'),
    'every check is ok',
  )

  const file = join(dataDir, 'demo-keys.json')
  t.ok(existsSync(file), 'demo-keys.json was written')
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only')
  const text = readFileSync(file, 'utf8')
  const keys = JSON.parse(text) as Record<string, { principalId: string; name: string; apiKey: string }>
  t.same(Object.keys(keys).sort(), [...ROLES].sort(), 'one key per role')

  const admin = await me(first.base, keys.admin!.apiKey)
  t.equal(admin.status, 200)
  t.same(admin.body.roles, ['admin'])
  t.equal(admin.body.id, keys.admin!.principalId)
  const rep = await me(first.base, keys.sales_rep!.apiKey)
  t.equal(rep.status, 200)
  t.same(rep.body.roles, ['sales_rep'])
  t.equal(rep.body.managerId, keys.sales_manager!.principalId, 'the demo rep reports to the demo manager')

  const anonymous = await fetch(`${first.base}/v1/principals/me`)
  t.equal(anonymous.status, 401)
  t.match(anonymous.headers.get('content-type'), /^application\/problem\+json/)
  const health = await fetch(`${first.base}/health`)
  t.equal(health.status, 200)

  await stop(t, first)

  const second = await npmStart(env, port)
  await waitReady(t, second)
  const again = await me(second.base, keys.admin!.apiKey)
  t.equal(again.status, 200, 'the same admin key works after a restart')
  t.equal(again.body.id, keys.admin!.principalId)
  t.equal(readFileSync(file, 'utf8'), text, 'demo-keys.json is unchanged')
  const list = await fetch(`${second.base}/v1/principals`, { headers: { authorization: `Bearer ${keys.admin!.apiKey}` } })
  t.equal(((await list.json()) as { data: unknown[] }).data.length, ROLES.length, 'no second set of demo principals')
  await stop(t, second)
})

t.test('QTC_BOOTSTRAP_ADMIN_KEY is an admin key at once', async (t) => {
  const dataDir = tempDir(t)
  const port = await freePort()
  const key = randomBytes(30).toString('base64url').slice(0, 40)
  t.equal(key.length, 40)
  const service = await npmStart({ ...baseEnv(), PORT: String(port), QTC_DATA_DIR: dataDir, LOG_LEVEL: 'warn', QTC_BOOTSTRAP_ADMIN_KEY: key }, port)
  await waitReady(t, service)
  const res = await me(service.base, key)
  t.equal(res.status, 200)
  t.same(res.body.roles, ['admin'])
  t.equal(res.body.name, 'bootstrap-admin')
  t.notMatch(service.output(), key, 'the key is never printed')
  const wrong = await me(service.base, key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a'))
  t.equal(wrong.status, 401)
  await stop(t, service)
})

t.test('an invalid PORT stops the start with a message naming PORT', async (t) => {
  const dataDir = tempDir(t)
  const service = await npmStart({ ...baseEnv(), PORT: 'notaport', QTC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, 0)
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running:\n${service.output()}`)), 30_000).unref())
  const exit = await Promise.race([service.exited, timeout])
  t.not(exit.code, 0, 'a non-zero exit')
  t.equal(exit.signal, null)
  t.match(service.output(), /qtc: Invalid PORT="notaport"/, 'the message names PORT and its value')
  t.notOk(existsSync(join(dataDir, 'demo-keys.json')), 'nothing was created')
})

/** Runs `npx qtc …` (bin/qtc.mjs) as its own process and waits for it. */
async function qtcCli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/qtc.mjs'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stdout, stderr }
}

t.test('one process per embedded data folder: a second start and the CLI are refused, naming the folder and the pid', async (t) => {
  const dataDir = tempDir(t)
  const env = { ...baseEnv(), QTC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
  const port = await freePort()
  const first = await npmStart({ ...env, PORT: String(port) }, port)
  await waitReady(t, first)
  const lockFile = join(dataDir, 'qtc.lock')
  const holder = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; purpose: string }
  t.equal(holder.purpose, 'server')
  t.ok(groupAlive(first.child.pid!) && holder.pid > 0, 'the lock names the running service')
  const refusal = `the embedded database in ${dataDir} is in use by process ${holder.pid} (server, since `

  const secondPort = await freePort()
  const second = await npmStart({ ...env, PORT: String(secondPort) }, secondPort)
  const exit = await Promise.race([second.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref())])
  t.not(exit, 'timeout', 'the second start gives up')
  t.equal(exit !== 'timeout' && exit.code, 1, 'with exit code 1')
  t.match(second.output(), `qtc: refusing to start: ${refusal}`)
  await t.rejects(fetch(`http://127.0.0.1:${secondPort}/health`, { signal: AbortSignal.timeout(2000) }), 'it never listened')

  for (const args of [['keys', 'create', '--name', 'Lost key', '--role', 'admin'], ['migrate'], ['audit', 'verify']]) {
    const cli = await qtcCli(env, args)
    t.equal(cli.code, 3, `qtc ${args[0]} ${args[1] ?? ''}: exit 3`)
    t.match(cli.stderr, `qtc: ${refusal}`)
    t.equal(cli.stdout, '', 'no key is printed, nothing is done')
  }
  t.equal(JSON.parse(readFileSync(lockFile, 'utf8')).pid, holder.pid, 'the lock still names the service')
  const stillUp = await fetch(`${first.base}/ready`)
  t.equal(stillUp.status, 200, 'the running service is undisturbed')

  // A crash: nothing runs to release the lock.
  process.kill(-first.child.pid!, 'SIGKILL')
  t.ok(await until(() => !groupAlive(first.child.pid!), 10_000), 'the service is gone')
  t.ok(existsSync(lockFile), 'its lock file is left behind')
  // This start also checks the audit checkpoint job, run in-process on PGlite: signed, in the log, the key never shown.
  const auditKey = randomBytes(24).toString('hex')
  const after = await npmStart({ ...env, PORT: String(port), LOG_LEVEL: 'info', QTC_AUDIT_KEY: auditKey, QTC_JOBS_POLL_MS: '500' }, port)
  await waitReady(t, after)
  const taken = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }
  t.not(taken.pid, holder.pid, 'the stale lock was taken over')
  const keys = JSON.parse(readFileSync(join(dataDir, 'demo-keys.json'), 'utf8')) as Record<string, { apiKey: string }>
  const run = await fetch(`${after.base}/v1/jobs/audit.checkpoint/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.finance!.apiKey}`, 'idempotency-key': 'checkpoint-now' },
  })
  t.equal(run.status, 202, 'the job is queued')
  t.ok(await until(() => after.output().includes('"msg":"audit checkpoint"'), 30_000), 'the worker runs it: a checkpoint is logged')
  const line = after
    .output()
    .split('\n')
    .find((l) => l.includes('"msg":"audit checkpoint"'))!
  t.match(JSON.parse(line).auditCheckpoint, { seq: /^\d+$/, hash: /^[0-9a-f]{64}$/, at: String, mac: /^[0-9a-f]{64}$/ })
  t.notMatch(after.output(), auditKey, 'the audit key is never printed')
  await stop(t, after)
  t.notOk(existsSync(lockFile), 'a clean stop releases the lock')

  const created = await qtcCli(env, ['keys', 'create', '--name', 'Kept key', '--role', 'admin', '--json'])
  t.equal(created.code, 0, created.stderr)
  t.match(JSON.parse(created.stdout).apiKey, /^qtc_/, 'with the service stopped, the CLI works')
  t.notOk(existsSync(lockFile), 'and releases the folder when done')
})

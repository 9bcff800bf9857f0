import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { dropSchema } from '../../src/db/database.js'
import { onPostgres } from '../helpers/app.js'

/**
 * Two QTC services (child processes) on one PostgreSQL schema: a job sent to either runs
 * exactly once across both, and work sent while one is stopped is done by the other.
 */

if (!onPostgres) {
  t.pass('skipped: several instances need a shared PostgreSQL (PGlite is one process)')
} else {
  const ROOT = fileURLToPath(new URL('../..', import.meta.url))
  const url = process.env.DATABASE_URL!
  const schema = `test_${randomBytes(6).toString('hex')}`
  const adminKey = randomBytes(24).toString('hex')
  const auditKey = randomBytes(24).toString('hex')
  const children: ChildProcess[] = []
  t.teardown(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await dropSchema(url, schema)
    await dropSchema(url, `${schema}_jobs`)
  })

  const freePort = () =>
    new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
      })
    })

  interface Instance {
    base: string
    output: () => string
    child: ChildProcess
    exited: Promise<number | null>
  }

  async function start(): Promise<Instance> {
    const port = await freePort()
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: url,
      DATABASE_SCHEMA: schema,
      QTC_BOOTSTRAP_ADMIN_KEY: adminKey,
      QTC_AUDIT_KEY: auditKey,
      QTC_JOBS_POLL_MS: '500',
      QTC_SEED_DEMO: 'false',
      LOG_LEVEL: 'info',
      // Only what the test sends runs: no schedule fires during it.
      QTC_SCHEDULE_QUOTES_EXPIRE: 'off',
      QTC_SCHEDULE_IDEMPOTENCY_PURGE: 'off',
      QTC_SCHEDULE_AUDIT_CHECKPOINT: 'off',
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let output = ''
    child.stdout!.on('data', (chunk) => (output += chunk))
    child.stderr!.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const base = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 60_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited before ready:\n${output}`)
      try {
        if ((await fetch(`${base}/ready`, { signal: AbortSignal.timeout(2000) })).status === 200) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`not ready:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    return { base, output: () => output, child, exited }
  }

  const headers = { authorization: `Bearer ${adminKey}` }
  async function runAndWait(instance: Instance, key: string): Promise<string> {
    const res = await fetch(`${instance.base}/v1/jobs/audit.checkpoint/run`, { method: 'POST', headers: { ...headers, 'idempotency-key': key } })
    if (res.status !== 202) throw new Error(`${res.status} ${await res.text()}`)
    const { id } = (await res.json()) as { id: string }
    const deadline = Date.now() + 30_000
    for (;;) {
      const run = (await (await fetch(`${instance.base}/v1/jobs/${id}`, { headers })).json()) as { state: string }
      if (run.state === 'completed') return id
      if (run.state === 'failed' || Date.now() > deadline) throw new Error(`run ${id}: ${JSON.stringify(run)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async function checkpointEvents(): Promise<number> {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const { rows } = await client.query(`select count(*)::int as n from "${schema}".outbox_events where type = 'audit.checkpoint'`)
      return rows[0].n
    } finally {
      await client.end()
    }
  }
  const logged = (instance: Instance) =>
    instance
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"audit checkpoint"')).length

  t.test('each run happens once across two instances; one stopped, the other does the work', async (t) => {
    const a = await start()
    const b = await start()
    const runs = 6
    for (let i = 0; i < runs; i++) await runAndWait(i % 2 === 0 ? a : b, `run-${i}`)
    t.equal(await checkpointEvents(), runs, 'one checkpoint event per run')
    t.equal(logged(a) + logged(b), runs, 'each run was worked by exactly one instance')
    t.comment(`instance a ran ${logged(a)}, instance b ran ${logged(b)}`)

    a.child.kill('SIGTERM')
    t.equal(await a.exited, 0, 'a stops cleanly')
    const before = logged(b)
    await runAndWait(b, 'after-a-stopped')
    t.equal(await checkpointEvents(), runs + 1)
    t.equal(logged(b), before + 1, 'b did the work sent while a was stopped')
    b.child.kill('SIGTERM')
    t.equal(await b.exited, 0, 'b stops cleanly')
  })
}

import t, { type Test } from 'tap'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { dropSchema } from '../../src/db/database.js'
import { onPostgres } from '../helpers/app.js'

/**
 * Two QTC services (child processes) on one PostgreSQL schema: a job sent to either runs
 * exactly once across both, work sent while one is stopped is done by the other, and the
 * outbox is delivered to a webhook once, whichever instance relays and sends.
 */

if (!onPostgres) {
  t.pass('skipped: several instances need a shared PostgreSQL (PGlite is one process)')
} else {
  // Three subtests start two services each, and the last waits for two minutes' schedules: more than tap's default per file.
  t.setTimeout(540_000)
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

  async function start(settings: NodeJS.ProcessEnv = {}): Promise<Instance> {
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
      QTC_SCHEDULE_WEBHOOKS_RELAY: 'off',
      QTC_SCHEDULE_WEBHOOKS_DELIVER: 'off',
      // The test's receiver listens on the loopback, over plain HTTP.
      QTC_WEBHOOK_ALLOW_HTTP: 'true',
      QTC_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      ...settings,
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
  async function runAndWait(instance: Instance, key: string, job = 'audit.checkpoint'): Promise<string> {
    const res = await fetch(`${instance.base}/v1/jobs/${job}/run`, { method: 'POST', headers: { ...headers, 'idempotency-key': key } })
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

  /** A webhook receiver on the loopback: checks each Standard Webhooks signature and keeps what arrives. */
  async function receiver(t: Test) {
    const state = { url: '', secret: '', received: [] as Array<{ id: string; type: string }>, badSignatures: [] as string[] }
    const server = createHttpServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => (body += chunk))
      req.on('end', () => {
        const id = String(req.headers['webhook-id'])
        const expected = createHmac('sha256', Buffer.from(state.secret.slice('whsec_'.length), 'base64'))
          .update(`${id}.${req.headers['webhook-timestamp']}.${body}`)
          .digest('base64')
        if (req.headers['webhook-signature'] !== `v1,${expected}`) state.badSignatures.push(id)
        state.received.push({ id, type: (JSON.parse(body) as { type: string }).type })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
    state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`
    return state
  }

  async function registerEndpoint(instance: Instance, url: string, key: string): Promise<{ id: string; secret: string }> {
    const res = await fetch(`${instance.base}/v1/webhook-endpoints`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ url, eventTypes: ['audit.checkpoint'], description: 'two instances' }),
    })
    if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`)
    return (await res.json()) as { id: string; secret: string }
  }

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

  t.test('two instances relay the outbox and deliver each event to a webhook once', async (t) => {
    const hooks = await receiver(t)
    const a = await start()
    const b = await start()
    const endpoint = await registerEndpoint(a, hooks.url, 'endpoint')
    hooks.secret = endpoint.secret
    const { received, badSignatures } = hooks

    const checkpoints = 4
    for (let i = 0; i < checkpoints; i++) await runAndWait(i % 2 === 0 ? a : b, `hook-checkpoint-${i}`)
    // Both instances relay and deliver, at the same time, twice over: a rerun or the other instance adds nothing.
    for (let round = 0; round < 2; round++) {
      await Promise.all([runAndWait(a, `relay-a-${round}`, 'webhooks.relay'), runAndWait(b, `relay-b-${round}`, 'webhooks.relay')])
      await Promise.all([runAndWait(a, `deliver-a-${round}`, 'webhooks.deliver'), runAndWait(b, `deliver-b-${round}`, 'webhooks.deliver')])
    }
    const total = await checkpointEvents()
    t.ok(total >= checkpoints, `${total} checkpoint events in the outbox`)
    t.equal(received.length, total, 'one request per event')
    t.equal(new Set(received.map((r) => r.id)).size, total, 'no event twice')
    t.ok(
      received.every((r) => r.type === 'audit.checkpoint'),
      'only the subscribed type',
    )
    t.same(badSignatures, [], 'every request signed with the endpoint secret')
    const log = (await (await fetch(`${b.base}/v1/webhook-endpoints/${endpoint.id}/deliveries?limit=100`, { headers })).json()) as {
      data: Array<{ state: string; attemptCount: number; eventId: string }>
    }
    t.same(
      log.data.map((d) => [d.state, d.attemptCount]),
      Array.from({ length: total }, () => ['delivered', 1]),
      'the delivery log: each delivered at the first attempt',
    )
    for (const instance of [a, b]) instance.child.kill('SIGTERM')
    t.same(await Promise.all([a.exited, b.exited]), [0, 0], 'both stop cleanly')
  })

  t.test('with schedules on in both instances, each scheduled run happens once a minute and its event reaches the receiver once', async (t) => {
    const since = new Date()
    const hooks = await receiver(t)
    const every = { QTC_SCHEDULE_AUDIT_CHECKPOINT: '* * * * *', QTC_SCHEDULE_WEBHOOKS_RELAY: '* * * * *', QTC_SCHEDULE_WEBHOOKS_DELIVER: '* * * * *' }
    const a = await start(every)
    const endpoint = await registerEndpoint(a, hooks.url, 'scheduled-endpoint')
    hooks.secret = endpoint.secret
    const b = await start(every)
    // Two minutes' runs, counted from the first one (under load the instances start late): the cron monitor
    // looks every 30 s, so the next minute's run is in by 40 s past that minute. A checkpoint written after its
    // minute's delivery run goes out the next minute.
    const minutes = async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      const { rows } = await client
        .query(
          `select date_trunc('minute', created_at) as minute, count(*)::int as n, array_agg(id) as ids from "${schema}".outbox_events
           where type = 'audit.checkpoint' and created_at >= $1 group by 1 order by 1`,
          [since],
        )
        .finally(() => client.end())
      return rows as { minute: Date; n: number; ids: string[] }[]
    }
    const deadline = Date.now() + 240_000
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1000))
    let first: Date | undefined
    while (!first && Date.now() < deadline) {
      first = (await minutes())[0]?.minute
      if (!first) await pause()
    }
    assert(first, 'a scheduled checkpoint within four minutes')
    const secondMinuteRun = first.getTime() + 60_000 + 40_000
    // Under load a minute's run can be late past those 40 s: wait for the second minute itself, up to the deadline.
    while ((hooks.received.length < 1 || Date.now() < secondMinuteRun || (await minutes()).length < 2) && Date.now() < deadline) await pause()
    t.ok(hooks.received.length >= 1, `${hooks.received.length} scheduled checkpoints delivered`)

    const rows = await minutes()
    t.ok(rows.length >= 2, `checkpoints in ${rows.length} minutes`)
    t.same(
      rows.map((r) => r.n),
      rows.map(() => 1),
      'one scheduled checkpoint a minute across the two instances',
    )
    t.equal(logged(a) + logged(b), rows.length, 'each worked by one instance')
    const written = new Set(rows.flatMap((r) => r.ids as string[]))
    t.equal(new Set(hooks.received.map((r) => r.id)).size, hooks.received.length, 'no event twice')
    t.ok(
      hooks.received.every((r) => written.has(r.id)),
      'each one written by a scheduled run',
    )
    t.same(hooks.badSignatures, [], 'every request signed')
    for (const instance of [a, b]) instance.child.kill('SIGTERM')
    t.same(await Promise.all([a.exited, b.exited]), [0, 0], 'both stop cleanly')
  })
}

import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { JobEngine, jobsSchemaOf } from '../../src/jobs/job-engine.js'
import { JOB_CATALOGUE } from '../../src/jobs/job-catalogue.js'
import type { JobDefinition } from '../../src/jobs/job.js'
import { getJobRun } from '../../src/jobs/job.service.js'
import { buildTestApp, onPostgres, testConfig, type TestApp } from '../helpers/app.js'

/**
 * The job engine (pg-boss over the application's database), the catalogue's jobs, the jobs
 * API and the schedule settings. Workers poll every 500 ms here (QTC_JOBS_POLL_MS) so runs
 * finish in about a second; nothing waits for a schedule to fire.
 */

const FAST = { jobsPollMs: 500 }
const DAY = 86_400_000

/** Polls until `check` returns a value, or fails after a generous deadline (a stuck job, not a slow one). */
async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const runOf = (ctx: TestApp, id: string) => getJobRun({ db: ctx.database.db, clock: ctx.clock, engine: ctx.jobs }, id)
const finished = (ctx: TestApp, id: string, state: 'completed' | 'failed') =>
  until(async () => {
    const run = await runOf(ctx, id)
    return run.state === state ? run : undefined
  }, `${id} ${state}`)

async function runNow(ctx: TestApp, name: string, key: string, role: 'admin' | 'finance' = 'admin') {
  return ctx.app.inject({ method: 'POST', url: `/v1/jobs/${name}/run`, headers: { ...ctx.as(role), 'idempotency-key': key } })
}

t.test('settings: QTC_SCHEDULE_<JOB> is a cron expression or off; QTC_JOBS_POLL_MS; DATABASE_SCHEMA leaves room for its job schema', async (t) => {
  t.same(loadConfig({}).jobSchedules, {}, 'no schedule settings: the catalogue defaults')
  t.equal(loadConfig({}).jobsPollMs, 2000, 'workers poll every 2 s by default')
  t.equal(loadConfig({ QTC_JOBS_POLL_MS: '500' }).jobsPollMs, 500)
  t.throws(() => loadConfig({ QTC_JOBS_POLL_MS: '499' }), { message: /^Invalid QTC_JOBS_POLL_MS=499/ }, 'pg-boss polls at most twice a second')
  t.throws(() => loadConfig({ QTC_JOBS_POLL_MS: '60001' }), { message: /^Invalid QTC_JOBS_POLL_MS/ })
  t.same(loadConfig({ QTC_SCHEDULE_QUOTES_EXPIRE: '*/5 * * * *', QTC_SCHEDULE_AUDIT_CHECKPOINT: 'off' }).jobSchedules, {
    QTC_SCHEDULE_QUOTES_EXPIRE: '*/5 * * * *',
    QTC_SCHEDULE_AUDIT_CHECKPOINT: 'off',
  })
  for (const [value, why] of [
    ['61 * * * *', /Constraint error/],
    ['every minute', /has 2 fields/],
    ['0 */5 * * * *', /has 6 fields/],
  ] as const) {
    const error = t.throws(() => loadConfig({ QTC_SCHEDULE_QUOTES_EXPIRE: value }))
    t.ok(error instanceof ConfigError, `${value} is refused`)
    t.match((error as Error).message, /^Invalid QTC_SCHEDULE_QUOTES_EXPIRE=".*": not a cron expression or "off"/)
    t.match((error as Error).message, why)
  }
  t.throws(() => loadConfig({ QTC_SCHEDULE_quotes: 'off' }), { message: /^Invalid QTC_SCHEDULE_quotes/ }, 'the name is upper case')
  t.equal(loadConfig({ DATABASE_SCHEMA: 'a'.repeat(58) }).databaseSchema?.length, 58)
  t.throws(() => loadConfig({ DATABASE_SCHEMA: 'a'.repeat(59) }), { message: /^Invalid DATABASE_SCHEMA/ }, '58 + "_jobs" is the most PostgreSQL allows')
})

t.test('the engine: a schedule setting naming no job stops the start; schedules resolve from settings and defaults', async (t) => {
  const database = { kind: 'postgres', schema: 'tenant_a', db: null as never, close: async () => {} } as const
  const make = (jobSchedules: Record<string, string>) =>
    new JobEngine({
      database,
      config: { ...testConfig(), jobSchedules, jobsPollMs: 500, auditKey: null },
      clock: { now: () => new Date() },
      log: console,
      workers: false,
    })
  t.throws(() => make({ QTC_SCHEDULE_QUOTES_EXPIRY: 'off' }), {
    name: 'ConfigError',
    message:
      'Invalid QTC_SCHEDULE_QUOTES_EXPIRY: no job is named by it; the schedule settings are QTC_SCHEDULE_QUOTES_EXPIRE, QTC_SCHEDULE_INVOICES_RUN, QTC_SCHEDULE_INVOICES_MARK_OVERDUE, QTC_SCHEDULE_EINVOICES_SYNC, QTC_SCHEDULE_IDEMPOTENCY_PURGE, QTC_SCHEDULE_AUDIT_CHECKPOINT, QTC_SCHEDULE_WEBHOOKS_RELAY, QTC_SCHEDULE_WEBHOOKS_DELIVER',
  })
  const engine = make({ QTC_SCHEDULE_QUOTES_EXPIRE: '*/5 * * * *', QTC_SCHEDULE_IDEMPOTENCY_PURGE: 'off' })
  t.same(engine.schedules.get('quotes.expire'), { cron: '*/5 * * * *', setting: 'QTC_SCHEDULE_QUOTES_EXPIRE', source: 'setting' })
  t.same(engine.schedules.get('idempotency.purge'), { cron: null, setting: 'QTC_SCHEDULE_IDEMPOTENCY_PURGE', source: 'setting' })
  t.same(engine.schedules.get('audit.checkpoint'), { cron: '0 * * * *', setting: 'QTC_SCHEDULE_AUDIT_CHECKPOINT', source: 'default' })
  t.equal(engine.schema, 'tenant_a_jobs', 'beside the application schema')
  t.equal(jobsSchemaOf({ kind: 'postgres', schema: null }), 'pgboss')
  t.equal(jobsSchemaOf({ kind: 'pglite', schema: null }), 'pgboss')
})

t.test('the jobs API: catalogue, roles, idempotent runs, unknown names and ids', async (t) => {
  const ctx = await buildTestApp(t, FAST)
  const list = await ctx.app.inject({ method: 'GET', url: '/v1/jobs', headers: ctx.as('finance') })
  t.equal(list.statusCode, 200, list.body)
  const jobs = list.json().data as Array<Record<string, any>>
  t.same(
    jobs.map((j) => j.name),
    JOB_CATALOGUE.map((d) => d.name),
  )
  const expire = jobs.find((j) => j.name === 'quotes.expire')!
  t.match(expire, {
    enabled: true,
    disabledReason: null,
    queuePolicy: 'stately',
    singletonKey: 'quotes.expire',
    retry: { retryLimit: 3, retryDelaySeconds: 30, retryBackoff: true },
    expireInSeconds: 900,
    schedule: { cron: '* * * * *', setting: 'QTC_SCHEDULE_QUOTES_EXPIRE', source: 'default' },
    lastRuns: [],
  })
  t.match(
    jobs.find((j) => j.name === 'audit.checkpoint'),
    {
      enabled: false,
      disabledReason: 'QTC_AUDIT_KEY is not set: there is no key to sign checkpoints with',
      schedule: { cron: null },
    },
  )

  for (const role of ['sales_rep', 'sales_manager', 'deal_desk', 'pricing_analyst'] as const) {
    const read = await ctx.app.inject({ method: 'GET', url: '/v1/jobs', headers: ctx.as(role) })
    t.equal(read.statusCode, 403, `${role} may not read jobs`)
    const run = await ctx.app.inject({ method: 'POST', url: '/v1/jobs/quotes.expire/run', headers: { ...ctx.as(role), 'idempotency-key': `k-${role}` } })
    t.equal(run.statusCode, 403, `${role} may not run one`)
    t.match(run.headers['content-type'], /^application\/problem\+json/)
  }

  const noKey = await ctx.app.inject({ method: 'POST', url: '/v1/jobs/quotes.expire/run', headers: ctx.as('admin') })
  t.equal(noKey.statusCode, 400, 'an Idempotency-Key is required')
  t.equal(noKey.json().code, 'VALIDATION_FAILED')

  const first = await runNow(ctx, 'quotes.expire', 'run-1')
  t.equal(first.statusCode, 202, first.body)
  const { id } = first.json()
  t.match(first.json(), { id: /^[0-9a-f-]{36}$/, name: 'quotes.expire', queued: true })
  t.equal(first.headers.location, `/v1/jobs/${id}`)
  const again = await runNow(ctx, 'quotes.expire', 'run-1')
  t.equal(again.statusCode, 202)
  t.equal(again.json().id, id, 'the same key: the same run')
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.headers.location, `/v1/jobs/${id}`, 'the replay carries the Location too')
  const other = await runNow(ctx, 'quotes.expire', 'run-2', 'finance')
  t.equal(other.statusCode, 202)
  t.same(other.json(), { id, name: 'quotes.expire', queued: false }, 'a queued run of a stately job is the answer to another request')

  const polled = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: ctx.as('admin') })
  t.equal(polled.statusCode, 200)
  t.match(polled.json(), { id, name: 'quotes.expire', state: 'created', progress: null, outcome: null, error: null, startedAt: null, completedAt: null })
  const audit = await ctx.database.db.selectFrom('audit_log').select(['action', 'actor_id']).where('entity_id', '=', id).execute()
  t.same(audit, [
    { action: 'job.run_requested', actor_id: ctx.principalIds.admin },
    { action: 'job.run_requested', actor_id: ctx.principalIds.finance },
  ])
  const listed = (await ctx.app.inject({ method: 'GET', url: '/v1/jobs?runs=1', headers: ctx.as('admin') })).json().data
  t.same(
    listed.find((j: { name: string }) => j.name === 'quotes.expire').lastRuns.map((r: { id: string }) => r.id),
    [id],
  )
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/jobs?runs=21', headers: ctx.as('admin') })).statusCode, 400, 'at most 20 runs a job')

  const unknownName = await runNow(ctx, 'quotes.explode', 'run-3')
  t.equal(unknownName.statusCode, 404)
  t.equal(unknownName.json().code, 'NOT_FOUND')
  const disabled = await runNow(ctx, 'audit.checkpoint', 'run-4')
  t.equal(disabled.statusCode, 409)
  t.equal(disabled.json().code, 'JOB_DISABLED')
  for (const missing of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/jobs/${missing}`, headers: ctx.as('admin') })
    t.equal(res.statusCode, 404, `${missing}: 404`)
    t.equal(res.json().code, 'NOT_FOUND')
  }
})

t.test('quotes.expire through the engine expires a due quote once, and reports what it did', async (t) => {
  const ctx = await buildTestApp(t, FAST, { jobWorkers: true })
  const rep = ctx.as('sales_rep')
  const account = await ctx.app.inject({
    method: 'POST',
    url: '/v1/accounts',
    headers: rep,
    payload: {
      name: 'Lyon Logistique SAS',
      billingAddress: { line1: '3 quai Perrache', city: 'Lyon', postalCode: '69002', country: 'FR' },
      country: 'FR',
      currency: 'EUR',
      segment: 'mid_market',
      vatId: 'FR40303265045',
    },
  })
  t.equal(account.statusCode, 201, account.body)
  const quote = await ctx.app.inject({
    method: 'POST',
    url: '/v1/quotes',
    headers: rep,
    payload: { accountId: account.json().id, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 40, termMonths: 12 }], validUntil: '2026-12-02' },
  })
  t.equal(quote.statusCode, 201, quote.body)
  ctx.clock.advance(2 * DAY)

  const first = await runNow(ctx, 'quotes.expire', 'expire-1')
  t.equal(first.statusCode, 202, first.body)
  const done = await finished(ctx, first.json().id, 'completed')
  t.same(done.outcome, { expired: 1 }, 'the outcome is stored as the output')
  t.ok(done.startedAt && done.completedAt, 'with its timestamps')
  const status = await ctx.database.db.selectFrom('quotes').select('status').where('id', '=', quote.json().id).executeTakeFirstOrThrow()
  t.equal(status.status, 'expired')

  const second = await runNow(ctx, 'quotes.expire', 'expire-2')
  t.same((await finished(ctx, second.json().id, 'completed')).outcome, { expired: 0 }, 'a rerun expires nothing more')
  const audited = await ctx.database.db
    .selectFrom('audit_log')
    .select('action')
    .where('entity_id', '=', quote.json().id)
    .where('action', 'like', '%expire%')
    .execute()
  t.equal(audited.length, 1, 'expired and audited once')
})

t.test('a failing job is recorded failed with its error after its retries; progress is readable while a job runs', async (t) => {
  let attempts = 0
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  const base = { queuePolicy: 'standard', singletonKey: null, expireInSeconds: 60, defaultSchedule: null, disabledReason: () => null } as const
  const definitions: JobDefinition[] = [
    {
      ...base,
      name: 'test.fails',
      description: 'Always throws',
      retry: { retryLimit: 1, retryDelaySeconds: 0, retryBackoff: false },
      run: async () => {
        attempts++
        throw new Error(`the ledger is on fire (attempt ${attempts})`)
      },
    },
    {
      ...base,
      name: 'test.slow',
      description: 'Reports progress, then waits to be released',
      retry: { retryLimit: 0, retryDelaySeconds: 0, retryBackoff: false },
      run: async (_deps, context) => {
        await context.reportProgress(1, 2)
        await released
        return { steps: 2 }
      },
    },
  ]
  const ctx = await buildTestApp(t, FAST, { jobWorkers: true, jobDefinitions: definitions })

  const failing = await runNow(ctx, 'test.fails', 'fail-1')
  t.equal(failing.statusCode, 202, failing.body)
  const failed = await finished(ctx, failing.json().id, 'failed')
  t.equal(attempts, 2, 'the first attempt and one retry')
  t.match(failed, { state: 'failed', retryCount: 1, retryLimit: 1, outcome: null, error: { message: 'the ledger is on fire (attempt 2)' } })
  const catalogue = (await ctx.app.inject({ method: 'GET', url: '/v1/jobs', headers: ctx.as('admin') })).json().data
  t.match(catalogue.find((j: { name: string }) => j.name === 'test.fails').lastRuns, [
    { id: failing.json().id, state: 'failed', error: { message: /on fire/ } },
  ])

  const slow = await runNow(ctx, 'test.slow', 'slow-1')
  const id = slow.json().id
  const running = await until(async () => {
    const run = await runOf(ctx, id)
    return run.progress ? run : undefined
  }, 'progress reported')
  t.match(running, { state: 'active', progress: { done: 1, total: 2 } })
  release()
  t.same((await finished(ctx, id, 'completed')).outcome, { steps: 2 })
})

t.test('on PGlite the engine shares the one connection', { skip: onPostgres ? 'PGlite only' : false }, async (t) => {
  // pg-boss's schema (multi-statement DDL under an advisory lock) installs on PGlite, through the same pool of one as kysely.
  const ctx = await buildTestApp(t, FAST)
  await ctx.jobs.start()
  const { rows } = await ctx.database.db
    .selectFrom('information_schema.tables' as never)
    .select('table_name' as never)
    .where('table_schema' as never, '=', 'pgboss' as never)
    .execute()
    .then((r) => ({ rows: r as Array<{ table_name: string }> }))
  t.ok(
    ['job', 'archive', 'queue', 'schedule', 'version'].every((name) => rows.some((r) => r.table_name === name)),
    'pg-boss tables exist',
  )
  await ctx.jobs.stop()
  await ctx.jobs.stop()
  t.pass('stops, twice')
})

import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { buildTestApp, onPostgres } from '../helpers/app.js'
import { signedQuote } from '../helpers/signed-quote.js'
import { runInvoicing } from '../helpers/invoicing.js'

/**
 * The service killed with SIGKILL in the middle of an invoice run, for real: a separate
 * process on the same PostgreSQL schema runs the job; the test kills it once some invoices are
 * made and before the last; then the run is resumed. Whole invoices only, none twice, no gap.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ACCOUNTS = 6
/** Lines per quote: enough that one invoice takes a while, so the kill falls between invoices. */
const LINES = Array.from({ length: 250 }, () => ({ sku: 'PLAT-PRO-SEAT', quantity: 1, termMonths: 12 }))

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

t.test(
  'kill -9 mid-run: the invoices made are whole, the rerun makes the rest once, numbers gapless',
  { skip: onPostgres ? false : 'needs a real PostgreSQL: a second process shares the database' },
  async (t) => {
    const ctx = await buildTestApp(t)
    for (let i = 0; i < ACCOUNTS; i++) await signedQuote(t, ctx, { account: { name: `Buyer ${i} SA` }, lines: LINES })
    const db = ctx.database.db

    const port = await freePort()
    const env = {
      ...process.env,
      DATABASE_URL: process.env.DATABASE_URL,
      DATABASE_SCHEMA: ctx.config.databaseSchema!,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      QTC_SEED_DEMO: 'false',
      QTC_JOBS_POLL_MS: '500',
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const base = `http://127.0.0.1:${port}`
    for (let i = 0; ; i++) {
      const ready = await fetch(`${base}/ready`).then(
        (r) => r.ok,
        () => false,
      )
      if (ready) break
      if (i > 600) throw new Error(`the service did not start: ${output}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }

    const asked = await fetch(`${base}/v1/invoice-runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.keys.finance}`, 'content-type': 'application/json', 'idempotency-key': 'kill-9' },
      body: JSON.stringify({ asOf: '2026-12-01' }),
    })
    t.equal(asked.status, 202, await asked.clone().text())
    const runId = ((await asked.json()) as { id: string }).id

    // Kill as soon as a first invoice is committed and while the run still has some to make.
    let atKill = { done: 0, total: 0 }
    for (let i = 0; ; i++) {
      const run = await db.selectFrom('invoice_runs').select(['done', 'total', 'status']).where('id', '=', runId).executeTakeFirstOrThrow()
      if (run.done >= 1) {
        child.kill('SIGKILL')
        atKill = { done: run.done, total: run.total ?? 0 }
        break
      }
      if (i > 6000) throw new Error(`the run never progressed: ${output}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    t.equal(await exited, 'SIGKILL', 'the service was killed')
    t.equal(atKill.total, ACCOUNTS, 'one invoice to make per account')
    t.ok(atKill.done < ACCOUNTS, `killed mid-run (${atKill.done} of ${atKill.total} done)`)

    const run = await db.selectFrom('invoice_runs').select(['status']).where('id', '=', runId).executeTakeFirstOrThrow()
    t.equal(run.status, 'running', 'the run is left unfinished')
    const made = (await db.selectFrom('invoices').select('id').execute()).length
    t.ok(made >= 1 && made < ACCOUNTS, `${made} whole invoices before the kill`)
    const partial = await sql<{ n: string }>`
      select count(*) as n from invoices i
      where (select count(*) from invoice_lines l where l.invoice_id = i.id) <> ${LINES.length}
         or not exists (select 1 from journal_entries e where e.source_id = i.id)`.execute(db)
    t.equal(Number(partial.rows[0]!.n), 0, 'every invoice there is whole: all its lines and its journal entry')

    // The rerun: the job resumes the unfinished run (here in the test's process).
    await runInvoicing(ctx)
    const after = await db.selectFrom('invoice_runs').select(['status', 'invoices']).where('id', '=', runId).executeTakeFirstOrThrow()
    t.same(after, { status: 'succeeded', invoices: ACCOUNTS }, 'the same run completed')
    const numbers = (await db.selectFrom('invoices').select('number').orderBy('sequence').execute()).map((r) => r.number)
    t.same(
      numbers,
      Array.from({ length: ACCOUNTS }, (_, k) => `INV-2026-${String(k + 1).padStart(6, '0')}`),
      'gapless, the invoice being made at the kill rolled back with its number',
    )
    const twice = await sql`select 1 from invoice_lines group by order_id, order_line_no, schedule_seq having count(*) > 1`.execute(db)
    t.equal(twice.rows.length, 0, 'nothing billed twice')
  },
)

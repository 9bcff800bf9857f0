import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { signedQuote } from '../helpers/signed-quote.js'
import { verifyAudit } from '../../src/audit/audit.service.js'

/**
 * Invoicing end to end, over HTTP and the job engine as in production: a signed quote with a
 * device, a 12-month subscription at 15 % off billed monthly, and 5 days of onboarding; its
 * order fulfilled; invoice runs month after month; the invoices add up to the contract, the
 * numbers are gapless per year, the VAT is right, the journal balances.
 */

const FAST = { jobsPollMs: 500 }
const DAY = 86_400_000
const LINES = [
  { sku: 'GW-200', quantity: 1 },
  { sku: 'PLAT-PRO-SEAT', quantity: 20, termMonths: 12, manualDiscountPercent: '15' },
  { sku: 'PS-ONBOARD', quantity: 5 },
]

const minor = (amount: string) => BigInt(amount.replace('.', ''))
const today = (ctx: TestApp) => ctx.clock.now().toISOString().slice(0, 10)

async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Asks for an invoice run as finance and waits for the job engine to finish it. */
async function invoiceRun(t: Test, ctx: TestApp, asOf: string, key = `run-${asOf}-${Math.random()}`) {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/v1/invoice-runs',
    headers: { ...ctx.as('finance'), 'idempotency-key': key },
    payload: { asOf },
  })
  t.equal(res.statusCode, 202, res.body)
  const id = res.json().id as string
  return until(async () => {
    const run = (await ctx.app.inject({ method: 'GET', url: `/v1/invoice-runs/${id}`, headers: ctx.as('finance') })).json()
    return run.status === 'succeeded' || run.status === 'failed' ? run : undefined
  }, `invoice run ${id}`)
}

async function invoicesOf(ctx: TestApp, runId: string) {
  const list = await ctx.app.inject({ method: 'GET', url: `/v1/invoices?runId=${runId}&limit=100`, headers: ctx.as('finance') })
  return Promise.all(
    list
      .json()
      .data.map(async (i: { id: string }) => (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${i.id}`, headers: ctx.as('finance') })).json()),
  )
}

const fulfil = (ctx: TestApp, orderId: string, lines: object[]) =>
  ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/fulfilments`, headers: ctx.as('deal_desk'), payload: { lines } })

t.test('a year of invoices: every line billed to its contract amount, numbers gapless per year, VAT 20 %, the journal balanced', async (t) => {
  const ctx = await buildTestApp(t, FAST, { jobWorkers: true })
  const s = await signedQuote(t, ctx, { lines: LINES })
  const orderRes = await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${s.quoteId}/order`, headers: ctx.as('sales_rep') })
  const order = orderRes.json()
  const line = (sku: string) => order.lines.find((l: { sku: string }) => l.sku === sku)
  // The configuration rules added a wall mount for the gateway: goods too.
  const [device, mount, seats, days] = [line('GW-200'), line('MNT-WALL'), line('PLAT-PRO-SEAT'), line('PS-ONBOARD')]
  t.equal(seats.discountPercent, '15.00', 'the subscription is 15 % off')

  // December: the device and its mount ship, 2 of the 5 days are delivered.
  const december = [
    { line: device.line, kind: 'shipped', quantity: 1 },
    { line: mount.line, kind: 'shipped', quantity: 1 },
    { line: days.line, kind: 'delivered', quantity: 2 },
  ]
  t.equal((await fulfil(ctx, order.id, december)).statusCode, 201)
  const runs = [await invoiceRun(t, ctx, today(ctx))]
  t.match(runs[0], { status: 'succeeded', invoices: 1, nothingToDo: false, progress: { done: 1, total: 1 }, failures: [] })
  const [first] = await invoicesOf(ctx, runs[0].id)
  t.equal(first.number, 'INV-2026-000001')
  t.equal(first.issueDate, '2026-12-01')
  t.equal(first.dueDate, '2026-12-31', 'net 30')
  t.same(first.buyer, {
    name: 'Acme Industrie SA',
    address: { line1: '12 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
    vatId: 'FR11123456782',
  })
  t.match(first.seller, { name: 'QTC SAS', vatId: /^FR/, siren: /^\d{9}$/ })
  const bySku = (invoice: { lines: Array<Record<string, any>> }, sku: string) => invoice.lines.filter((l) => l.sku === sku)
  t.match(bySku(first, 'GW-200'), [{ quantity: '1', net: device.contractAmount, quoteNumber: s.quote.number, orderNumber: order.number }])
  t.match(bySku(first, 'PLAT-PRO-SEAT'), [
    { periodStart: '2026-12-01', periodEnd: '2026-12-31', net: seats.netAmount, quantity: '20', discountPercent: '15.00' },
  ])
  const dayAmount = minor(days.contractAmount)
  t.same(
    bySku(first, 'PS-ONBOARD').map((l: any) => [l.quantity, minor(l.net)]),
    [['2', (dayAmount * 2n * 2n + 5n) / 10n]],
    '2 of 5 days: two fifths of the line, rounded half-even',
  )
  for (const l of first.lines) t.match(l.vat, { category: 'S', ratePercent: '20', ruleId: 'tax.fr.standard', mention: null })
  const base = first.lines.reduce((sum: bigint, l: { net: string }) => sum + minor(l.net), 0n)
  t.same(first.vat, [{ category: 'S', ratePercent: '20', base: first.net, tax: first.tax, mention: null, exemptionCode: null }])
  t.equal(minor(first.net), base)
  t.equal(minor(first.tax), (base * 2000n + 5000n) / 10_000n, 'VAT computed once on the base, rounded half-up')
  t.equal(minor(first.total), base + minor(first.tax))

  // The other 3 days in January, then a run on the 1st of each month to November.
  for (let month = 1; month <= 11; month++) {
    ctx.clock.advance((month === 1 ? 31 : new Date(Date.UTC(2027, month - 1, 0)).getUTCDate()) * DAY)
    t.equal(today(ctx).slice(8), '01', `${today(ctx)} is a 1st`)
    if (month === 1) t.equal((await fulfil(ctx, order.id, [{ line: days.line, kind: 'delivered', quantity: 3 }])).statusCode, 201)
    const run = await invoiceRun(t, ctx, today(ctx))
    t.equal(run.invoices, 1, `${today(ctx)}: one invoice`)
    runs.push(run)
  }
  const again = await invoiceRun(t, ctx, today(ctx))
  t.match(again, { status: 'succeeded', invoices: 0, nothingToDo: true }, 'the same run twice: nothing to do')

  const invoices = (await Promise.all(runs.map((r) => invoicesOf(ctx, r.id)))).flat()
  t.same(
    invoices.map((i) => i.number),
    ['INV-2026-000001', ...Array.from({ length: 11 }, (_, k) => `INV-2027-${String(k + 1).padStart(6, '0')}`)],
    'gapless per seller and year, the sequence starting again in 2027',
  )
  const lines = invoices.flatMap((i) => i.lines)
  for (const l of order.lines) {
    const billed = lines.filter((x: { orderLine: number }) => x.orderLine === l.line).reduce((sum: bigint, x: { net: string }) => sum + minor(x.net), 0n)
    t.equal(billed, minor(l.contractAmount), `${l.sku}: billed exactly its contract amount`)
  }
  t.equal(
    invoices.reduce((sum, i) => sum + minor(i.net), 0n),
    minor(order.net),
    "the invoices' net is the quote's contract total, to the cent",
  )
  t.equal(bySku(invoices[1], 'PS-ONBOARD')[0]?.quantity, '3', 'the rest of the days in January')
  t.equal(bySku(invoices[11], 'PLAT-PRO-SEAT')[0]?.periodEnd, '2027-11-30', 'the twelfth month')

  // The trial balance: balanced; receivables = the invoices' totals; deferred revenue for the
  // subscription, revenue for goods and services, VAT collected.
  const tb = (await ctx.app.inject({ method: 'GET', url: `/v1/reports/trial-balance?asOf=${today(ctx)}`, headers: ctx.as('finance') })).json()
  t.equal(tb.currencies.length, 1)
  const eur = tb.currencies[0]
  t.equal(eur.balanced, true)
  const account = (code: string) => eur.accounts.find((a: { code: string }) => a.code === code)
  const totals = (field: 'total' | 'tax') => invoices.reduce((sum, i) => sum + minor(i[field]), 0n)
  t.equal(minor(account('411').debit), totals('total'), '411 Clients: every invoice total')
  t.equal(minor(account('44571').credit), totals('tax'), '44571 TVA collectée')
  t.equal(minor(account('487').credit), minor(seats.contractAmount), "487 Produits constatés d'avance: the subscription, served later")
  t.equal(minor(account('707').credit), minor(device.contractAmount) + minor(mount.contractAmount), '707 Ventes de marchandises: the device and its mount')
  t.equal(minor(account('706').credit), minor(days.contractAmount), '706 Prestations de services: the days')
  const journal = (await ctx.app.inject({ method: 'GET', url: '/v1/journal?limit=100', headers: ctx.as('finance') })).json()
  t.equal(journal.data.length, 12, 'one entry per invoice')
  t.same(
    journal.data.map((e: { sourceId: string }) => e.sourceId),
    invoices.map((i) => i.id),
  )

  // What the rep sees, and what they may not do.
  const repList = await ctx.app.inject({ method: 'GET', url: '/v1/invoices?limit=100', headers: ctx.as('sales_rep') })
  t.equal(repList.json().data.length, 12, "the account's owner sees its invoices")
  const other = await ctx.principal('Another rep', ['sales_rep'])
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${first.id}`, headers: other.headers })).statusCode, 404)
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/invoice-runs', headers: ctx.as('sales_rep'), payload: {} })).statusCode, 403)
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/journal', headers: ctx.as('sales_rep') })).statusCode, 403)

  // Issued is final; the audit chain covers every invoice.
  const db = ctx.database.db
  await t.rejects(sql`update invoices set net_minor = 0 where id = ${first.id}`.execute(db), /an issued invoice is immutable/)
  await t.rejects(sql`update invoice_lines set net_minor = 0`.execute(db), /append-only/)
  await t.rejects(sql`delete from invoices`.execute(db), /never deleted/)
  await t.rejects(sql`update journal_lines set debit_minor = 0`.execute(db), /append-only/)
  const audited = await db.selectFrom('audit_log').select('entity_id').where('action', '=', 'invoice.issued').execute()
  t.equal(audited.length, 12)
  t.ok((await verifyAudit(db)).ok, 'the chain verifies')
  const events = await db.selectFrom('outbox_events').select('payload').where('type', '=', 'invoice.issued').execute()
  t.same(events.map((e) => (e.payload as { number: string }).number).sort(), invoices.map((i) => i.number).sort())
})

t.test('the database refuses an unbalanced journal entry at commit, whatever posts it', async (t) => {
  const ctx = await buildTestApp(t)
  const db = ctx.database.db
  await t.rejects(
    db.transaction().execute(async (trx) => {
      await trx
        .insertInto('journal_entries')
        .values({ id: 'je_bad', entry_date: '2026-12-01', currency: 'EUR', source_type: 'test', source_id: 'x', memo: 'unbalanced', created_at: new Date() })
        .execute()
      await trx
        .insertInto('journal_lines')
        .values([
          { entry_id: 'je_bad', line_no: 1, account_code: '411', debit_minor: 100n, credit_minor: 0n, party_id: null },
          { entry_id: 'je_bad', line_no: 2, account_code: '706', debit_minor: 0n, credit_minor: 99n, party_id: null },
        ])
        .execute()
    }),
    /journal entry je_bad is not balanced: debits 100, credits 99/,
  )
  t.equal((await db.selectFrom('journal_entries').select('id').execute()).length, 0, 'nothing written')
})

t.test('invoice runs: finance only, a date within bounds, the same key answers the same run', async (t) => {
  const ctx = await buildTestApp(t)
  const post = (payload: object, key?: string) =>
    ctx.app.inject({ method: 'POST', url: '/v1/invoice-runs', headers: { ...ctx.as('finance'), ...(key ? { 'idempotency-key': key } : {}) }, payload })
  const far = await post({ asOf: '2028-12-01' })
  t.equal(far.statusCode, 400)
  t.match(far.json().errors, [{ pointer: '/asOf', detail: /^must be from \d{4}-\d{2}-\d{2} to 2027-12-02$/ }])
  t.equal((await post({ asOf: 'yesterday' })).statusCode, 400)
  const first = await post({ asOf: '2026-12-01' }, 'k1')
  t.equal(first.statusCode, 202, first.body)
  t.match(first.json(), { status: 'queued', asOf: '2026-12-01', progress: { done: 0, total: null } })
  const replay = await post({ asOf: '2026-12-01' }, 'k1')
  t.equal(replay.json().id, first.json().id, 'a retry gets the same run')
  t.equal((await post({ asOf: '2026-12-02' }, 'k1')).statusCode, 422, 'the same key for another run')
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/invoice-runs', headers: ctx.as('admin') })).json().data.length, 1)
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/invoice-runs/ir_nope', headers: ctx.as('finance') })).statusCode, 404)
})

import t from 'tap'
import fc from 'fast-check'
import { sql } from 'kysely'
import { buildTestApp, onPostgres, type TestApp } from '../helpers/app.js'
import { signedQuote } from '../helpers/signed-quote.js'
import { loadLegalEntities } from '../../src/documents/legal-entities.js'
import { buildRuleSet, loadRuleSet, readRuleSetSources, type RuleSet } from '../../src/rules/rule-set.js'
import { executeDueRuns, executeInvoiceRun, type InvoicingDeps } from '../../src/invoicing/invoice.service.js'
import { findRun, insertRun } from '../../src/invoicing/invoice.repository.js'
import { amountThrough, dueLines } from '../../src/invoicing/billable-lines.js'
import { vatBreakdown } from '../../src/invoicing/vat-breakdown.js'
import { moneyOf } from '../../src/money/money-value.js'
import type { BillableOrder, Order, OrderLine } from '../../src/orders/order.service.js'
import type { Clock } from '../../src/shared/clock.js'

const ROOT = new URL('../../', import.meta.url).pathname
let ruleSet: RuleSet
t.before(async () => {
  const loaded = await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)
  ruleSet = loaded.ruleSet!
})

function depsOf(ctx: TestApp, clock: Clock = ctx.clock): InvoicingDeps {
  return { db: ctx.database.db, clock, ruleSet: () => ruleSet, sellers: loadLegalEntities(`${ROOT}legal-entities/entities.yaml`) }
}

async function newRun(ctx: TestApp, asOf: string) {
  const id = `ir_test_${Math.random().toString(36).slice(2)}`
  await insertRun(ctx.database.db, { id, asOf, requestedBy: null, drafts: false, createdAt: ctx.clock.now() })
  return (await findRun(ctx.database.db, id))!
}

const SEATS = [{ sku: 'PLAT-PRO-SEAT', quantity: 10, termMonths: 12 }]

/** Signed quotes for `accounts` accounts: each one invoice due today (its first month of seats). */
async function billableAccounts(t: Parameters<typeof signedQuote>[0], ctx: TestApp, accounts: number) {
  for (let i = 0; i < accounts; i++) await signedQuote(t, ctx, { account: { name: `Buyer ${i} SA` }, lines: SEATS })
}

async function invoiceNumbers(ctx: TestApp) {
  const rows = await ctx.database.db.selectFrom('invoices').select(['number', 'sequence']).orderBy('sequence').execute()
  return rows.map((r) => r.number)
}

t.test('a crash inside an invoice leaves no partial invoice and no gap; the same run resumed completes the rest', async (t) => {
  const ctx = await buildTestApp(t)
  await billableAccounts(t, ctx, 3)
  // The clock is read once a number is taken, inside the invoice's transaction: failing it
  // there stands for the process dying mid-invoice.
  let reads = 0
  const crashing: Clock = {
    now: () => {
      reads++
      if (reads === 3) throw new Error('the process died')
      return ctx.clock.now()
    },
  }
  const run = await newRun(ctx, '2026-12-01')
  await t.rejects(executeInvoiceRun(depsOf(ctx, crashing), run), /the process died/)
  const after = await findRun(ctx.database.db, run.id)
  t.equal(after?.status, 'queued', 'the run is not finished')
  const made = await invoiceNumbers(ctx)
  t.same(made, ['INV-2026-000001'], 'the first invoice was made; the second died after taking number 2')
  const orphans = await sql<{
    n: string
  }>`select count(*) as n from invoice_lines l where not exists (select 1 from invoices i where i.id = l.invoice_id)`.execute(ctx.database.db)
  t.equal(Number(orphans.rows[0]!.n), 0)

  const resumed = await executeDueRuns(depsOf(ctx), async () => {})
  t.same(resumed, { runs: 1, invoices: 3 - made.length }, 'the interrupted run is resumed, and makes only what is left')
  t.same(await invoiceNumbers(ctx), ['INV-2026-000001', 'INV-2026-000002', 'INV-2026-000003'], 'no gap where the crash was')
  const finished = await findRun(ctx.database.db, run.id)
  t.match(finished, { status: 'succeeded', invoices: 3 })
  t.same(await executeDueRuns(depsOf(ctx), async () => {}), { runs: 1, invoices: 0 }, 'then a run for today finds nothing to do')
})

t.test('the tax rules decide nothing for a line: its group is skipped and listed, the others invoiced', async (t) => {
  const ctx = await buildTestApp(t)
  await billableAccounts(t, ctx, 2)
  const [swiss, french] = (await ctx.database.db.selectFrom('accounts').select('id').orderBy('id').execute()).map((a) => a.id)
  const current = await ctx.app.inject({ method: 'GET', url: `/v1/accounts/${swiss}`, headers: ctx.as('sales_rep') })
  const moved = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/accounts/${swiss}`,
    headers: { ...ctx.as('sales_rep'), 'if-match': current.headers.etag as string },
    payload: { country: 'CH', vatId: null, billingAddress: { line1: '1 rue du Rhône', city: 'Genève', postalCode: '1204', country: 'CH' } },
  })
  t.equal(moved.statusCode, 200, moved.body)
  // The demo set without its export rules: nothing decides the VAT of a sale to Switzerland.
  const { sources } = await readRuleSetSources(`${ROOT}rules`, `${ROOT}price-books`)
  const domesticOnly = buildRuleSet({ ...sources, rules: sources.rules.filter((f) => f.file !== 'tax/export.yaml') }).ruleSet!
  const run = await executeInvoiceRun({ ...depsOf(ctx), ruleSet: () => domesticOnly }, await newRun(ctx, '2026-12-01'))
  t.equal(run.invoices, 1, 'the French buyer is invoiced')
  t.same(run.failures, [
    { accountId: swiss, currency: 'EUR', error: 'no tax rule applies to PLAT-PRO-SEAT (tax category saas): no invoice made; its items stay due' },
  ])
  t.same(
    (await ctx.database.db.selectFrom('invoices').select('account_id').execute()).map((i) => i.account_id),
    [french],
  )
  const again = await executeInvoiceRun(depsOf(ctx), await newRun(ctx, '2026-12-01'))
  t.equal(again.invoices, 1, 'with the export rules back, the next run invoices it')
})

t.test(
  'on PostgreSQL: 16 invoice runs at once make each invoice once, numbered without gap or duplicate',
  { skip: onPostgres ? false : 'needs a real PostgreSQL: PGlite is a single connection' },
  async (t) => {
    const ctx = await buildTestApp(t)
    await billableAccounts(t, ctx, 4)
    const runs = await Promise.all(Array.from({ length: 16 }, () => newRun(ctx, '2026-12-01')))
    const results = await Promise.all(runs.map((run) => executeInvoiceRun(depsOf(ctx), run)))
    t.equal(
      results.reduce((sum, r) => sum + r.invoices, 0),
      4,
      'four invoices in all, whichever runs made them',
    )
    t.same(await invoiceNumbers(ctx), ['INV-2026-000001', 'INV-2026-000002', 'INV-2026-000003', 'INV-2026-000004'])
    const items = await sql<{ n: string }>`select count(*) as n from invoice_lines group by order_id, order_line_no, schedule_seq having count(*) > 1`.execute(
      ctx.database.db,
    )
    t.equal(items.rows.length, 0, 'no schedule item billed twice')
    const journal = await ctx.database.db.selectFrom('journal_entries').select('source_id').execute()
    t.equal(journal.length, 4, 'one journal entry per invoice')
  },
)

const EUR = (minor: bigint) => moneyOf(minor, 'EUR')

function oneTimeLine(amount: bigint, qtyMilli: bigint): OrderLine {
  return {
    lineNo: 0,
    parentLineNo: null,
    sku: 'PS-ONBOARD',
    name: 'Onboarding',
    productType: 'one_time',
    fulfilment: 'delivery',
    taxCategory: 'services',
    revenueTreatment: 'point_in_time',
    unit: 'day',
    billingPeriod: null,
    qtyMilli,
    termMonths: null,
    startDate: '2026-12-01',
    periods: 1,
    listUnitPrice: EUR(amount),
    netAmount: EUR(amount),
    contractAmount: EUR(amount),
    discountHundredths: 0n,
    ramp: null,
    fulfilled: { shipped: 0n, delivered: 0n, activated: 0n },
  }
}

t.test('property: billing a line as it is fulfilled, in any steps, bills exactly its amount, never a negative line', async () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 1_000_000_000_00n }),
      fc.bigInt({ min: 1n, max: 100_000n }),
      fc.array(fc.bigInt({ min: 1n, max: 100_000n }), { minLength: 1, maxLength: 12 }),
      (amount, qtyMilli, steps) => {
        const line = oneTimeLine(amount, qtyMilli)
        const order = { id: 'ord_1' } as Order
        const billed = new Map<string, bigint>()
        let fulfilled = 0n
        let total = 0n
        for (const step of [...steps, qtyMilli]) {
          fulfilled = fulfilled + step > qtyMilli ? qtyMilli : fulfilled + step
          const billable: BillableOrder = {
            order,
            lines: [line],
            schedule: [
              {
                lineNo: 0,
                seq: 1,
                trigger: 'fulfilment',
                milestone: null,
                periodStart: null,
                periodEnd: null,
                billOn: null,
                contractYear: null,
                prorated: false,
                amount: EUR(amount),
              },
            ],
            fulfilledBy: new Map([[0, { shipped: 0n, delivered: fulfilled, activated: 0n }]]),
            milestonesReached: new Map(),
          }
          for (const due of dueLines(billable, billed, '2026-12-31')) {
            if (due.net < 0n || due.qtyMilli <= 0n) return false
            total += due.net
            billed.set('ord_1/0/1', due.billedThroughMilli)
          }
        }
        return total === amount && amountThrough(amount, qtyMilli, qtyMilli) === amount
      },
    ),
    { numRuns: 1000 },
  )
})

t.test('property: the VAT breakdown taxes each rate once on its base, and its bases add up to the lines', async () => {
  const rates = [2000, 1000, 550, 210, 0]
  fc.assert(
    fc.property(
      fc.array(fc.record({ net: fc.bigInt({ min: 0n, max: 10_000_000_00n }), rate: fc.constantFrom(...rates) }), { minLength: 1, maxLength: 50 }),
      (lines) => {
        const breakdown = vatBreakdown(
          lines.map((l) => ({
            net: l.net,
            vatCategory: l.rate === 0 ? 'AE' : 'S',
            vatRateBp: l.rate,
            vatMention: l.rate === 0 ? 'Autoliquidation' : null,
            vatExemptionCode: null,
          })),
        )
        const bases = breakdown.reduce((s, b) => s + b.base, 0n)
        if (bases !== lines.reduce((s, l) => s + l.net, 0n)) return false
        return breakdown.every((b) => {
          const exact = b.base * BigInt(b.vatRateBp)
          // Half-up to the cent: |tax × 10,000 − base × rate| ≤ 5,000, and a tie rounds up.
          const diff = b.tax * 10_000n - exact
          return diff <= 5_000n && diff > -5_000n
        })
      },
    ),
    { numRuns: 1000 },
  )
})

t.test('an invoiced order can no longer be canceled: it is corrected by a credit note', async (t) => {
  const ctx = await buildTestApp(t)
  const s = await signedQuote(t, ctx, { lines: [{ sku: 'PS-HEALTHCHECK', quantity: 1 }] })
  const order = (await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${s.quoteId}/order`, headers: ctx.as('sales_rep') })).json()
  const run = await executeInvoiceRun(depsOf(ctx), await newRun(ctx, '2026-12-01'))
  t.equal(run.invoices, 1, 'a product billed on order is invoiced with nothing fulfilled')
  const cancel = await ctx.app.inject({
    method: 'POST',
    url: `/v1/orders/${order.id}/cancel`,
    headers: { ...ctx.as('deal_desk'), 'if-match': `"v${order.version}"` },
    payload: { reason: 'Changed our mind' },
  })
  t.equal(cancel.statusCode, 409, cancel.body)
  t.match(cancel.json(), {
    code: 'INVALID_STATE_TRANSITION',
    reason: 'invoiced',
    detail: /is invoiced; it can no longer be canceled: credit its invoices instead/,
  })
})

import t from 'tap'
import type { TestApp } from '../helpers/app.js'
import { getInvoice, invoiced, runInvoicing } from '../helpers/invoicing.js'
import { markOverdueInvoices } from '../../src/invoicing/invoice.service.js'

const minor = (amount: string) => BigInt(amount.replace('.', ''))
const decimal = (m: bigint) => `${m < 0n ? '-' : ''}${(m < 0n ? -m : m) / 100n}.${String((m < 0n ? -m : m) % 100n).padStart(2, '0')}`

let keys = 0
const post = (ctx: TestApp, url: string, payload: object, key: string | null = `k-${++keys}`, role: 'finance' | 'sales_rep' | 'admin' = 'finance') =>
  ctx.app.inject({ method: 'POST', url, headers: { ...ctx.as(role), ...(key ? { 'idempotency-key': key } : {}) }, payload })
const get = async (ctx: TestApp, url: string) => (await ctx.app.inject({ method: 'GET', url, headers: ctx.as('finance') })).json()

/** The journal's receivable (411) and customer credit (4191) for the day, and whether it balances. */
async function books(ctx: TestApp) {
  const tb = await get(ctx, '/v1/reports/trial-balance?asOf=2027-12-31')
  const eur = tb.currencies.find((c: { currency: string }) => c.currency === 'EUR')
  const balance = (code: string) => minor(eur.accounts.find((a: { code: string }) => a.code === code)?.balance ?? '0.00')
  return { receivable: balance('411'), credit: -balance('4191'), cash: balance('512'), balanced: eur.balanced as boolean }
}

t.test('a partial payment, an over-payment that becomes credit, credit applied to the next invoice, refunds: books agree to the cent', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const total = minor(invoice.total)
  const accountId = invoice.accountId

  // Partial payment, allocated explicitly.
  const partial = await post(ctx, '/v1/payments', {
    accountId,
    method: 'bank_transfer',
    amount: '1000.00',
    currency: 'EUR',
    reference: 'VIR ACME 0001',
    allocations: [{ invoiceId: invoice.id, amount: '1000.00' }],
  })
  t.equal(partial.statusCode, 201, partial.body)
  t.match(partial.json(), {
    status: 'succeeded',
    amount: '1000.00',
    toCredit: '0.00',
    allocations: [{ invoiceId: invoice.id, amount: '1000.00', source: 'payment' }],
  })
  let after = await getInvoice(ctx, invoice.id)
  t.equal(after.status, 'partially_paid')
  t.equal(after.paid, '1000.00')
  t.equal(minor(after.amountDue), total - 100000n)
  t.same(await books(ctx), { receivable: total - 100000n, credit: 0n, cash: 100000n, balanced: true })

  // Over-payment: oldest due first settles the rest, 250.00 over becomes credit.
  const rest = total - 100000n
  const over = await post(ctx, '/v1/payments', { accountId, method: 'bank_transfer', amount: decimal(rest + 25000n), currency: 'EUR' })
  t.equal(over.statusCode, 201, over.body)
  t.match(over.json(), { toCredit: '250.00', allocations: [{ invoiceId: invoice.id, amount: decimal(rest) }] })
  after = await getInvoice(ctx, invoice.id)
  t.equal(after.status, 'paid')
  t.equal(after.amountDue, '0.00')
  t.same(await get(ctx, `/v1/accounts/${accountId}/balance`), {
    accountId,
    currencies: [{ currency: 'EUR', receivable: '0.00', credit: '250.00', net: '-250.00' }],
  })

  // Next month's invoice, then the credit applied to it.
  ctx.clock.advance(31 * 24 * 3600 * 1000)
  await runInvoicing(ctx)
  const list = await get(ctx, `/v1/invoices?accountId=${accountId}`)
  t.equal(list.data.length, 2)
  const second = await getInvoice(ctx, list.data.find((i: { id: string }) => i.id !== invoice.id).id)
  t.equal(second.status, 'issued')
  const applied = await post(ctx, `/v1/accounts/${accountId}/credit-applications`, { currency: 'EUR' })
  t.equal(applied.statusCode, 201, applied.body)
  t.match(applied.json(), { allocations: [{ invoiceId: second.id, amount: '250.00' }], creditLeft: '0.00', automatic: false })
  const secondAfter = await getInvoice(ctx, second.id)
  t.equal(secondAfter.status, 'partially_paid')
  t.equal(minor(secondAfter.amountDue), minor(second.total) - 25000n)
  t.same(await books(ctx), { receivable: minor(second.total) - 25000n, credit: 0n, cash: total + 25000n, balanced: true })
  t.equal((await post(ctx, `/v1/accounts/${accountId}/credit-applications`, { currency: 'EUR' })).statusCode, 422, 'no credit left to apply')

  // A refund of the over-payment: no credit is left, so it reopens the first invoice.
  const overId = over.json().id
  const refund = await post(ctx, `/v1/payments/${overId}/refunds`, { amount: '100.00', reason: 'Paid twice by mistake' })
  t.equal(refund.statusCode, 201, refund.body)
  t.match(refund.json(), {
    refund: { amount: '100.00', fromCredit: '0.00', reopened: '100.00' },
    payment: { status: 'partially_refunded', refunded: '100.00' },
    reopened: [{ invoiceId: invoice.id, amount: '100.00' }],
  })
  after = await getInvoice(ctx, invoice.id)
  t.equal(after.amountDue, '100.00', 'the first invoice is owed again')
  t.equal(after.status, 'overdue', 'and past its due date by now')
  const tooMuch = await post(ctx, `/v1/payments/${overId}/refunds`, { amount: decimal(rest + 25000n), reason: 'More than is left' })
  t.equal(tooMuch.statusCode, 422)
  t.equal(tooMuch.json().code, 'REFUND_INVALID')
  t.match(tooMuch.json().errors, [{ pointer: '/amount', detail: /at most .* is left to refund/ }])

  // AR ageing, the account balance and the trial balance agree.
  const aging = await get(ctx, '/v1/reports/ar-aging')
  const eur = aging.currencies.find((c: { currency: string }) => c.currency === 'EUR')
  const b = await books(ctx)
  t.equal(minor(eur.totals.total), b.receivable, 'ageing total = journal receivable')
  t.equal(eur.agrees, true)
  t.equal(minor(eur.totals.total), minor(secondAfter.amountDue) + 10000n, 'the open invoices, to the cent')
  t.equal(eur.totals.days1to30, '100.00', 'the reopened first invoice is late')
  t.equal(b.cash, total + 25000n - 10000n, 'cash: what came in less what went back')
  t.equal(b.balanced, true)
  const balance = await get(ctx, `/v1/accounts/${accountId}/balance`)
  t.equal(minor(balance.currencies[0].receivable), b.receivable)

  const listed = await get(ctx, `/v1/payments?accountId=${accountId}`)
  t.same(
    listed.data.map((p: { id: string }) => p.id),
    [overId, partial.json().id],
    'newest first',
  )
  const shown = await get(ctx, `/v1/payments/${overId}`)
  t.equal(shown.refunds.length, 1)
  t.same(
    shown.allocations.map((a: { source: string; amount: string }) => [a.source, a.amount]),
    [
      ['payment', decimal(rest)],
      ['refund', '-100.00'],
    ],
  )
})

t.test('bad input is refused with every error and writes nothing; the key is required and binds its body', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const accountId = invoice.accountId
  const payment = (body: object) => ({ accountId, method: 'bank_transfer', amount: '10.00', currency: 'EUR', ...body })

  const noKey = await post(ctx, '/v1/payments', payment({}), null)
  t.equal(noKey.statusCode, 400, 'no Idempotency-Key')
  t.equal((await post(ctx, '/v1/payments', payment({}), 'k', 'sales_rep')).statusCode, 403, 'a seller records no payment')

  const cases: Array<[string, object, RegExp]> = [
    ['too many decimals', { amount: '10.001' }, /decimal/],
    ['unknown invoice', { allocations: [{ invoiceId: 'inv_nope', amount: '1.00' }] }, /has no invoice inv_nope/],
    ['another currency', { currency: 'USD', allocations: [{ invoiceId: invoice.id, amount: '1.00' }] }, /is in EUR, the payment in USD/],
    ['above the open amount', { amount: '99999.00', allocations: [{ invoiceId: invoice.id, amount: '99999.00' }] }, /at most .* is open on invoice/],
    ['allocations above the amount', { amount: '1.00', allocations: [{ invoiceId: invoice.id, amount: '2.00' }] }, /more than the 1.00 available/],
    ['a day to come', { receivedDate: '2027-06-01' }, /after today/],
    ['unknown account', { accountId: 'acc_nope' }, /no account acc_nope/],
    ['card without provider', { method: 'card' }, /payment provider/],
  ]
  for (const [what, body, detail] of cases) {
    const res = await post(ctx, '/v1/payments', payment(body))
    t.equal(res.statusCode, 422, `${what}: ${res.body}`)
    t.equal(res.json().code, 'PAYMENT_INVALID', what)
    t.match(JSON.stringify(res.json().errors), detail, what)
  }
  t.same((await get(ctx, '/v1/payments')).data, [], 'nothing was written')
  t.equal((await getInvoice(ctx, invoice.id)).paid, '0.00')
  const journal = await get(ctx, '/v1/journal?limit=100')
  t.same(
    journal.data.map((e: { sourceType: string }) => e.sourceType),
    ['invoice'],
    'no journal entry either',
  )

  const first = await post(ctx, '/v1/payments', payment({}), 'same')
  t.equal(first.statusCode, 201)
  const replay = await post(ctx, '/v1/payments', payment({}), 'same')
  t.equal(replay.statusCode, 201)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.json().id, first.json().id)
  const reused = await post(ctx, '/v1/payments', payment({ amount: '11.00' }), 'same')
  t.equal(reused.statusCode, 422)
  t.equal(reused.json().code, 'IDEMPOTENCY_KEY_REUSED')
  t.equal((await get(ctx, '/v1/payments')).data.length, 1, 'one payment')

  const refundCredit = await post(ctx, `/v1/accounts/${accountId}/credit-refunds`, { currency: 'EUR', amount: '1.00', reason: 'none to refund' })
  t.equal(refundCredit.statusCode, 422)
  t.equal(refundCredit.json().code, 'REFUND_INVALID')
})

t.test('a credit note on a paid invoice releases what was paid beyond what is owed to the customer credit, which is refunded', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const accountId = invoice.accountId
  t.equal((await post(ctx, '/v1/payments', { accountId, method: 'bank_transfer', amount: invoice.total, currency: 'EUR' })).statusCode, 201)
  t.equal((await getInvoice(ctx, invoice.id)).status, 'paid')
  const note = await post(ctx, `/v1/invoices/${invoice.id}/credit-notes`, { reason: 'Returned in full' })
  t.equal(note.statusCode, 201, note.body)
  const after = await getInvoice(ctx, invoice.id)
  t.match(after, { credited: invoice.total, paid: '0.00', amountDue: '0.00', status: 'credited' })
  t.same(await books(ctx), { receivable: 0n, credit: minor(invoice.total), cash: minor(invoice.total), balanced: true })

  const back = await post(ctx, `/v1/accounts/${accountId}/credit-refunds`, { currency: 'EUR', reason: 'Returned goods' })
  t.equal(back.statusCode, 201, back.body)
  t.match(back.json(), { refund: { amount: invoice.total, fromCredit: invoice.total, reopened: '0.00', paymentId: null }, creditLeft: '0.00' })
  t.same(await books(ctx), { receivable: 0n, credit: 0n, cash: 0n, balanced: true })
})

t.test('invoices.mark-overdue: an open invoice past its due date becomes overdue once; paid, it is paid', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const deps = { db: ctx.database.db, clock: ctx.clock }
  const pay = (amount: string) => post(ctx, '/v1/payments', { accountId: invoice.accountId, method: 'bank_transfer', amount, currency: 'EUR' })
  t.equal((await pay('100.00')).statusCode, 201)
  t.equal((await getInvoice(ctx, invoice.id)).status, 'partially_paid')
  t.equal(await markOverdueInvoices(deps, 100), 0, 'nothing is past due yet')
  ctx.clock.advance((invoice.paymentTermsDays + 1) * 24 * 3600 * 1000)
  t.equal(await markOverdueInvoices(deps, 100), 1, 'the open invoice past its due date')
  t.equal((await getInvoice(ctx, invoice.id)).status, 'overdue')
  t.equal(await markOverdueInvoices(deps, 100), 0, 'a rerun marks nothing twice')
  const events = await ctx.database.db.selectFrom('outbox_events').select(['type', 'payload']).where('aggregate_id', '=', invoice.id).orderBy('seq').execute()
  t.same(
    events.filter((e) => e.type === 'invoice.status_changed').map((e) => [(e.payload as { from: string }).from, (e.payload as { to: string }).to]),
    [
      ['issued', 'partially_paid'],
      ['partially_paid', 'overdue'],
    ],
  )
  t.equal((await pay(decimal(minor(invoice.total) - 10000n))).statusCode, 201)
  t.equal((await getInvoice(ctx, invoice.id)).status, 'paid')
})

import t, { type Test } from 'tap'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { runInvoicing } from '../helpers/invoicing.js'
import { pdfText } from '../helpers/pdf-text.js'
import { signedQuote } from '../helpers/signed-quote.js'

/**
 * Invoice drafts: a run asked with `drafts` writes what it would issue for review; issuing a
 * draft makes that invoice (number, dates, journal entry) as reviewed, discarding it puts its
 * items back to due. Seats only: nothing to fulfil, the first month due on signature.
 */

const DAY = 86_400_000

async function drafted(t: Test, ctx?: TestApp) {
  ctx ??= await buildTestApp(t)
  const s = await signedQuote(t, ctx, { lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 10, termMonths: 12 }] })
  const order = (await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${s.quoteId}/order`, headers: ctx.as('sales_rep') })).json()
  const run = await ctx.app.inject({ method: 'POST', url: '/v1/invoice-runs', headers: ctx.as('finance'), payload: { drafts: true } })
  t.equal(run.statusCode, 202, run.body)
  t.equal(run.json().drafts, true)
  await runInvoicing(ctx)
  const list = (await ctx.app.inject({ method: 'GET', url: `/v1/invoice-drafts?runId=${run.json().id}`, headers: ctx.as('finance') })).json()
  t.equal(list.data.length, 1, 'one draft: one account, seller, currency and terms')
  const res = await ctx.app.inject({ method: 'GET', url: `/v1/invoice-drafts/${list.data[0].id}`, headers: ctx.as('finance') })
  return { ctx, order, run: run.json(), draft: res.json(), etag: res.headers.etag as string }
}

const issue = (ctx: TestApp, id: string, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'POST', url: `/v1/invoice-drafts/${id}/issue`, headers: { ...ctx.as('finance'), ...headers } })
const discard = (ctx: TestApp, id: string, reason: string, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'POST', url: `/v1/invoice-drafts/${id}/discard`, headers: { ...ctx.as('finance'), ...headers }, payload: { reason } })
const invoicesOf = async (ctx: TestApp) => (await ctx.app.inject({ method: 'GET', url: '/v1/invoices', headers: ctx.as('finance') })).json().data
const journalOf = async (ctx: TestApp) => (await ctx.app.inject({ method: 'GET', url: '/v1/journal?limit=100', headers: ctx.as('finance') })).json().data

t.test('a drafting run makes drafts, not invoices: no number, nothing posted, the items held from other runs', async (t) => {
  const { ctx, order, run, draft, etag } = await drafted(t)
  t.equal(etag, '"v1"')
  t.match(draft, { status: 'draft', runId: run.id, invoiceId: null, draftedOn: '2026-12-01', currency: 'EUR', paymentTermsDays: 30 })
  t.equal(draft.lines.length, 1)
  t.match(draft.lines[0], { orderId: order.id, sku: 'PLAT-PRO-SEAT', periodStart: '2026-12-01', vat: { category: 'S', ratePercent: '20' } })
  t.equal(draft.vat[0].base, draft.net)
  t.equal(draft.total, (Number(draft.net) + Number(draft.tax)).toFixed(2), 'total = net + VAT')
  t.same(await invoicesOf(ctx), [], 'no invoice')
  t.same(await journalOf(ctx), [], 'nothing posted')
  const counters = await ctx.database.db.selectFrom('invoice_number_counters').selectAll().execute()
  t.same(counters, [], 'no number taken')
  const events = await ctx.database.db.selectFrom('outbox_events').select(['type', 'payload']).where('type', 'like', 'invoice.%').execute()
  t.same(
    events.map((e) => e.type),
    ['invoice.drafted'],
  )
  t.match(events[0]!.payload, { draftId: draft.id, total: draft.total, orderIds: [order.id] })

  const finishedRun = (await ctx.app.inject({ method: 'GET', url: `/v1/invoice-runs/${run.id}`, headers: ctx.as('finance') })).json()
  t.match(finishedRun, { status: 'succeeded', drafts: true, invoices: 1, nothingToDo: false })

  for (const drafts of [true, false]) {
    await ctx.app.inject({ method: 'POST', url: '/v1/invoice-runs', headers: ctx.as('finance'), payload: { drafts } })
    await runInvoicing(ctx)
  }
  t.same(await invoicesOf(ctx), [], 'an issuing run finds the drafted items billed')
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/invoice-drafts', headers: ctx.as('finance') })).json().data.length, 1, 'and so does a drafting one')

  const cancel = await ctx.app.inject({
    method: 'POST',
    url: `/v1/orders/${order.id}/cancel`,
    headers: { ...ctx.as('deal_desk'), 'if-match': `"v${order.version}"` },
    payload: { reason: 'Signed by mistake' },
  })
  t.equal(cancel.statusCode, 409)
  t.match(cancel.json(), { code: 'INVALID_STATE_TRANSITION', reason: 'drafted' }, 'an order on a draft is not canceled under it')

  const pdf = await ctx.app.inject({ method: 'GET', url: `/v1/invoice-drafts/${draft.id}/document.pdf`, headers: ctx.as('finance') })
  t.equal(pdf.statusCode, 200)
  const text = (await pdfText(pdf.rawPayload)).join('\n')
  for (const expected of ['Projet de facture', 'attribué à l’émission', 'ne vaut pas facture', 'Total TTC'])
    t.ok(text.includes(expected), `the draft PDF says ${expected}`)
  t.notOk(/INV-\d{4}-\d{6}/.test(text), 'and shows no invoice number')

  const other = await ctx.principal('Another rep', ['sales_rep'])
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/invoice-drafts/${draft.id}`, headers: other.headers })).statusCode, 404, 'visible as invoices are')
  t.same((await ctx.app.inject({ method: 'GET', url: '/v1/invoice-drafts', headers: other.headers })).json().data, [])
  t.equal((await issue(ctx, draft.id, { ...ctx.as('sales_rep'), 'if-match': etag })).statusCode, 403, 'a seller does not issue')
})

t.test('issuing a draft makes the invoice as reviewed, numbered and dated the day of issue, posted; once', async (t) => {
  const { ctx, draft, etag } = await drafted(t)
  ctx.clock.advance(3 * DAY)
  t.equal((await issue(ctx, draft.id)).statusCode, 428, 'If-Match is required')
  t.equal((await issue(ctx, draft.id, { 'if-match': '"v7"' })).statusCode, 412)
  const res = await issue(ctx, draft.id, { 'if-match': etag, 'idempotency-key': 'issue-1' })
  t.equal(res.statusCode, 201, res.body)
  const { draft: issuedDraft, invoice } = res.json()
  t.match(issuedDraft, { id: draft.id, status: 'issued', invoiceId: invoice.id, version: 2 })
  t.match(invoice, { number: 'INV-2026-000001', issueDate: '2026-12-04', dueDate: '2027-01-03', net: draft.net, tax: draft.tax, total: draft.total })
  t.same(
    invoice.lines.map(({ line, sku, net, periodStart, periodEnd, vat }: Record<string, unknown>) => ({ line, sku, net, periodStart, periodEnd, vat })),
    draft.lines.map(({ line, sku, net, periodStart, periodEnd, vat }: Record<string, unknown>) => ({ line, sku, net, periodStart, periodEnd, vat })),
    'the lines and their VAT as reviewed',
  )
  t.equal(invoice.ruleSetHash, draft.ruleSetHash, 'the rules that decided the VAT when drafted')
  const journal = await journalOf(ctx)
  t.equal(journal.length, 1, 'posted at issue')
  t.match(journal[0], { date: '2026-12-04', sourceType: 'invoice', sourceId: invoice.id })
  const events = await ctx.database.db.selectFrom('outbox_events').select('type').where('type', 'like', 'invoice.%').orderBy('seq').execute()
  t.same(
    events.map((e) => e.type),
    ['invoice.drafted', 'invoice.issued'],
  )
  const audit = await ctx.database.db.selectFrom('audit_log').select('after').where('action', '=', 'invoice.issued').executeTakeFirstOrThrow()
  t.match(audit.after, { draftId: draft.id, number: invoice.number })

  const replay = await issue(ctx, draft.id, { 'if-match': etag, 'idempotency-key': 'issue-1' })
  t.equal(replay.statusCode, 201)
  t.same(replay.json(), res.json(), 'the same key replays the answer')
  const again = await issue(ctx, draft.id, { 'if-match': '"v2"' })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'INVALID_STATE_TRANSITION', from: 'issued', action: 'issue' })
  t.equal((await discard(ctx, draft.id, 'Too late', { 'if-match': '"v2"' })).statusCode, 409, 'an issued draft is not discarded')
  t.equal((await invoicesOf(ctx)).length, 1, 'one invoice')
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/invoice-drafts/${draft.id}/document.pdf`, headers: ctx.as('finance') })).statusCode, 409)

  await ctx.app.inject({ method: 'POST', url: '/v1/invoice-runs', headers: ctx.as('finance'), payload: {} })
  await runInvoicing(ctx)
  t.equal((await invoicesOf(ctx)).length, 1, 'a run after the issue bills nothing more')
})

t.test('discarding a draft, with a reason, puts its items back to due: the next run bills them', async (t) => {
  const { ctx, draft, etag } = await drafted(t)
  t.equal((await discard(ctx, draft.id, 'Buyer address wrong')).statusCode, 428)
  const empty = await ctx.app.inject({
    method: 'POST',
    url: `/v1/invoice-drafts/${draft.id}/discard`,
    headers: { ...ctx.as('finance'), 'if-match': etag },
    payload: { reason: '' },
  })
  t.equal(empty.statusCode, 400, 'a reason is required')
  const res = await discard(ctx, draft.id, 'Buyer address wrong', { 'if-match': etag })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { status: 'discarded', discardReason: 'Buyer address wrong', invoiceId: null, lines: [], vat: [] })
  t.equal(res.headers.etag, '"v2"')
  t.equal((await discard(ctx, draft.id, 'Again', { 'if-match': '"v2"' })).statusCode, 409, 'once')
  t.equal((await issue(ctx, draft.id, { 'if-match': '"v2"' })).statusCode, 409, 'a discarded draft is not issued')
  const event = await ctx.database.db.selectFrom('outbox_events').select('payload').where('type', '=', 'invoice.draft_discarded').executeTakeFirstOrThrow()
  t.match(event.payload, { draftId: draft.id, reason: 'Buyer address wrong' })

  await ctx.app.inject({ method: 'POST', url: '/v1/invoice-runs', headers: ctx.as('finance'), payload: {} })
  await runInvoicing(ctx)
  const invoices = await invoicesOf(ctx)
  t.equal(invoices.length, 1, 'the items are invoiced by the next run')
  t.equal(invoices[0].total, draft.total)
  const drafts = (await ctx.app.inject({ method: 'GET', url: '/v1/invoice-drafts?status=discarded', headers: ctx.as('finance') })).json().data
  t.same(
    drafts.map((d: { id: string }) => d.id),
    [draft.id],
    'the discarded draft stays, as the record of the review',
  )
})

t.test('two finance users issue the same draft at once: one invoice, the other told', async (t) => {
  const { ctx, draft, etag } = await drafted(t)
  const answers = await Promise.all([issue(ctx, draft.id, { 'if-match': etag }), issue(ctx, draft.id, { 'if-match': etag })])
  t.same(answers.map((a) => a.statusCode).sort(), [201, 412], 'one wins; the other held a stale ETag')
  t.equal((await invoicesOf(ctx)).length, 1)
  t.equal((await journalOf(ctx)).length, 1)
})

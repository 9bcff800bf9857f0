import t, { type Test } from 'tap'
import { invoiced, invoicingDeps } from '../helpers/invoicing.js'
import { pdfEmbedded } from '../helpers/pdf-text.js'
import { syncEInvoices, TestPlatform } from '../../src/invoicing/invoice.service.js'
import { loadRuleSet } from '../../src/rules/rule-set.js'

/**
 * The exchange with a certified platform, through the shipped test platform: each invoice
 * deposited once (Factur-X and XML), retried after a failure, its lifecycle statuses on its
 * timeline once each, and a rejected invoice credited and reissued.
 */

const ROOT = new URL('../../', import.meta.url).pathname
const ruleSet = (await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)).ruleSet!
type Ctx = Awaited<ReturnType<typeof invoiced>>['ctx']

async function withPlatform(t: Test) {
  const platform = new TestPlatform()
  const { ctx, invoice } = await invoiced(t, {}, { einvoicingPlatform: platform })
  const sync = () => syncEInvoices({ ...invoicingDeps(ctx, ruleSet), platform })
  return { ctx, invoice, platform, sync }
}

const einvoicing = async (ctx: Ctx, id: string) =>
  (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${id}/einvoicing`, headers: ctx.as('sales_rep') })).json()

const outboxOf = async (ctx: Ctx, type: string) =>
  ctx.database.db.selectFrom('outbox_events').select(['payload']).where('type', '=', type).orderBy('id').execute()

t.test('an issued invoice is deposited once, as Factur-X with its XML, and shows déposée', async (t) => {
  const { ctx, invoice, platform, sync } = await withPlatform(t)
  const before = await einvoicing(ctx, invoice.id)
  t.match(before, { platform: 'test', status: 'pending', reference: null, attempts: 0, timeline: [] }, 'waiting for the sync job')
  t.same(await sync(), { deposited: 1, depositFailures: 0, statuses: 0 })
  const deposit = platform.deposits.get(invoice.number)!
  t.equal(deposit.reference, 'TP-00000001')
  t.equal(deposit.deposit.sellerSiren, '912345675')
  const xml = (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${invoice.id}/invoice.xml`, headers: ctx.as('finance') })).body
  t.equal(deposit.deposit.xml, xml, 'the invoice XML')
  t.equal((await pdfEmbedded(deposit.deposit.facturX)).files['factur-x.xml']!.toString('utf8'), xml, 'and the Factur-X that embeds it')
  const after = await einvoicing(ctx, invoice.id)
  t.match(after, { status: 'deposited', reference: 'TP-00000001', attempts: 1, lastError: null, replacedBy: null })
  t.match(after.timeline, [{ status: 'deposited', code: 200, label: 'Déposée', eventId: 'deposit:TP-00000001' }])
  t.same(await sync(), { deposited: 0, depositFailures: 0, statuses: 0 }, 'the next pass has nothing to send')
  t.equal(platform.deposits.size, 1)
  t.same(
    (await outboxOf(ctx, 'invoice.einvoicing_status')).map((e) => (e.payload as { status: string }).status),
    ['deposited'],
  )
})

t.test('a failed deposit is retried after its delay, and deposits one invoice', async (t) => {
  const { ctx, invoice, platform, sync } = await withPlatform(t)
  platform.failNextDeposits(1, 'platform unavailable (503)')
  t.same(await sync(), { deposited: 0, depositFailures: 1, statuses: 0 })
  t.match(await einvoicing(ctx, invoice.id), { status: 'pending', attempts: 1, lastError: 'platform unavailable (503)', timeline: [] })
  t.same(await sync(), { deposited: 0, depositFailures: 0, statuses: 0 }, 'not before its retry time (2 minutes)')
  ctx.clock.advance(2 * 60_000)
  t.same(await sync(), { deposited: 1, depositFailures: 0, statuses: 0 })
  t.match(await einvoicing(ctx, invoice.id), { status: 'deposited', attempts: 2, lastError: null })
  t.equal(platform.deposits.size, 1)
})

t.test('two passes at once deposit the invoice once', async (t) => {
  const { ctx, invoice, platform, sync } = await withPlatform(t)
  const results = await Promise.all([sync(), sync()])
  t.equal(results[0]!.deposited + results[1]!.deposited, 1)
  t.equal(platform.deposits.size, 1)
  t.equal((await einvoicing(ctx, invoice.id)).timeline.length, 1)
})

t.test('lifecycle statuses land on the timeline once each, in order, with their webhook event', async (t) => {
  const { ctx, invoice, platform, sync } = await withPlatform(t)
  await sync()
  platform.report(invoice.number, 'received', undefined, new Date('2026-12-01T10:00:00Z'))
  platform.report(invoice.number, 'approved', undefined, new Date('2026-12-02T10:00:00Z'))
  platform.report(invoice.number, 'collected', undefined, new Date('2026-12-20T10:00:00Z'))
  t.same(await sync(), { deposited: 0, depositFailures: 0, statuses: 3 })
  const view = await einvoicing(ctx, invoice.id)
  t.equal(view.status, 'collected')
  t.same(
    view.timeline.map((e: { status: string; code: number; label: string; occurredAt: string }) => [e.status, e.code, e.label, e.occurredAt]),
    [
      ['deposited', 200, 'Déposée', '2026-12-01T09:00:00.000Z'],
      ['received', 202, 'Reçue par la plateforme', '2026-12-01T10:00:00.000Z'],
      ['approved', 205, 'Approuvée', '2026-12-02T10:00:00.000Z'],
      ['collected', 212, 'Encaissée', '2026-12-20T10:00:00.000Z'],
    ],
  )
  t.same(await sync(), { deposited: 0, depositFailures: 0, statuses: 0 }, 'the cursor moved on')
  t.equal((await outboxOf(ctx, 'invoice.einvoicing_status')).length, 4)
  await t.rejects(ctx.database.db.updateTable('einvoice_events').set({ status: 'rejected' }).execute(), /append-only|never/, 'the timeline is never rewritten')
})

t.test('a rejected invoice is credited in full and reissued, once, by finance', async (t) => {
  const { ctx, invoice, platform, sync } = await withPlatform(t)
  await sync()
  const reissue = (role: 'finance' | 'sales_rep', key: string) =>
    ctx.app.inject({
      method: 'POST',
      url: `/v1/invoices/${invoice.id}/reissue`,
      headers: { ...ctx.as(role), 'idempotency-key': key },
      payload: { reason: 'SIREN du client corrigé' },
    })
  const early = await reissue('finance', 'early')
  t.equal(early.statusCode, 409, 'a deposited invoice is not reissued')
  t.match(early.json(), { code: 'INVALID_STATE_TRANSITION', from: 'deposited', action: 'reissue' })

  platform.report(invoice.number, 'rejected', 'BR-FR-10 : SIREN du client inconnu')
  await sync()
  t.match(await einvoicing(ctx, invoice.id), {
    status: 'rejected',
    timeline: [{ status: 'deposited' }, { status: 'rejected', code: 213, reason: 'BR-FR-10 : SIREN du client inconnu' }],
  })
  t.equal((await reissue('sales_rep', 'rep')).statusCode, 403, 'a seller may not')

  const res = await reissue('finance', 'fix-1')
  t.equal(res.statusCode, 201, res.body)
  const { creditNote, invoice: replacement } = res.json()
  t.equal(creditNote.total, invoice.total, 'the credit note cancels all of it')
  t.match(creditNote.reason, /SIREN du client corrigé \(rejetée par la plateforme\)/)
  t.equal(replacement.number, 'INV-2026-000002', 'the next number of the sequence')
  t.equal(replacement.replacesInvoiceId, invoice.id)
  t.equal(replacement.total, invoice.total, 'the same lines, the same VAT')
  t.same((await reissue('finance', 'fix-1')).json(), res.json(), 'the same key replays the answer')
  const again = await reissue('finance', 'fix-2')
  t.equal(again.statusCode, 409)
  t.match(again.json(), { reason: 'reissued', replacementId: replacement.id })

  const full = (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${replacement.id}`, headers: ctx.as('finance') })).json()
  t.same(
    full.lines.map((l: { orderId: string; scheduleSeq: number; net: string }) => [l.orderId, l.scheduleSeq, l.net]),
    invoice.lines.map((l: { orderId: string; scheduleSeq: number; net: string }) => [l.orderId, l.scheduleSeq, l.net]),
    'it bills the same schedule items',
  )
  t.match(await einvoicing(ctx, invoice.id), { replacedBy: { id: replacement.id, number: replacement.number } })
  t.match(await einvoicing(ctx, replacement.id), { status: 'pending' }, 'the replacement waits for its own deposit')
  t.same(await sync(), { deposited: 2, depositFailures: 0, statuses: 0 }, 'the credit note that cancels the original, and the replacement')
  t.same([...platform.deposits.keys()], [invoice.number, creditNote.number, replacement.number], 'the cancelling credit note before the replacement')
  t.equal(platform.deposits.get(creditNote.number)!.deposit.kind, 'credit_note')
  t.same(
    (await outboxOf(ctx, 'invoice.reissued')).map((e) => e.payload),
    [{ invoiceId: invoice.id, number: invoice.number, creditNoteId: creditNote.id, replacementId: replacement.id, replacementNumber: replacement.number }],
  )

  const balance = (await ctx.app.inject({ method: 'GET', url: '/v1/reports/trial-balance?asOf=2026-12-31', headers: ctx.as('finance') })).json()
  const eur = balance.currencies.find((c: { currency: string }) => c.currency === 'EUR')
  t.equal(eur.balanced, true)
  const receivable = eur.accounts.find((a: { code: string }) => a.code === '411')
  t.equal(receivable.balance, invoice.total, 'what is owed is the replacement alone: the original is cancelled')
})

t.test('a credit note is deposited like an invoice, as CII type 381, and its statuses kept on its own timeline', async (t) => {
  const { ctx, invoice, platform, sync } = await withPlatform(t)
  await sync()
  const issued = await ctx.app.inject({
    method: 'POST',
    url: `/v1/invoices/${invoice.id}/credit-notes`,
    headers: ctx.as('finance'),
    payload: { reason: 'Geste commercial', lines: [{ line: 1, amount: '5.00' }] },
  })
  t.equal(issued.statusCode, 201, issued.body)
  const note = issued.json()
  const onPlatform = async () => (await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${note.id}/einvoicing`, headers: ctx.as('sales_rep') })).json()
  t.match(await onPlatform(), { platform: 'test', status: 'pending', reference: null, timeline: [] })
  t.same(await sync(), { deposited: 1, depositFailures: 0, statuses: 0 })
  const deposit = platform.deposits.get(note.number)!
  t.equal(deposit.deposit.kind, 'credit_note')
  t.equal(deposit.deposit.sellerSiren, '912345675')
  const xml = (await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${note.id}/credit-note.xml`, headers: ctx.as('finance') })).body
  t.equal(deposit.deposit.xml, xml, 'the credit note XML')
  t.match(xml, /<ram:TypeCode>381<\/ram:TypeCode>/)
  t.equal((await pdfEmbedded(deposit.deposit.facturX)).files['factur-x.xml']!.toString('utf8'), xml, 'and its Factur-X')

  platform.report(note.number, 'rejected', 'Référence de facture inconnue', new Date('2026-12-01T10:00:00Z'))
  t.same(await sync(), { deposited: 0, depositFailures: 0, statuses: 1 })
  t.match(await onPlatform(), {
    status: 'rejected',
    reference: deposit.reference,
    timeline: [
      { status: 'deposited', code: 200 },
      { status: 'rejected', code: 213, reason: 'Référence de facture inconnue' },
    ],
  })
  t.match(await einvoicing(ctx, invoice.id), { status: 'deposited', timeline: [{ status: 'deposited' }] }, "the invoice's timeline is its own")
  t.same(
    (await outboxOf(ctx, 'credit_note.einvoicing_status')).map((e) => e.payload),
    [
      {
        creditNoteId: note.id,
        number: note.number,
        invoiceId: invoice.id,
        platform: 'test',
        status: 'deposited',
        code: 200,
        reason: null,
        occurredAt: '2026-12-01T09:00:00.000Z',
      },
      {
        creditNoteId: note.id,
        number: note.number,
        invoiceId: invoice.id,
        platform: 'test',
        status: 'rejected',
        code: 213,
        reason: 'Référence de facture inconnue',
        occurredAt: '2026-12-01T10:00:00.000Z',
      },
    ],
  )
  const other = await ctx.principal('Another rep', ['sales_rep'])
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${note.id}/einvoicing`, headers: other.headers })).statusCode, 404)
})

t.test('without a platform nothing is deposited, and there is nothing to reissue', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  t.same(await einvoicing(ctx, invoice.id), { platform: null, status: null, reference: null, attempts: 0, lastError: null, timeline: [], replacedBy: null })
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/invoices/${invoice.id}/reissue`,
    headers: { ...ctx.as('finance'), 'idempotency-key': 'k' },
    payload: { reason: 'x' },
  })
  t.equal(res.statusCode, 409)
  t.match(res.json(), { from: 'not_deposited' })
})

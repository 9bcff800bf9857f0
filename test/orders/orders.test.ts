import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { buildTestApp, onPostgres, type TestApp } from '../helpers/app.js'
import { verifyAudit } from '../../src/audit/audit.service.js'
import { DEMO_ACCOUNT, FORM, setBilling, signedQuote as signQuote, SIGNER, type Signed } from '../helpers/signed-quote.js'

/** A subscription, goods and services in days; no discount, so approved on submit. */
const LINES = [
  { sku: 'PLAT-PRO-SEAT', quantity: 20, termMonths: 12 },
  { sku: 'GW-200', quantity: 3 },
  { sku: 'PS-ONBOARD', quantity: 5 },
]
const ACCOUNT = DEMO_ACCOUNT

/** A quote of LINES (unless told otherwise) signed by its buyer: the shared helper. */
const signedQuote = (t: Test, ctx?: TestApp, options: Parameters<typeof signQuote>[2] = {}) => signQuote(t, ctx, { lines: LINES, ...options })

/** A helper's request that must succeed: a failure throws, failing the calling subtest. */
function ok<R extends { statusCode: number; body: string }>(res: R, expected = 200): R {
  if (res.statusCode !== expected) throw new Error(`expected ${expected}, got ${res.statusCode}: ${res.body}`)
  return res
}

async function orderOf(s: Signed, role: Parameters<TestApp['as']>[0] = 'sales_rep') {
  const list = ok(await s.ctx.app.inject({ method: 'GET', url: `/v1/orders?limit=100`, headers: s.ctx.as(role) }))
  const summary = list.json().data.find((o: { quoteId: string }) => o.quoteId === s.quoteId)
  if (!summary) return undefined
  const res = ok(await s.ctx.app.inject({ method: 'GET', url: `/v1/orders/${summary.id}`, headers: s.ctx.as(role) }))
  return { ...res.json(), etag: res.headers.etag as string }
}

const fulfil = (s: Signed, orderId: string, payload: object, headers: Record<string, string> = {}) =>
  s.ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/fulfilments`, headers: { ...s.ctx.as('deal_desk'), ...headers }, payload })

t.test('a signature creates exactly one order whose lines are the signed revision, never priced again', async (t) => {
  const s = await signedQuote(t)
  const order = await orderOf(s)
  t.ok(order, 'the rep sees the order of their quote')
  t.match(order.number, /^O-2026-\d{6}$/)
  t.equal(order.status, 'open')
  t.equal(order.revision, s.quote.currentRevision)
  t.equal(order.quoteNumber, s.quote.number)
  t.equal(order.currency, 'EUR')
  t.equal(order.paymentTermsDays, s.quote.paymentTermsDays)
  t.equal(order.sellerId, 'qtc-sas', 'the default seller entity')
  const evaluation = s.quote.revision.evaluation
  t.equal(order.ruleSetHash, evaluation.ruleSetHash)
  t.equal(order.priceBookHash, evaluation.priceBookHash)
  t.equal(order.net, evaluation.totals.net)
  t.equal(order.lines.length, evaluation.lines.length)
  for (const [i, line] of evaluation.lines.entries()) {
    const copied = order.lines[i]
    t.equal(copied.sku, line.sku, `line ${i} sku`)
    t.equal(copied.quantity, String(line.quantity), `line ${i} quantity`)
    t.equal(copied.contractAmount, line.contractAmount, `line ${i} contract amount`)
    t.equal(copied.listUnitPrice, line.listUnitPrice, `line ${i} list price`)
  }
  const bySku = Object.fromEntries(order.lines.map((l: { sku: string }) => [l.sku, l]))
  t.equal(bySku['PLAT-PRO-SEAT'].fulfilment, 'activation')
  t.equal(bySku['GW-200'].fulfilment, 'shipment')
  t.equal(bySku['PS-ONBOARD'].fulfilment, 'delivery')
  t.equal(bySku['GW-200'].taxCategory, 'goods')
  t.equal(bySku['PLAT-PRO-SEAT'].revenueTreatment, 'ratable')

  // Rendering at the edge only: the stored amounts are integers in minor units.
  const row = await s.ctx.database.db.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow()
  t.equal(typeof row.net_minor, 'bigint', 'an integer of minor units, never a float')
  t.equal(`${row.net_minor / 100n}.${(row.net_minor % 100n).toString().padStart(2, '0')}`, order.net)

  const audit = await s.ctx.database.db.selectFrom('audit_log').select(['action', 'actor_kind']).where('entity_id', '=', order.id).execute()
  t.same(
    audit.map((a) => a.action),
    ['order.created'],
  )
  t.equal(audit[0]!.actor_kind, 'buyer', "created by the buyer's signature")
  const events = await s.ctx.database.db.selectFrom('outbox_events').select(['type', 'payload']).where('aggregate_id', '=', order.id).execute()
  t.same(
    events.map((e) => e.type),
    ['order.created'],
  )
  t.match(events[0]!.payload, { number: order.number, quoteId: s.quoteId, net: order.net })
  t.ok((await verifyAudit(s.ctx.database.db)).ok, 'the chain verifies')

  // The quote is accepted once; its order is there once, whatever is retried.
  const again = await s.ctx.app.inject({
    method: 'POST',
    url: `/sign/${s.token}/sign`,
    headers: { 'content-type': FORM },
    payload: new URLSearchParams(SIGNER).toString(),
  })
  t.equal(again.statusCode, 200, 'the link answers with the signed page again, signing nothing more')
  t.match(again.body, `/sign/${s.token}/signed.pdf`, 'it offers the signed copy')
  const count = await s.ctx.database.db.selectFrom('orders').select(sql<string>`count(*)`.as('n')).where('quote_id', '=', s.quoteId).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 1, 'one order per quote')

  const ofQuote = await s.ctx.app.inject({ method: 'GET', url: `/v1/quotes/${s.quoteId}/order`, headers: s.ctx.as('sales_rep') })
  t.equal(ofQuote.statusCode, 200)
  t.equal(ofQuote.json().id, order.id)
  t.equal(ofQuote.headers.etag, order.etag)
  const accepted = await s.ctx.database.db.selectFrom('outbox_events').select('payload').where('type', '=', 'quote.accepted').executeTakeFirstOrThrow()
  t.match(accepted.payload, { quoteId: s.quoteId, orderId: order.id }, 'quote.accepted names its order')
})

async function scheduleOf(s: Signed, orderId: string) {
  const items = []
  let cursor: string | null = null
  do {
    const res: Awaited<ReturnType<typeof s.ctx.app.inject>> = ok(
      await s.ctx.app.inject({
        method: 'GET',
        url: `/v1/orders/${orderId}/billing-schedule?limit=7${cursor ? `&starting_after=${cursor}` : ''}`,
        headers: s.ctx.as('sales_rep'),
      }),
    )
    items.push(...res.json().data)
    cursor = res.json().nextCursor
  } while (cursor)
  return items as Array<{
    line: number
    seq: number
    trigger: string
    periodStart: string | null
    periodEnd: string | null
    billOn: string | null
    prorated: boolean
    amount: string
  }>
}

const minor = (amount: string) => BigInt(amount.replace('.', ''))

t.test("the seller: the account's choice, else by the quote's currency; kept from the document to the order", async (t) => {
  const ctx = await buildTestApp(t)
  const usd = await signedQuote(t, ctx, {
    account: { name: 'Northwind Inc.', country: 'US', currency: 'USD', vatId: null, billingAddress: { ...ACCOUNT.billingAddress, country: 'US' } },
    lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 20, termMonths: 12 }],
  })
  const order = await orderOf(usd)
  t.equal(order.currency, 'USD')
  t.equal(order.sellerId, 'qtc-inc', 'the entity that sells in dollars')
  const contract = await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${usd.quoteId}/contract`, headers: ctx.as('sales_rep') })
  t.equal(contract.json().sellerId, 'qtc-inc', 'the document was issued by it')

  const rep = ctx.as('sales_rep')
  const unknown = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: { ...ACCOUNT, sellerId: 'qtc-gmbh' } })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json().errors, [{ pointer: '/sellerId', detail: /no seller legal entity qtc-gmbh; one of qtc-sas, qtc-inc/ }])
  const byRep = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: { ...ACCOUNT, sellerId: 'qtc-inc' } })
  t.equal(byRep.statusCode, 403, 'a seller does not choose the seller entity')
  t.match(byRep.json().detail, /Only finance or admin may set sellerId/)
  const account = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: ACCOUNT })
  t.equal((await setBilling(ctx, account.json().id, { sellerId: 'qtc-inc' })).json().sellerId, 'qtc-inc')
  const contact = await ctx.app.inject({
    method: 'POST',
    url: `/v1/accounts/${account.json().id}/contacts`,
    headers: rep,
    payload: { name: 'Camille Durand', email: 'camille.durand@acme.example' },
  })
  const quote = await ctx.app.inject({ method: 'POST', url: '/v1/quotes', headers: rep, payload: { accountId: account.json().id, lines: LINES } })
  await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quote.json().id}/submit`, headers: rep })
  const present = await ctx.app.inject({
    method: 'POST',
    url: `/v1/quotes/${quote.json().id}/present`,
    headers: rep,
    payload: { contactId: contact.json().id },
  })
  t.equal(present.statusCode, 422, 'the chosen seller does not sell in euros')
  t.equal(present.json().code, 'SELLER_UNAVAILABLE')
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${quote.json().id}`, headers: rep })).json().status, 'approved', 'nothing changed')
})

t.test('the billing schedule: stored with the order, every line summing exactly to its contract amount', async (t) => {
  const s = await signedQuote(t, undefined, { lines: [...LINES, { sku: 'PS-HEALTHCHECK', quantity: 1 }] })
  const order = await orderOf(s)
  t.equal(order.billingAlignment, 'anniversary', "the account's default")
  const items = await scheduleOf(s, order.id)
  for (const line of order.lines) {
    const own = items.filter((i) => i.line === line.line)
    t.equal(
      own.reduce((sum, i) => sum + minor(i.amount), 0n),
      minor(line.contractAmount),
      `${line.sku}: the schedule sums to the contract amount`,
    )
  }
  const of = (sku: string) => items.filter((i) => i.line === order.lines.find((l: { sku: string }) => l.sku === sku).line)
  const seats = of('PLAT-PRO-SEAT')
  const seatLine = order.lines.find((l: { sku: string }) => l.sku === 'PLAT-PRO-SEAT')
  t.equal(seats.length, seatLine.periods, 'one item per billing period')
  t.same(
    seats.slice(0, 2).map((i) => [i.trigger, i.periodStart, i.periodEnd, i.billOn, i.amount]),
    [
      ['period', '2026-12-01', '2026-12-31', '2026-12-01', seatLine.netAmount],
      ['period', '2027-01-01', '2027-01-31', '2027-01-01', seatLine.netAmount],
    ],
    'monthly in advance from the service start',
  )
  t.same(
    of('GW-200').map((i) => [i.trigger, i.billOn]),
    [['fulfilment', null]],
    'goods: as shipped',
  )
  t.same(
    of('PS-ONBOARD').map((i) => [i.trigger, i.billOn]),
    [['fulfilment', null]],
    'days of service: as delivered',
  )
  t.same(
    of('PS-HEALTHCHECK').map((i) => [i.trigger, i.billOn]),
    [['order', '2026-12-01']],
    'a product billed on order (billOn: order in the catalog)',
  )
  await t.rejects(sql`update billing_schedule_items set amount_minor = 0`.execute(s.ctx.database.db), /append-only/)
  const bad = await s.ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}/billing-schedule?starting_after=x`, headers: s.ctx.as('sales_rep') })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().errors, [{ pointer: '/starting_after', detail: /billing-schedule cursor/ }])
  const other = await s.ctx.principal('Another rep', ['sales_rep'])
  t.equal((await s.ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}/billing-schedule`, headers: other.headers })).statusCode, 404)
})

t.test('an account billed on calendar months: a prorated first period, then the 1st of each month', async (t) => {
  const s = await signedQuote(t, undefined, {
    account: { billingAlignment: 'calendar' },
    lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 20, termMonths: 12, startDate: '2026-12-15' }],
  })
  const order = await orderOf(s)
  t.equal(order.billingAlignment, 'calendar')
  const seatLine = order.lines.find((l: { sku: string }) => l.sku === 'PLAT-PRO-SEAT')
  const items = (await scheduleOf(s, order.id)).filter((i) => i.line === seatLine.line)
  t.equal(items.length, 13)
  const monthly = minor(seatLine.netAmount)
  t.same(
    [items[0]!.periodStart, items[0]!.periodEnd, items[0]!.prorated, minor(items[0]!.amount)],
    ['2026-12-15', '2026-12-31', true, (monthly * 17n * 2n + 31n) / 62n],
    '17 of 31 days',
  )
  t.same(
    items.slice(1, 12).map((i) => [i.periodStart!.slice(8), minor(i.amount)]),
    Array.from({ length: 11 }, () => ['01', monthly]),
  )
  t.same([items[12]!.periodStart, items[12]!.periodEnd], ['2027-12-01', '2027-12-14'])
  t.equal(
    items.reduce((sum, i) => sum + minor(i.amount), 0n),
    minor(seatLine.contractAmount),
  )

  // Changing the account later does not move the periods of an order already scheduled.
  const account = await s.ctx.app.inject({ method: 'GET', url: `/v1/accounts/${order.accountId}`, headers: s.ctx.as('sales_rep') })
  t.equal(account.json().billingAlignment, 'calendar')
  const byRep = await s.ctx.app.inject({
    method: 'PATCH',
    url: `/v1/accounts/${order.accountId}`,
    headers: { ...s.ctx.as('sales_rep'), 'if-match': account.headers.etag as string },
    payload: { billingAlignment: 'anniversary' },
  })
  t.equal(byRep.statusCode, 403, "how an account is billed is finance's")
  t.match(byRep.json().detail, /Only finance or admin may set billingAlignment/)
  const changed = await setBilling(s.ctx, order.accountId, { billingAlignment: 'anniversary' })
  t.equal(changed.json().billingAlignment, 'anniversary')
  t.equal((await orderOf(s)).billingAlignment, 'calendar')
})

t.test('a quote whose billing schedules would exceed the bound is refused when stored, not when signed', async (t) => {
  const ctx = await buildTestApp(t)
  const rep = ctx.as('sales_rep')
  const account = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: ACCOUNT })
  // 850 monthly lines over 10 years: 850 × (120 periods + 1 part period + 9 ramp cuts) > 100,000.
  const lines = Array.from({ length: 850 }, () => ({ sku: 'PLAT-PRO-SEAT', quantity: 1, termMonths: 120 }))
  const quote = await ctx.app.inject({ method: 'POST', url: '/v1/quotes', headers: rep, payload: { accountId: account.json().id, lines } })
  t.equal(quote.statusCode, 422, quote.body.slice(0, 300))
  t.equal(quote.json().code, 'CART_INVALID')
  t.match(quote.json().errors, [{ pointer: '/lines', detail: /would hold up to \d+ items; a quote may have at most 100000/ }])
  const stored = await ctx.database.db.selectFrom('quotes').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()
  t.equal(Number(stored.n), 0, 'nothing stored')
})

t.test('fulfilment: partial, never more than ordered, the right kind, whole units for goods; complete when the last line is', async (t) => {
  const s = await signedQuote(t)
  const order = await orderOf(s)
  const line = (sku: string) => order.lines.find((l: { sku: string }) => l.sku === sku).line as number
  const [seats, gateways, days] = [line('PLAT-PRO-SEAT'), line('GW-200'), line('PS-ONBOARD')]

  const rep = await s.ctx.app.inject({
    method: 'POST',
    url: `/v1/orders/${order.id}/fulfilments`,
    headers: s.ctx.as('sales_rep'),
    payload: { lines: [{ line: seats, kind: 'activated', quantity: 20 }] },
  })
  t.equal(rep.statusCode, 403, 'a seller does not record fulfilments')

  const over = await fulfil(s, order.id, { lines: [{ line: gateways, kind: 'shipped', quantity: 4 }] })
  t.equal(over.statusCode, 422)
  t.match(over.json().errors, [{ pointer: '/lines/0/quantity', detail: /exceed the 3 ordered/ }])
  const wrongKind = await fulfil(s, order.id, { lines: [{ line: seats, kind: 'shipped', quantity: 1 }] })
  t.equal(wrongKind.statusCode, 422)
  t.match(wrongKind.json().errors, [{ pointer: '/lines/0/kind', detail: /activation/ }])
  const beforeShipped = await fulfil(s, order.id, { lines: [{ line: gateways, kind: 'delivered', quantity: 1 }] })
  t.equal(beforeShipped.statusCode, 422)
  t.match(beforeShipped.json().errors, [{ detail: /delivered but only 0 shipped/ }])
  const fractional = await fulfil(s, order.id, { lines: [{ line: gateways, kind: 'shipped', quantity: 1.5 }] })
  t.equal(fractional.statusCode, 422)
  t.match(fractional.json().errors, [{ detail: /whole units/ }])
  const unknown = await fulfil(s, order.id, { lines: [{ line: 99, kind: 'shipped', quantity: 1 }] })
  t.equal(unknown.statusCode, 422)
  const future = await fulfil(s, order.id, { occurredOn: '2027-01-01', lines: [{ line: gateways, kind: 'shipped', quantity: 1 }] })
  t.equal(future.statusCode, 422)
  t.match(future.json().errors, [{ pointer: '/occurredOn' }])
  const fulfilments = await s.ctx.database.db.selectFrom('fulfilments').selectAll().execute()
  t.equal(fulfilments.length, 0, 'refused fulfilments write nothing')

  const shipment = {
    occurredOn: '2026-11-30',
    reference: 'DHL 1234567890',
    lines: [
      { line: gateways, kind: 'shipped', quantity: 2 },
      { line: days, kind: 'delivered', quantity: 2.5 },
    ],
  }
  const first = await fulfil(s, order.id, shipment, { 'idempotency-key': 'ship-1' })
  t.equal(first.statusCode, 201, first.body)
  t.equal(first.json().order.status, 'open')
  const after = Object.fromEntries(first.json().order.lines.map((l: { sku: string }) => [l.sku, l]))
  t.same(after['GW-200'].fulfilled, { shipped: '2', delivered: '0', activated: '0' })
  t.same(after['PS-ONBOARD'].fulfilled, { shipped: '0', delivered: '2.5', activated: '0' })
  t.equal(after['PS-ONBOARD'].complete, false)

  const replay = await fulfil(s, order.id, shipment, { 'idempotency-key': 'ship-1' })
  t.equal(replay.statusCode, 201)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.json().fulfilment.id, first.json().fulfilment.id, 'the same fulfilment, recorded once')

  const stillOver = await fulfil(s, order.id, { lines: [{ line: gateways, kind: 'shipped', quantity: 2 }] })
  t.equal(stillOver.statusCode, 422, 'over every fulfilment so far')
  t.match(stillOver.json().errors, [{ detail: /2 so far/ }])

  // The rest of every line, the rule-added mounting kit included: each kind of its mode, up to what was ordered.
  const current = first.json().order.lines as Array<{ line: number; quantity: string; fulfilment: string; fulfilled: Record<string, string> }>
  const KINDS: Record<string, string[]> = { shipment: ['shipped', 'delivered'], delivery: ['delivered'], activation: ['activated'] }
  const remaining = current.flatMap((l) =>
    KINDS[l.fulfilment]!.map((kind) => ({ line: l.line, kind, quantity: Number(l.quantity) - Number(l.fulfilled[kind]) })).filter((e) => e.quantity > 0),
  )
  t.ok(current.length >= 3 && remaining.length >= 4)
  const rest = await fulfil(s, order.id, { lines: remaining })
  t.equal(rest.statusCode, 201, rest.body)
  t.equal(rest.json().order.status, 'fulfilled', 'the last line fulfilled completes the order')
  t.ok(rest.json().order.lines.every((l: { complete: boolean }) => l.complete))

  const closed = await fulfil(s, order.id, { lines: [{ line: gateways, kind: 'shipped', quantity: 1 }] })
  t.equal(closed.statusCode, 409)

  const listed = await s.ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}/fulfilments`, headers: s.ctx.as('sales_rep') })
  t.equal(listed.json().data.length, 2)
  t.equal(listed.json().data[0].reference, 'DHL 1234567890')
  const firstPage = await s.ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}/fulfilments?limit=1`, headers: s.ctx.as('sales_rep') })
  t.same([firstPage.json().data.length, firstPage.json().hasMore, firstPage.json().nextCursor], [1, true, first.json().fulfilment.id])
  const secondPage = await s.ctx.app.inject({
    method: 'GET',
    url: `/v1/orders/${order.id}/fulfilments?limit=1&starting_after=${firstPage.json().nextCursor}`,
    headers: s.ctx.as('sales_rep'),
  })
  t.same([secondPage.json().data[0].id, secondPage.json().hasMore], [rest.json().fulfilment.id, false])
  const events = await s.ctx.database.db.selectFrom('outbox_events').select('type').where('aggregate_id', '=', order.id).orderBy('seq').execute()
  t.same(
    events.map((e) => e.type),
    ['order.created', 'order.fulfilment_recorded', 'order.fulfilment_recorded', 'order.fulfilled'],
  )
  const filtered = await s.ctx.app.inject({ method: 'GET', url: '/v1/orders?status=fulfilled', headers: s.ctx.as('finance') })
  t.same(
    filtered.json().data.map((o: { id: string }) => o.id),
    [order.id],
  )
})

t.test('cancel: with If-Match and a reason, only while nothing was fulfilled', async (t) => {
  const ctx = await buildTestApp(t)
  const a = await signedQuote(t, ctx)
  const b = await signedQuote(t, ctx)
  const first = await orderOf(a)
  const second = await orderOf(b)
  const cancel = (order: { id: string }, headers: Record<string, string>, reason = 'Customer withdrew before delivery') =>
    ctx.app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: { ...ctx.as('deal_desk'), ...headers }, payload: { reason } })

  t.equal((await cancel(first, {})).statusCode, 428, 'If-Match required')
  t.equal((await cancel(first, { 'if-match': '"v99"' })).statusCode, 412)
  const canceled = await cancel(first, { 'if-match': first.etag })
  t.equal(canceled.statusCode, 200, canceled.body)
  t.equal(canceled.json().status, 'canceled')
  t.equal(canceled.json().cancelReason, 'Customer withdrew before delivery')
  t.equal(
    (await fulfil(a, first.id, { lines: [{ line: first.lines[0].line, kind: 'activated', quantity: 1 }] })).statusCode,
    409,
    'nothing is fulfilled on a canceled order',
  )

  const shipped = await fulfil(b, second.id, {
    lines: [{ line: second.lines.find((l: { sku: string }) => l.sku === 'GW-200').line, kind: 'shipped', quantity: 1 }],
  })
  t.equal(shipped.statusCode, 201)
  const refused = await cancel(second, { 'if-match': `"v${shipped.json().order.version}"` })
  t.equal(refused.statusCode, 409)
  t.match(refused.json().detail, /fulfilments recorded/)
  t.equal((await orderOf(b)).status, 'open', 'nothing changed')
})

t.test('orders are seen as their quotes are: the owner, their manager, the reviewers; 404 for others', async (t) => {
  const s = await signedQuote(t)
  const order = await orderOf(s)
  const other = await s.ctx.principal('Another rep', ['sales_rep'])
  const read = await s.ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers: other.headers })
  t.equal(read.statusCode, 404)
  const list = await s.ctx.app.inject({ method: 'GET', url: '/v1/orders', headers: other.headers })
  t.same(list.json().data, [])
  const fulfilments = await s.ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}/fulfilments`, headers: other.headers })
  t.equal(fulfilments.statusCode, 404)
  t.ok(await orderOf(s, 'finance'), 'finance sees every order')
  const analyst = await s.ctx.app.inject({ method: 'GET', url: '/v1/orders', headers: s.ctx.as('pricing_analyst') })
  t.equal(analyst.statusCode, 403)
  const bad = await s.ctx.app.inject({ method: 'GET', url: '/v1/orders?limit=1000', headers: s.ctx.as('finance') })
  t.equal(bad.statusCode, 400)
})

t.test('fulfilments and their lines are append-only in the database', async (t) => {
  const s = await signedQuote(t)
  const order = await orderOf(s)
  const res = await fulfil(s, order.id, { lines: [{ line: order.lines[0].line, kind: 'activated', quantity: 1 }] })
  t.equal(res.statusCode, 201, res.body)
  await t.rejects(sql`update fulfilments set reference = 'changed'`.execute(s.ctx.database.db), /append-only/)
  await t.rejects(sql`delete from fulfilment_lines`.execute(s.ctx.database.db), /append-only/)
  await t.rejects(
    sql`update order_lines set activated_milli = qty_milli + 1000 where order_id = ${order.id}`.execute(s.ctx.database.db),
    /check/,
    'the table refuses more than ordered',
  )
})

t.test(
  'concurrent fulfilments never exceed what was ordered',
  { skip: onPostgres ? false : 'needs a real PostgreSQL: PGlite is a single connection' },
  async (t) => {
    const s = await signedQuote(t)
    const order = await orderOf(s)
    const gateways = order.lines.find((l: { sku: string }) => l.sku === 'GW-200').line
    const results = await Promise.all(Array.from({ length: 8 }, () => fulfil(s, order.id, { lines: [{ line: gateways, kind: 'shipped', quantity: 1 }] })))
    const codes = results.map((r) => r.statusCode).sort()
    t.same(codes, [201, 201, 201, 422, 422, 422, 422, 422], 'three shipped, five refused')
    const after = await orderOf(s)
    t.equal(after.lines.find((l: { sku: string }) => l.sku === 'GW-200').fulfilled.shipped, '3')
  },
)

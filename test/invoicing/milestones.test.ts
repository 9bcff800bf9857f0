import fc from 'fast-check'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { runInvoicing } from '../helpers/invoicing.js'
import { signedQuote } from '../helpers/signed-quote.js'
import { moneyOf } from '../../src/money/money-value.js'
import { lineSchedule } from '../../src/orders/billing-schedule.js'
import type { OrderLine } from '../../src/orders/order.js'

/** A fixed-price project billed on milestones: 30 % at kick-off, 30 % at design sign-off, 40 % at go-live. */

t.test('a project is invoiced milestone by milestone, each share once, the shares adding up to the signed amount', async (t) => {
  const ctx = await buildTestApp(t)
  const s = await signedQuote(t, ctx, {
    lines: [
      { sku: 'PLAT-PRO-SEAT', quantity: 10, termMonths: 12 },
      { sku: 'PS-PROJECT', quantity: 1 },
    ],
  })
  const order = (await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${s.quoteId}/order`, headers: ctx.as('sales_rep') })).json()
  const project = order.lines.find((l: { sku: string }) => l.sku === 'PS-PROJECT')
  const schedule = (await ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}/billing-schedule?limit=100`, headers: ctx.as('sales_rep') })).json()
  const items = schedule.data.filter((i: { line: number }) => i.line === project.line)
  t.same(
    items.map((i: { trigger: string; billOn: null; milestone: { id: string; percent: string; reachedOn: null } }) => [
      i.trigger,
      i.billOn,
      i.milestone.id,
      i.milestone.percent,
      i.milestone.reachedOn,
    ]),
    [
      ['milestone', null, 'kickoff', '30', null],
      ['milestone', null, 'design-signoff', '30', null],
      ['milestone', null, 'go-live', '40', null],
    ],
  )
  const cents = (amount: string) => BigInt(amount.replace('.', ''))
  t.equal(
    items.reduce((sum: bigint, i: { amount: string }) => sum + cents(i.amount), 0n),
    cents(project.contractAmount),
    'the schedule sums to the line',
  )

  const reach = (body: object, role: 'deal_desk' | 'sales_rep' = 'deal_desk') =>
    ctx.app.inject({ method: 'POST', url: `/v1/orders/${order.id}/milestones`, headers: ctx.as(role), payload: body })
  t.equal((await reach({ line: project.line, milestone: 'kickoff' }, 'sales_rep')).statusCode, 403, 'a seller does not record delivery')
  const unknown = await reach({ line: project.line, milestone: 'handover' })
  t.equal(unknown.statusCode, 422)
  t.match(unknown.json(), { code: 'FULFILMENT_INVALID', errors: [{ pointer: '/milestone', detail: 'one of kickoff, design-signoff, go-live' }] })
  const notMilestones = order.lines.find((l: { sku: string }) => l.sku === 'PLAT-PRO-SEAT')
  t.match((await reach({ line: notMilestones.line, milestone: 'kickoff' })).json(), { code: 'FULFILMENT_INVALID', errors: [{ pointer: '/line' }] })
  t.match(
    (await reach({ line: project.line, milestone: 'kickoff', reachedOn: '2026-12-02' })).json(),
    { errors: [{ pointer: '/reachedOn' }] },
    'not in the future',
  )

  const kickoff = await reach({ line: project.line, milestone: 'kickoff', note: 'Kick-off minutes signed' })
  t.equal(kickoff.statusCode, 201, kickoff.body)
  t.match(kickoff.json(), {
    line: project.line,
    milestone: { id: 'kickoff', name: 'Kick-off', percent: '30' },
    reachedOn: '2026-12-01',
    amount: items[0].amount,
  })
  const twice = await reach({ line: project.line, milestone: 'kickoff' })
  t.equal(twice.statusCode, 409)
  t.match(twice.json(), { code: 'INVALID_STATE_TRANSITION', reason: 'reached' })

  await runInvoicing(ctx)
  const invoices = async () => {
    const list = (await ctx.app.inject({ method: 'GET', url: '/v1/invoices', headers: ctx.as('finance') })).json()
    return Promise.all(
      list.data.map(async (i: { id: string }) => (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${i.id}`, headers: ctx.as('finance') })).json()),
    )
  }
  const projectLines = async () =>
    (await invoices()).flatMap((i) =>
      i.lines.filter((l: { sku: string }) => l.sku === 'PS-PROJECT').map((l: { description: string; net: string }) => [l.description, l.net]),
    )
  t.same(await projectLines(), [['Fixed-price implementation project: Kick-off (30 %)', items[0].amount]], 'the first share only')
  await runInvoicing(ctx)
  t.same((await projectLines()).length, 1, 'billed once')

  t.equal((await reach({ line: project.line, milestone: 'go-live' })).statusCode, 201, 'milestones need not come in order')
  t.equal((await reach({ line: project.line, milestone: 'design-signoff' })).statusCode, 201)
  ctx.clock.advance(24 * 3600_000)
  await runInvoicing(ctx)
  const billed = await projectLines()
  t.same(
    billed.map(([description]) => description),
    [
      'Fixed-price implementation project: Kick-off (30 %)',
      'Fixed-price implementation project: Design sign-off (30 %)',
      'Fixed-price implementation project: Go-live (40 %)',
    ],
  )
  t.equal(
    billed.reduce((sum, [, net]) => sum + cents(net), 0n),
    cents(project.contractAmount),
    'the invoices bill the signed amount, to the cent',
  )
  const after = (await ctx.app.inject({ method: 'GET', url: `/v1/orders/${order.id}/billing-schedule?limit=100`, headers: ctx.as('sales_rep') })).json()
  t.same(
    after.data.filter((i: { line: number }) => i.line === project.line).map((i: { milestone: { reachedOn: string } }) => i.milestone.reachedOn),
    ['2026-12-01', '2026-12-01', '2026-12-01'],
  )
})

t.test('property: milestone shares always add up to the line, the last one taking the rounding', async (t) => {
  const line = (minor: bigint) => ({ lineNo: 1, productType: 'one_time', contractAmount: moneyOf(minor, 'EUR') }) as unknown as OrderLine
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: 10n ** 13n }), fc.array(fc.integer({ min: 1, max: 9_000 }), { minLength: 1, maxLength: 10 }), (amount, shares) => {
      const total = shares.reduce((a, b) => a + b, 0)
      if (total >= 10_000) return true
      const hundredths = [...shares, 10_000 - total]
      const milestones = hundredths.map((h, i) => ({ id: `m${i}`, name: `M${i}`, percent: `${Math.floor(h / 100)}.${String(h % 100).padStart(2, '0')}` }))
      const items = lineSchedule(line(amount), { orderedOn: '2026-12-01', alignment: 'anniversary', oneTime: 'milestones', milestones })
      const sum = items.reduce((s, i) => s + i.amount.minor, 0n)
      const floors = items.slice(0, -1).every((item, i) => item.amount.minor === (amount * BigInt(hundredths[i]!)) / 10_000n)
      return sum === amount && floors && items.every((i) => i.amount.minor >= 0n && i.trigger === 'milestone' && i.billOn === null)
    }),
    { numRuns: 2_000 },
  )
  t.pass('2,000 random lines and shares')
})

import t from 'tap'
import { newId } from '../../src/shared/ids.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'

/**
 * GET /v1/approvals?assignee=me is a cursor-paginated list like every other: `limit`
 * (default 50, at most 100) and `starting_after`, answering { data, hasMore, nextCursor },
 * oldest step first. Steps the caller may not decide are skipped without shortening a page.
 */

type Headers = { authorization: string }
interface QueuePage {
  data: Array<{ step: { id: string; quoteId: string; status: string }; quote: { id: string } }>
  hasMore: boolean
  nextCursor: string | null
}

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const ctx = await buildTestApp(t)
  const account = async (headers: Headers) => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers,
      payload: {
        name: 'Queue Client SARL',
        billingAddress: { line1: '1 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
        country: 'FR',
        currency: 'EUR',
        segment: 'mid_market',
      },
    })
    if (res.statusCode !== 201) throw new Error(res.body)
    return res.json().id as string
  }
  const accounts = { sales_rep: await account(ctx.as('sales_rep')), sales_manager: await account(ctx.as('sales_manager')) }
  /** A submitted quote whose only open step is the sales manager's (a 15 % discount). */
  const submitted = async (by: 'sales_rep' | 'sales_manager') => {
    const created = await ctx.app.inject({
      method: 'POST',
      url: '/v1/quotes',
      headers: ctx.as(by),
      payload: { accountId: accounts[by], lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 50, termMonths: 12, manualDiscountPercent: '15' }] },
    })
    if (created.statusCode !== 201) throw new Error(created.body)
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${created.json().id}/submit`, headers: ctx.as(by) })
    if (res.statusCode !== 200) throw new Error(res.body)
    const quote = res.json() as { id: string; currentRevision: number; approval: { steps: Array<{ id: string; role: string; status: string }> } }
    ctx.clock.advance(1000)
    return { id: quote.id, revision: quote.currentRevision, step: quote.approval.steps.find((s) => s.role === 'sales_manager' && s.status === 'pending')! }
  }
  const queue = async (query: string): Promise<QueuePage> => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/approvals?assignee=me${query}`, headers: ctx.as('sales_manager') })
    if (res.statusCode !== 200) throw new Error(res.body)
    return res.json()
  }
  return { ctx, submitted, queue }
}

t.test('pages through the queue with limit and starting_after, oldest first', async (t) => {
  const { ctx, submitted, queue } = await setup(t)
  const a = await submitted('sales_rep')
  const own = await submitted('sales_manager') // the manager's own quote: never in their queue
  const b = await submitted('sales_rep')
  const c = await submitted('sales_rep')
  const d = await submitted('sales_rep')
  const e = await submitted('sales_rep')

  const all = await queue('&limit=100')
  t.same(
    all.data.map((i) => i.quote.id),
    [a, b, c, d, e].map((q) => q.id),
    'every step the manager may decide, oldest first',
  )
  t.notOk(
    all.data.some((i) => i.quote.id === own.id),
    'not their own quote',
  )
  t.same([all.hasMore, all.nextCursor], [false, null])

  const p1 = await queue('&limit=2')
  t.same(
    p1.data.map((i) => i.step.id),
    [a.step.id, b.step.id],
  )
  t.same([p1.hasMore, p1.nextCursor], [true, b.step.id], 'the cursor is the last step id')
  const p2 = await queue(`&limit=2&starting_after=${p1.nextCursor}`)
  t.same(
    p2.data.map((i) => i.step.id),
    [c.step.id, d.step.id],
  )
  t.same([p2.hasMore, p2.nextCursor], [true, d.step.id])
  const p3 = await queue(`&limit=2&starting_after=${p2.nextCursor}`)
  t.same(
    p3.data.map((i) => i.step.id),
    [e.step.id],
  )
  t.same([p3.hasMore, p3.nextCursor], [false, null], 'the last page says so')
  const noAssignee = await ctx.app.inject({ method: 'GET', url: `/v1/approvals?limit=2&starting_after=${p2.nextCursor}`, headers: ctx.as('sales_manager') })
  t.same(
    noAssignee.json().data.map((i: { step: { id: string } }) => i.step.id),
    [e.step.id],
    'assignee defaults to me',
  )

  // A cursor whose step was decided since still resumes after it.
  const decided = await ctx.app.inject({ method: 'POST', url: `/v1/approvals/${b.step.id}/approve`, headers: ctx.as('sales_manager'), payload: {} })
  t.equal(decided.statusCode, 200, decided.body)
  t.same(
    (await queue(`&limit=2&starting_after=${b.step.id}`)).data.map((i) => i.step.id),
    [c.step.id, d.step.id],
  )
  t.same(
    (await queue('&limit=2')).data.map((i) => i.step.id),
    [a.step.id, c.step.id],
    'a decided step leaves the queue',
  )
})

t.test('bad paging parameters: 400 VALIDATION_FAILED', async (t) => {
  const { ctx } = await setup(t)
  const get = (query: string) => ctx.app.inject({ method: 'GET', url: `/v1/approvals?assignee=me${query}`, headers: ctx.as('sales_manager') })
  const unknown = await get('&starting_after=aps_nothing')
  t.same(
    [unknown.statusCode, unknown.json().code, unknown.json().errors],
    [400, 'VALIDATION_FAILED', [{ pointer: '/starting_after', in: 'querystring', detail: 'must be the nextCursor of a previous page' }]],
  )
  for (const limit of ['0', '101', 'ten']) {
    const res = await get(`&limit=${limit}`)
    t.same([res.statusCode, res.json().code], [400, 'VALIDATION_FAILED'], `limit=${limit}`)
  }
  t.equal((await get('&starting_after=' + 'x'.repeat(65))).statusCode, 400, 'a cursor is at most 64 characters')
  t.equal((await get('&limit=100')).statusCode, 200, 'limit=100 is the largest page')
})

/**
 * Adds `count` pending sales-manager steps to `quote`, each in a request of its own (a
 * request holds one step per level and role), created at `at`: volume without pricing
 * `count` quotes. The requests are withdrawn so the quote keeps its one live request.
 */
async function addPendingSteps(ctx: TestApp, quote: { id: string; revision: number }, createdBy: string, count: number, at: Date) {
  // The same subject (number, owner, who may not decide, net total) as the quote's own request.
  const { subject } = await ctx.database.db.selectFrom('approval_requests').select('subject').where('quote_id', '=', quote.id).executeTakeFirstOrThrow()
  const requests = Array.from({ length: count }, () => ({
    subject: JSON.stringify(subject),
    id: newId('apr'),
    quote_id: quote.id,
    revision: quote.revision,
    status: 'withdrawn',
    created_by: createdBy,
    created_at: at,
    decided_at: at,
  }))
  await ctx.database.db.insertInto('approval_requests').values(requests).execute()
  await ctx.database.db
    .insertInto('approval_steps')
    .values(
      requests.map((r) => ({
        id: newId('aps'),
        request_id: r.id,
        quote_id: quote.id,
        level: 1,
        role: 'sales_manager',
        mode: 'any',
        reasons: JSON.stringify([{ ruleId: 'appr.discount-over-10-sales-manager', reason: 'Line discount above 10 %.' }]),
        status: 'pending',
        bound_facts: JSON.stringify({ facts: {}, upTo: {} }),
        fingerprint_hash: 'f'.repeat(64),
        created_at: at,
      })),
    )
    .execute()
}

t.test('the default page holds 50 steps; steps the caller may not decide do not shorten a page', async (t) => {
  const { ctx, submitted, queue } = await setup(t)
  const theirs = await submitted('sales_rep')
  const own = await submitted('sales_manager')
  // 101 older steps the manager may not decide (their own quote) come first: more than one
  // read of the database, all skipped. Then 50 more they may decide: 51 with the first.
  await addPendingSteps(ctx, own, ctx.principalIds.sales_manager, 101, new Date('2026-11-01T00:00:00Z'))
  await addPendingSteps(ctx, theirs, ctx.principalIds.sales_rep, 50, new Date('2026-11-02T00:00:00Z'))

  const first = await queue('')
  t.equal(first.data.length, 50, 'default limit: 50')
  t.equal(first.hasMore, true)
  t.ok(
    first.data.every((i) => i.quote.id === theirs.id),
    'only steps the manager may decide',
  )
  const second = await queue(`&starting_after=${first.nextCursor}`)
  t.same(
    second.data.map((i) => i.step.id),
    [theirs.step.id],
    'the newest step, last',
  )
  t.same([second.hasMore, second.nextCursor], [false, null])
  t.same(new Set([...first.data, ...second.data].map((i) => i.step.id)).size, 51, 'no step twice')
})

t.test('GET /v1/delegations is not paged: the latest 100 the caller gave or received, newest first', async (t) => {
  const ctx = await buildTestApp(t)
  const start = new Date('2026-11-01T00:00:00Z').getTime()
  const rows = Array.from({ length: 101 }, (_, i) => ({
    id: newId('dlg'),
    delegator_id: ctx.principalIds.deal_desk,
    delegate_id: ctx.principalIds.finance,
    starts_on: '2026-12-01',
    ends_on: '2026-12-02',
    created_at: new Date(start + i * 60_000),
  }))
  await ctx.database.db.insertInto('delegations').values(rows).execute()
  const res = await ctx.app.inject({ method: 'GET', url: '/v1/delegations', headers: ctx.as('finance') })
  t.equal(res.statusCode, 200)
  const ids = res.json().data.map((d: { id: string }) => d.id)
  t.equal(ids.length, 100)
  t.same(
    ids,
    rows
      .slice(1)
      .reverse()
      .map((r) => r.id),
    'the oldest is left out',
  )
  t.same(res.json().data[0], {
    id: rows[100]!.id,
    delegatorId: ctx.principalIds.deal_desk,
    delegateId: ctx.principalIds.finance,
    startsOn: '2026-12-01',
    endsOn: '2026-12-02',
    createdAt: '2026-11-01T01:40:00.000Z',
    revokedAt: null,
  })
})

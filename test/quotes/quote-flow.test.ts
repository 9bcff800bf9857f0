import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { buildTestApp, onPostgres, type TestApp } from '../helpers/app.js'
import { createPrincipal } from '../../src/principals/principal.service.js'

const ACCOUNT = {
  name: 'Acme Industrie SA',
  billingAddress: { line1: '12 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  vatId: 'FR11123456782',
  segment: 'enterprise',
}
const seats = (discount: string) => [{ sku: 'PLAT-PRO-SEAT', quantity: 50, termMonths: 12, manualDiscountPercent: discount }]

async function setup(t: Test) {
  const ctx = await buildTestApp(t)
  // The rep reports to the sales manager: only that manager approves the rep's manager steps.
  await ctx.database.db.updateTable('principals').set({ manager_id: ctx.principalIds.sales_manager }).where('id', '=', ctx.principalIds.sales_rep).execute()
  const res = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: ACCOUNT })
  t.equal(res.statusCode, 201, res.body)
  return { ...ctx, accountId: res.json().id as string }
}
type Ctx = Awaited<ReturnType<typeof setup>>

function api(ctx: TestApp) {
  return {
    create: (role: 'sales_rep', payload: object) => ctx.app.inject({ method: 'POST', url: '/v1/quotes', headers: ctx.as(role), payload }),
    get: (role: Parameters<TestApp['as']>[0], id: string) => ctx.app.inject({ method: 'GET', url: `/v1/quotes/${id}`, headers: ctx.as(role) }),
    submit: (id: string) => ctx.app.inject({ method: 'POST', url: `/v1/quotes/${id}/submit`, headers: ctx.as('sales_rep') }),
    revise: (id: string, etag: string, payload: object) =>
      ctx.app.inject({ method: 'PATCH', url: `/v1/quotes/${id}`, headers: { ...ctx.as('sales_rep'), 'if-match': etag }, payload }),
    decide: (role: Parameters<TestApp['as']>[0], stepId: string, decision: 'approve' | 'reject', comment?: string) =>
      ctx.app.inject({ method: 'POST', url: `/v1/approvals/${stepId}/${decision}`, headers: ctx.as(role), payload: comment ? { comment } : {} }),
  }
}

function stepOf(
  quote: {
    approval: { steps: Array<{ id: string; level: number; role: string; status: string; rerequestReason: string | null; carriedFrom: string | null }> }
  },
  role: string,
) {
  return quote.approval.steps.find((s) => s.role === role)!
}

t.test('the demo flow: 25 % discount, two approval levels, revisions that keep or re-request approvals', async (t) => {
  const ctx: Ctx = await setup(t)
  const q = api(ctx)

  const created = await q.create('sales_rep', { accountId: ctx.accountId, lines: seats('25'), pricingDate: '2026-12-01' })
  t.equal(created.statusCode, 201, created.body)
  const quote = created.json()
  t.match(quote.number, /^Q-2026-\d{6}$/)
  t.equal(quote.status, 'draft')
  t.equal(quote.currentRevision, 1)
  t.same(
    quote.revision.evaluation.approvals.steps.map((s: { level: number; role: string }) => [s.level, s.role]),
    [
      [1, 'sales_manager'],
      [2, 'deal_desk'],
    ],
  )

  const submitted = await q.submit(quote.id)
  t.equal(submitted.statusCode, 200, submitted.body)
  t.equal(submitted.json().status, 'pending_approval')
  const manager = stepOf(submitted.json(), 'sales_manager')
  const deskStep = stepOf(submitted.json(), 'deal_desk')
  t.equal(manager.status, 'pending')
  t.equal(deskStep.status, 'waiting', 'level 2 waits for level 1')

  // The rep's own quote: never approved by the rep, whatever roles they hold.
  const own = await q.decide('sales_rep', manager.id, 'approve')
  t.equal(own.statusCode, 403)
  t.equal(own.json().code, 'FORBIDDEN')
  t.equal((await q.decide('deal_desk', deskStep.id, 'approve')).json().code, 'APPROVAL_STEP_CLOSED', 'level 2 is not open yet')
  t.equal((await q.decide('deal_desk', manager.id, 'approve')).statusCode, 403, "the deal desk does not hold the manager's step")

  const queue = await ctx.app.inject({ method: 'GET', url: '/v1/approvals?assignee=me', headers: ctx.as('sales_manager') })
  t.same(
    queue.json().data.map((i: { step: { id: string } }) => i.step.id),
    [manager.id],
    "the manager's queue holds the step",
  )

  const l1 = await q.decide('sales_manager', manager.id, 'approve', 'ok for the renewal')
  t.equal(l1.statusCode, 200, l1.body)
  t.equal((await q.decide('sales_manager', manager.id, 'approve')).json().code, 'APPROVAL_STEP_CLOSED', 'approving twice')
  const l2 = await q.decide('deal_desk', deskStep.id, 'approve')
  t.equal(l2.statusCode, 200, l2.body)
  const approved = await q.get('sales_rep', quote.id)
  t.equal(approved.json().status, 'approved')
  t.equal(approved.headers.etag, `"v${approved.json().version}"`)

  // A revision lowering the discount keeps every approval.
  const lower = await q.revise(quote.id, approved.headers.etag as string, { lines: seats('22') })
  t.equal(lower.statusCode, 200, lower.body)
  t.equal(lower.json().status, 'draft')
  t.equal(lower.json().currentRevision, 2)
  const resubmitted = await q.submit(quote.id)
  t.equal(resubmitted.json().status, 'approved', 'nothing worse: approved at once')
  t.ok(
    resubmitted.json().approval.steps.every((s: { status: string; carriedFrom: string | null }) => s.status === 'approved' && s.carriedFrom),
    'both approvals carried over',
  )

  // Raising it beyond what was approved re-requests only the deal desk, with the reason.
  const current = await q.get('sales_rep', quote.id)
  const higher = await q.revise(quote.id, current.headers.etag as string, { lines: seats('28') })
  t.equal(higher.statusCode, 200, higher.body)
  const again = (await q.submit(quote.id)).json()
  t.equal(again.status, 'pending_approval')
  const keptManager = stepOf(again, 'sales_manager')
  const askedDesk = stepOf(again, 'deal_desk')
  t.equal(keptManager.status, 'approved', "the manager's authority ends at 20 %: their approval holds")
  t.ok(keptManager.carriedFrom)
  t.equal(askedDesk.status, 'pending')
  t.equal(askedDesk.rerequestReason, 'the largest line discount rose from 25 % to 28 % (line 1, PLAT-PRO-SEAT)')

  // Earlier revisions stay readable.
  const r1 = await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${quote.id}/revisions/1`, headers: ctx.as('sales_rep') })
  t.equal(r1.statusCode, 200)
  t.equal(r1.json().cart.lines[0].manualDiscountPercent, '25')

  // A rejection rejects the quote; a revision brings it back to draft.
  const rejected = await q.decide('deal_desk', askedDesk.id, 'reject', 'too deep for a 12-month term')
  t.equal(rejected.statusCode, 200)
  t.equal((await q.get('sales_rep', quote.id)).json().status, 'rejected')
  t.equal((await q.decide('deal_desk', askedDesk.id, 'reject')).statusCode, 400, 'a rejection needs a comment')

  // Per object: another rep does not see this quote at all.
  const other = await createPrincipal({ db: ctx.database.db, clock: ctx.clock }, { name: 'Other rep', roles: ['sales_rep'] }, null)
  const peek = await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${quote.id}`, headers: { authorization: `Bearer ${other.body.apiKey}` } })
  t.equal(peek.statusCode, 404)
  t.equal((await q.get('sales_manager', quote.id)).statusCode, 200, 'the manager sees the team')
  t.equal((await q.get('finance', quote.id)).statusCode, 200, 'finance sees all')

  // The audit chain holds every step and verifies.
  const verify = await ctx.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: ctx.as('finance') })
  t.equal(verify.json().ok, true)
  t.ok(verify.json().entries >= 10)
  const events: Array<{ type: string }> = await ctx.database.db
    .selectFrom('outbox_events')
    .select('type')
    .where('aggregate_id', '=', quote.id)
    .orderBy('created_at')
    .execute()
  t.ok(events.some((e) => e.type === 'quote.approved') && events.some((e) => e.type === 'quote.rejected'), 'state changes are in the outbox')
})

t.test('illegal transitions, stale and missing ETags', async (t) => {
  const ctx = await setup(t)
  const q = api(ctx)
  const past = await q.create('sales_rep', { accountId: ctx.accountId, lines: seats('5'), validUntil: '2026-11-30' })
  t.equal(past.statusCode, 400)
  t.same(past.json().errors, [{ pointer: '/validUntil', detail: 'must be from 2026-12-01 to 2027-12-01' }], 'an offer cannot be valid until a past day')
  const old = await q.create('sales_rep', { accountId: ctx.accountId, lines: seats('5'), pricingDate: '2026-04-01' })
  t.same(old.json().errors, [{ pointer: '/pricingDate', detail: 'must be 2026-12-01 or later' }], 'nor priced with the rules of a past day')
  const quote = (await q.create('sales_rep', { accountId: ctx.accountId, lines: seats('5'), pricingDate: '2026-12-01' })).json()
  const signer = await ctx.app.inject({
    method: 'POST',
    url: `/v1/accounts/${ctx.accountId}/contacts`,
    headers: ctx.as('sales_rep'),
    payload: { name: 'Inès Roux', email: 'ines.roux@acme.example' },
  })
  const contact = { contactId: signer.json().id }
  t.equal(
    (await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quote.id}/present`, headers: ctx.as('sales_rep') })).statusCode,
    400,
    'present names the signer',
  )
  const present = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quote.id}/present`, headers: ctx.as('sales_rep'), payload: contact })
  t.equal(present.statusCode, 409)
  t.equal(present.json().code, 'INVALID_STATE_TRANSITION')
  t.same([present.json().from, present.json().to], ['draft', 'presented'])
  t.equal((await ctx.app.inject({ method: 'PATCH', url: `/v1/quotes/${quote.id}`, headers: ctx.as('sales_rep'), payload: { notes: 'x' } })).statusCode, 428)
  t.equal((await q.revise(quote.id, '"v99"', { notes: 'x' })).statusCode, 412)
  const sub = await q.submit(quote.id)
  t.equal(sub.json().status, 'approved', '5 % needs no approval: approved at once')
  t.equal((await q.submit(quote.id)).json().code, 'INVALID_STATE_TRANSITION')
  const presented = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quote.id}/present`, headers: ctx.as('sales_rep'), payload: contact })
  t.equal(presented.json().quote.status, 'presented')
  const canceled = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quote.id}/cancel`, headers: ctx.as('sales_rep') })
  t.equal(canceled.json().status, 'canceled')
  t.equal(
    (await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quote.id}/cancel`, headers: ctx.as('sales_rep') })).json().code,
    'INVALID_STATE_TRANSITION',
  )
})

t.test('expiry on read', async (t) => {
  const ctx = await setup(t)
  const q = api(ctx)
  const quote = (await q.create('sales_rep', { accountId: ctx.accountId, lines: seats('5'), validUntil: '2026-12-10' })).json()
  ctx.clock.advance(10 * 24 * 3600 * 1000)
  t.equal((await q.get('sales_rep', quote.id)).json().status, 'expired')
})

t.test('the audit chain detects an altered row', async (t) => {
  const ctx = await setup(t)
  const q = api(ctx)
  await q.create('sales_rep', { accountId: ctx.accountId, lines: seats('5') })
  const { db } = ctx.database
  const rows = await db.selectFrom('audit_log').select('seq').orderBy('seq').execute()
  t.ok(rows.length >= 2)
  // Only an attacker with DDL rights could do this: the table refuses updates otherwise.
  await t.rejects(db.updateTable('audit_log').set({ action: 'x' }).where('seq', '=', 1n).execute(), /append-only/)
  await sql`alter table audit_log disable trigger audit_log_append_only`.execute(db)
  await db
    .updateTable('audit_log')
    .set({ after: JSON.stringify({ status: 'approved' }) })
    .where('seq', '=', 2n)
    .execute()
  await sql`alter table audit_log enable trigger audit_log_append_only`.execute(db)
  const verify = await ctx.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: ctx.as('admin') })
  t.same(verify.json(), { ok: false, entries: 2, brokenAt: { seq: '2', reason: 'content does not match its hash (altered)' } })
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: ctx.as('sales_rep') })).statusCode, 403)
})

t.test('concurrency on PostgreSQL', { skip: onPostgres ? false : 'needs a real PostgreSQL: PGlite is a single connection' }, async (t) => {
  const ctx = await setup(t)
  const q = api(ctx)
  const quote = (
    await q.create('sales_rep', { accountId: ctx.accountId, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 50, termMonths: 12, manualDiscountPercent: '15' }] })
  ).json()
  const submitted = (await q.submit(quote.id)).json()
  const step = stepOf(submitted, 'sales_manager')
  // The last open step decided twice at once (two sessions of its approver): one wins, the quote moves once.
  const [a, b] = await Promise.all([q.decide('sales_manager', step.id, 'approve'), q.decide('sales_manager', step.id, 'approve')])
  t.same([a.statusCode, b.statusCode].sort(), [200, 409], 'one approval, one conflict')
  const approvals = await ctx.database.db
    .selectFrom('audit_log')
    .select('action')
    .where('entity_id', '=', quote.id)
    .where('action', '=', 'quote.approve')
    .execute()
  t.equal(approvals.length, 1, 'the quote moved once')

  const fresh = await q.get('sales_rep', quote.id)
  const [r1, r2] = await Promise.all([
    q.revise(quote.id, fresh.headers.etag as string, { notes: 'one' }),
    q.revise(quote.id, fresh.headers.etag as string, { notes: 'two' }),
  ])
  t.same([r1.statusCode, r2.statusCode].sort(), [200, 412], 'one revision, one 412')
  t.equal((await q.get('sales_rep', quote.id)).json().currentRevision, 2)
})

t.test('segregation of duties beyond ownership, and reasons never reviewed', async (t) => {
  const ctx = await setup(t)
  const q = api(ctx)
  const lines = (discount: string) => [{ sku: 'PLAT-PRO-SEAT', quantity: 50, termMonths: 12, manualDiscountPercent: discount }]

  // The manager edits the rep's discount: they may no longer approve it themselves.
  const quote = (await q.create('sales_rep', { accountId: ctx.accountId, lines: lines('12') })).json()
  const read = await q.get('sales_manager', quote.id)
  const edited = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/quotes/${quote.id}`,
    headers: { ...ctx.as('sales_manager'), 'if-match': read.headers.etag as string },
    payload: { lines: lines('18') },
  })
  t.equal(edited.statusCode, 200, edited.body)
  const pending = (await q.submit(quote.id)).json()
  const own = await q.decide('sales_manager', stepOf(pending, 'sales_manager').id, 'approve')
  t.equal(own.statusCode, 403, 'who revised the quote does not approve it')
  t.match(own.json().detail, /revised or submitted/)

  // One person, one level: a principal holding deal desk and finance decides only one of the two.
  const both = await createPrincipal({ db: ctx.database.db, clock: ctx.clock }, { name: 'Deal desk and finance', roles: ['deal_desk', 'finance'] }, null)
  const bothHeaders = { authorization: `Bearer ${both.body.apiKey}` }
  const deep = (await q.create('sales_rep', { accountId: ctx.accountId, lines: lines('32') })).json()
  const chain = (await q.submit(deep.id)).json()
  t.same(
    chain.approval.steps.map((s: { level: number; role: string }) => [s.level, s.role]),
    [
      [1, 'sales_manager'],
      [2, 'deal_desk'],
      [3, 'finance'],
    ],
  )
  t.equal((await q.decide('sales_manager', stepOf(chain, 'sales_manager').id, 'approve')).statusCode, 200)
  t.equal((await ctx.app.inject({ method: 'POST', url: `/v1/approvals/${stepOf(chain, 'deal_desk').id}/approve`, headers: bothHeaders })).statusCode, 200)
  const second = await ctx.app.inject({ method: 'POST', url: `/v1/approvals/${stepOf(chain, 'finance').id}/approve`, headers: bothHeaders })
  t.equal(second.statusCode, 403, 'the same person cannot approve a second level')
  t.match(second.json().detail, /each level needs a different person/)
  t.equal((await q.decide('finance', stepOf(chain, 'finance').id, 'approve')).statusCode, 200, 'another finance approver can')

  // A rule that did not ask for a step when it was approved brings a reason nobody reviewed.
  const terms = (await q.create('sales_rep', { accountId: ctx.accountId, lines: lines('15'), paymentTermsDays: 45 })).json()
  const first = (await q.submit(terms.id)).json()
  t.same(stepOf(first, 'deal_desk').status, 'waiting')
  t.equal((await q.decide('sales_manager', stepOf(first, 'sales_manager').id, 'approve')).statusCode, 200)
  t.equal((await q.decide('deal_desk', stepOf(first, 'deal_desk').id, 'approve')).statusCode, 200)
  const approvedNow = await q.get('sales_rep', terms.id)
  t.equal(approvedNow.json().status, 'approved')
  t.equal((await q.revise(terms.id, approvedNow.headers.etag as string, { lines: lines('22') })).statusCode, 200)
  const again = (await q.submit(terms.id)).json()
  const desk = stepOf(again, 'deal_desk')
  t.equal(desk.status, 'waiting', 'the deal desk must look again (after the manager)')
  t.match(desk.rerequestReason, /^newly required by appr\.discount-over-20-deal-desk/)
})

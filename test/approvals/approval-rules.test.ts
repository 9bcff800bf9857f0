import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

/**
 * Approval routing with the demo rules (rules/approvals/*.yaml), through the HTTP API:
 * merged reasons within a level, levels in order, who may decide (role, team, delegation,
 * segregation of duties), stale approvals, blocked quotes and idempotent decisions.
 * Today on the test clock is 2026-12-01. One app for the whole file.
 */

const ctx = await buildTestApp(t)
const { app, database } = ctx
const db = database.db
type Headers = { authorization: string }

// The rep reports to the helper's sales manager; `otherManager` manages nobody.
await ctx.reportTo('sales_rep', ctx.principalIds.sales_manager)
const rep = ctx.as('sales_rep')
const ids = ctx.principalIds
const otherManager = await ctx.principal('Other sales manager', ['sales_manager'])

const ACCOUNT = {
  name: 'Northwind Client GmbH',
  billingAddress: { line1: 'Hafenstraße 1', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  country: 'DE',
  currency: 'EUR',
  segment: 'mid_market',
}
const accountOf = (headers: Headers) => ctx.createAccount(headers, ACCOUNT)
const accountId = await accountOf(rep)

interface Step {
  id: string
  level: number
  role: string
  mode: string
  status: string
  reasons: Array<{ ruleId: string | null; reason: string }>
  boundFacts: { facts: Record<string, unknown>; upTo: Record<string, string> }
  decidedBy: string | null
  actingFor: string | null
  comment: string | null
  rerequestReason: string | null
}
interface Quote {
  id: string
  status: string
  version: number
  currentRevision: number
  approval: { id: string; status: string; revision: number; steps: Step[] } | null
  revision: {
    evaluation: {
      approvals: { steps: Array<{ level: number; role: string; mode: string; reasons: Array<{ ruleId: string }>; upTo: Record<string, string> }> }
      lines: Array<{ guardrail: { outcome: string; breaches: Array<{ ruleId: string }> } }>
      guardrails: { outcome: string }
    }
  }
}

const line = (discount: string) => ({ sku: 'PLAT-PRO-SEAT', quantity: 50, termMonths: 12, manualDiscountPercent: discount })
async function createQuote(payload: { discount: string; paymentTermsDays?: number }, headers: Headers = rep, account = accountId): Promise<Quote> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/quotes',
    headers,
    payload: {
      accountId: account,
      lines: [line(payload.discount)],
      ...(payload.paymentTermsDays === undefined ? {} : { paymentTermsDays: payload.paymentTermsDays }),
    },
  })
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json()
}
const submit = (id: string, headers: Headers = rep, extra: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/v1/quotes/${id}/submit`, headers: { ...headers, ...extra } })
async function submitted(payload: { discount: string; paymentTermsDays?: number }, headers: Headers = rep, account = accountId): Promise<Quote> {
  const quote = await createQuote(payload, headers, account)
  const res = await submit(quote.id, headers)
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json()
}
const decide = (headers: Headers, stepId: string, decision: 'approve' | 'reject', payload: object = {}, extra: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/v1/approvals/${stepId}/${decision}`, headers: { ...headers, ...extra }, payload })
const getQuote = async (id: string): Promise<Quote> => (await app.inject({ method: 'GET', url: `/v1/quotes/${id}`, headers: ctx.as('admin') })).json()
const stepOf = (quote: Quote, role: string) => {
  const found = quote.approval!.steps.filter((s) => s.role === role)
  if (found.length !== 1) throw new Error(`expected one ${role} step, got ${found.length}`)
  return found[0]!
}
const queueOf = async (headers: Headers) => {
  const res = await app.inject({ method: 'GET', url: '/v1/approvals?assignee=me', headers })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json().data as Array<{ step: Step; quote: { id: string; netTotal: string; currency: string }; actingFor: string | null }>
}
const delegate = (headers: Headers, payload: object, extra: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/delegations', headers: { ...headers, ...extra }, payload })
const count = async (table: 'audit_log' | 'outbox_events' | 'approval_requests', where: Record<string, string>) => {
  let q = db.selectFrom(table as 'audit_log').select((eb) => eb.fn.countAll<string>().as('n'))
  for (const [column, value] of Object.entries(where)) q = q.where(column as 'action', '=', value)
  return Number((await q.executeTakeFirstOrThrow()).n)
}

t.test('one level, one role: net 45 and a 25 % discount merge into a single deal-desk step listing both rules', async (t) => {
  const quote = await createQuote({ discount: '25', paymentTermsDays: 45 })
  const required = quote.revision.evaluation.approvals.steps
  t.same(
    required.map((s) => [s.level, s.role, s.mode]),
    [
      [1, 'sales_manager', 'any'],
      [2, 'deal_desk', 'any'],
    ],
  )
  const desk = required[1]!
  t.same(desk.reasons.map((r) => r.ruleId).sort(), ['appr.discount-over-20-deal-desk', 'appr.payment-terms-nonstandard'])
  t.same(desk.upTo, { 'quote.maxLineDiscountPercent': '30' }, 'the discount rule keeps its ceiling after the merge')

  const res = await submit(quote.id)
  t.equal(res.statusCode, 200, res.body)
  const open: Quote = res.json()
  t.equal(open.status, 'pending_approval')
  t.same(
    open.approval!.steps.map((s) => [s.level, s.role, s.status]),
    [
      [1, 'sales_manager', 'pending'],
      [2, 'deal_desk', 'waiting'],
    ],
    'one step per level and role',
  )
  const deskStep = stepOf(open, 'deal_desk')
  t.same(deskStep.reasons.map((r) => r.ruleId).sort(), ['appr.discount-over-20-deal-desk', 'appr.payment-terms-nonstandard'])
  t.same(
    deskStep.boundFacts,
    { facts: { 'quote.maxLineDiscountPercent': 25, 'quote.paymentTermsDays': 45 }, upTo: { 'quote.maxLineDiscountPercent': '30' } },
    'bound to the facts of both rules',
  )
  t.same(stepOf(open, 'sales_manager').boundFacts.facts, { 'quote.maxLineDiscountPercent': 25 }, 'the manager is bound to the discount only')
})

t.test('levels run in order: finance (L3) waits until the deal desk (L2) approves; a completed level opens the next', async (t) => {
  const quote = await submitted({ discount: '5', paymentTermsDays: 75 })
  t.same(
    quote.approval!.steps.map((s) => [s.level, s.role, s.status]),
    [
      [2, 'deal_desk', 'pending'],
      [3, 'finance', 'waiting'],
    ],
  )
  const desk = stepOf(quote, 'deal_desk')
  const finance = stepOf(quote, 'finance')

  const early = await decide(ctx.as('finance'), finance.id, 'approve')
  t.equal(early.statusCode, 409)
  t.equal(early.json().code, 'APPROVAL_STEP_CLOSED')
  t.equal(early.json().detail, 'An earlier approval level is still open.')
  t.ok(Object.values(early.json()).includes('waiting'), "the problem names the step's status")
  t.notOk(
    (await queueOf(ctx.as('finance'))).some((i) => i.step.id === finance.id),
    "a waiting step is in nobody's queue",
  )
  const deskQueue = await queueOf(ctx.as('deal_desk'))
  const item = deskQueue.find((i) => i.step.id === desk.id)
  t.match(item, { quote: { id: quote.id, netTotal: '25650.00', currency: 'EUR' }, actingFor: null }, 'the queue item says what is being approved')

  const l2 = await decide(ctx.as('deal_desk'), desk.id, 'approve', { comment: 'net 75 fine for this customer' })
  t.equal(l2.statusCode, 200, l2.body)
  t.same(
    l2.json().steps.map((s: Step) => [s.role, s.status]),
    [
      ['deal_desk', 'approved'],
      ['finance', 'pending'],
    ],
    'level 3 opens',
  )
  t.match(l2.json().steps[0], { decidedBy: ids.deal_desk, actingFor: null, comment: 'net 75 fine for this customer' })
  t.equal(l2.json().status, 'pending')
  t.equal((await getQuote(quote.id)).status, 'pending_approval', 'not approved until the last level')
  t.ok(
    (await queueOf(ctx.as('finance'))).some((i) => i.step.id === finance.id),
    'now in the finance queue',
  )

  t.equal((await decide(ctx.as('deal_desk'), finance.id, 'approve')).statusCode, 403, 'the deal desk does not hold the finance step')
  // The body is optional by intent (the handler reads `request.body?.comment`), but the schema demands an object.
  const bare = await app.inject({ method: 'POST', url: `/v1/approvals/${finance.id}/approve`, headers: ctx.as('finance') })
  t.equal(bare.statusCode, 200, 'approve without a body')
  const l3 = bare.statusCode === 200 ? bare : await decide(ctx.as('finance'), finance.id, 'approve')
  t.equal(l3.statusCode, 200, l3.body)
  t.equal(l3.json().status, 'approved')
  t.equal((await getQuote(quote.id)).status, 'approved')
})

t.test("only holders of the role decide; the sales-manager step belongs to the rep's own manager", async (t) => {
  const quote = await submitted({ discount: '25' })
  const l1 = stepOf(quote, 'sales_manager')
  const l2 = stepOf(quote, 'deal_desk')

  const wrongRole = await decide(ctx.as('finance'), l2.id, 'approve')
  t.equal(wrongRole.statusCode, 403, 'finance on a deal-desk step')
  t.equal(wrongRole.json().code, 'FORBIDDEN')
  t.equal((await decide(ctx.as('admin'), l1.id, 'approve')).statusCode, 403, 'admin does not hold the sales-manager role either')
  const stranger = await decide(otherManager.headers, l1.id, 'approve')
  t.equal(stranger.statusCode, 404, "a sales manager who is not the rep's manager, and cannot see the quote, learns nothing of it")
  t.notOk(
    (await queueOf(otherManager.headers)).some((i) => i.step.id === l1.id),
    "not in the other manager's queue",
  )
  t.equal((await decide(rep, l1.id, 'approve')).statusCode, 403, 'the rep holds no approver role')
  t.same(
    (await getQuote(quote.id)).approval!.steps.map((s) => s.status),
    ['pending', 'waiting'],
    'refusals changed nothing',
  )

  const ok = await decide(ctx.as('sales_manager'), l1.id, 'approve')
  t.equal(ok.statusCode, 200, ok.body)
  t.same(
    ok.json().steps.map((s: Step) => s.status),
    ['approved', 'pending'],
  )
  t.equal(ok.json().steps[0].decidedBy, ids.sales_manager)

  // A rep without a manager: any sales manager may decide their manager step.
  const loner = await ctx.principal('Rep without manager', ['sales_rep'])
  const lonerQuote = await submitted({ discount: '15' }, loner.headers, await accountOf(loner.headers))
  t.equal((await decide(otherManager.headers, stepOf(lonerQuote, 'sales_manager').id, 'approve')).statusCode, 200)
  t.equal((await getQuote(lonerQuote.id)).status, 'approved')
})

t.test('delegation: the deal desk hands its approvals to a deputy for a date range', async (t) => {
  // The deputy holds an approver role (sales manager) but not the deal desk's; they manage nobody.
  const deputy = await ctx.principal('Deputy', ['sales_manager'])
  const created = await delegate(ctx.as('deal_desk'), { delegateId: deputy.id, startsOn: '2026-11-28', endsOn: '2026-12-04' })
  t.equal(created.statusCode, 201, created.body)
  t.match(created.json(), { id: /^dlg_/, delegatorId: ids.deal_desk, delegateId: deputy.id, startsOn: '2026-11-28', endsOn: '2026-12-04', revokedAt: null })
  const listed = await app.inject({ method: 'GET', url: '/v1/delegations', headers: deputy.headers })
  t.same(
    listed.json().data.map((d: { id: string }) => d.id),
    [created.json().id],
    'the delegate sees the delegation they received',
  )

  const quote = await submitted({ discount: '5', paymentTermsDays: 45 })
  const step = stepOf(quote, 'deal_desk')
  t.equal(step.status, 'pending')

  const queue = await queueOf(deputy.headers)
  const item = queue.find((i) => i.step.id === step.id)
  t.ok(item, "the deal-desk step is in the deputy's queue")
  t.equal(item?.actingFor, ids.deal_desk, 'marked as acting for the deal desk')

  const res = await decide(deputy.headers, step.id, 'approve', { comment: 'covering for the deal desk' })
  t.equal(res.statusCode, 200, res.body)
  const decided = res.json().steps.find((s: Step) => s.id === step.id)
  t.match(decided, { status: 'approved', decidedBy: deputy.id, actingFor: ids.deal_desk, comment: 'covering for the deal desk' })
  t.equal((await getQuote(quote.id)).status, 'approved')
  const audit = await db
    .selectFrom('audit_log')
    .select(['actor_id', 'acting_for'])
    .where('entity_id', '=', step.id)
    .where('action', '=', 'approval.approved')
    .execute()
  t.same(audit, [{ actor_id: deputy.id, acting_for: ids.deal_desk }], 'the audit log says who decided for whom')
  const event = await db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'approval.approved')
    .where('aggregate_id', '=', quote.id)
    .executeTakeFirstOrThrow()
  t.match(event.payload, { stepId: step.id, actingFor: ids.deal_desk })

  // A delegation does not reach beyond the delegator's roles: the deputy cannot decide finance steps.
  const withFinance = await submitted({ discount: '5', paymentTermsDays: 75 })
  t.equal((await decide(deputy.headers, stepOf(withFinance, 'deal_desk').id, 'approve')).statusCode, 200)
  const financeStep = stepOf(await getQuote(withFinance.id), 'finance')
  t.equal(financeStep.status, 'pending')
  t.equal((await decide(deputy.headers, financeStep.id, 'approve')).statusCode, 404, 'nor see it: 404')

  // Outside the date range: no authority, nothing in the queue.
  const later = await ctx.principal('Holiday cover', ['sales_manager'])
  t.equal((await delegate(ctx.as('deal_desk'), { delegateId: later.id, startsOn: '2026-12-10', endsOn: '2026-12-20' })).statusCode, 201)
  const ended = await ctx.principal('Last month cover', ['sales_manager'])
  t.equal((await delegate(ctx.as('deal_desk'), { delegateId: ended.id, startsOn: '2026-11-01', endsOn: '2026-11-30' })).statusCode, 201)
  const another = await submitted({ discount: '5', paymentTermsDays: 45 })
  const anotherStep = stepOf(another, 'deal_desk')
  for (const [name, p] of [
    ['not started yet', later],
    ['already over', ended],
  ] as const) {
    const refused = await decide(p.headers, anotherStep.id, 'approve')
    t.equal(refused.statusCode, 404, `a delegation ${name} (and the quote is not theirs to see)`)
    t.same(await queueOf(p.headers), [], `an empty queue: delegation ${name}`)
  }
  // The last day of the range still counts (2026-12-04), the next does not.
  ctx.clock.advance(3 * 86_400_000)
  t.ok(
    (await queueOf(deputy.headers)).some((i) => i.step.id === anotherStep.id),
    'in force on its last day',
  )
  ctx.clock.advance(86_400_000)
  t.same(await queueOf(deputy.headers), [], 'over the day after')
  t.equal((await decide(deputy.headers, anotherStep.id, 'approve')).statusCode, 404)
  ctx.clock.advance(-4 * 86_400_000)
  t.equal(stepOf(await getQuote(another.id), 'deal_desk').status, 'pending', 'refused decisions changed nothing')

  // A delegate never decides their own quote, whoever they act for.
  const ownQuote = await submitted({ discount: '5', paymentTermsDays: 45 }, deputy.headers, await accountOf(deputy.headers))
  const own = await decide(deputy.headers, stepOf(ownQuote, 'deal_desk').id, 'approve')
  t.equal(own.statusCode, 403)
  t.match(own.json().detail, /quote they own, revised or submitted/)
  t.notOk(
    (await queueOf(deputy.headers)).some((i) => i.quote.id === ownQuote.id),
    'their own quote is not in their queue',
  )
  t.ok(
    (await queueOf(ctx.as('deal_desk'))).some((i) => i.quote.id === ownQuote.id),
    'the deal desk itself still decides it',
  )
})

t.test('a delegate needs no approver role of their own', async (t) => {
  const assistant = await ctx.principal('Assistant (sales rep)', ['sales_rep'])
  t.equal(
    (await delegate(ctx.as('deal_desk'), { delegateId: assistant.id, startsOn: '2026-12-01', endsOn: '2026-12-01' })).statusCode,
    201,
    'the delegation is accepted',
  )
  const quote = await submitted({ discount: '5', paymentTermsDays: 45 })
  const step = stepOf(quote, 'deal_desk')
  const queue = await app.inject({ method: 'GET', url: '/v1/approvals?assignee=me', headers: assistant.headers })
  t.equal(queue.statusCode, 200, 'the delegate reads their queue')
  const res = await decide(assistant.headers, step.id, 'approve')
  t.equal(res.statusCode, 200, 'the delegate approves for the deal desk')
  if (res.statusCode === 200) {
    t.match(res.json().steps[0], { decidedBy: assistant.id, actingFor: ids.deal_desk })
  } else {
    // Leave the step decided either way, so later tests see clean queues.
    t.equal((await decide(ctx.as('deal_desk'), step.id, 'approve')).statusCode, 200)
  }
})

t.test('POST /v1/delegations validation', async (t) => {
  const desk = ctx.as('deal_desk')
  const self = await delegate(desk, { delegateId: ids.deal_desk, startsOn: '2026-12-01', endsOn: '2026-12-02' })
  t.same([self.statusCode, self.json().code, self.json().errors], [400, 'VALIDATION_FAILED', [{ pointer: '/delegateId', detail: 'must be another principal' }]])
  const backwards = await delegate(desk, { delegateId: ids.finance, startsOn: '2026-12-05', endsOn: '2026-12-04' })
  t.same([backwards.statusCode, backwards.json().errors[0].pointer], [400, '/endsOn'])
  const unknown = await delegate(desk, { delegateId: 'prn_nobody', startsOn: '2026-12-01', endsOn: '2026-12-02' })
  t.same([unknown.statusCode, unknown.json().errors[0].pointer], [400, '/delegateId'])
  const leaver = await ctx.principal('Leaver', ['deal_desk'])
  await db.updateTable('principals').set({ status: 'revoked' }).where('id', '=', leaver.id).execute()
  const revoked = await delegate(desk, { delegateId: leaver.id, startsOn: '2026-12-01', endsOn: '2026-12-02' })
  t.same([revoked.statusCode, revoked.json().errors[0].pointer], [400, '/delegateId'], 'not to a revoked principal')
  const badDate = await delegate(desk, { delegateId: ids.finance, startsOn: '2026-13-01', endsOn: '2026-12-02' })
  t.same([badDate.statusCode, badDate.json().errors[0].pointer], [400, '/startsOn'])
  const extra = await delegate(desk, { delegateId: ids.finance, startsOn: '2026-12-01', endsOn: '2026-12-02', roles: ['admin'] })
  t.same([extra.statusCode, extra.json().errors[0].pointer], [400, '/roles'])

  const byRep = await delegate(rep, { delegateId: ids.finance, startsOn: '2026-12-01', endsOn: '2026-12-02' })
  t.equal(byRep.statusCode, 403, 'a sales rep has no approvals to delegate')
  t.equal(byRep.json().code, 'FORBIDDEN')
  t.equal((await delegate(ctx.as('pricing_analyst'), { delegateId: ids.finance, startsOn: '2026-12-01', endsOn: '2026-12-02' })).statusCode, 403)
  t.equal(await count('audit_log', { action: 'delegation.created', actor_id: ids.finance }), 0)

  const key = { 'idempotency-key': 'delegation-1' }
  const first = await delegate(ctx.as('finance'), { delegateId: ids.admin, startsOn: '2026-12-24', endsOn: '2027-01-02' }, key)
  t.equal(first.statusCode, 201)
  const replay = await delegate(ctx.as('finance'), { delegateId: ids.admin, startsOn: '2026-12-24', endsOn: '2027-01-02' }, key)
  t.same([replay.statusCode, replay.headers['idempotent-replayed']], [201, 'true'])
  t.same(replay.json(), first.json())
  t.equal(await count('audit_log', { action: 'delegation.created', actor_id: ids.finance }), 1, 'one delegation')
})

t.test('approving after the quote was revised: 409 APPROVAL_STALE, nothing decided', async (t) => {
  const quote = await submitted({ discount: '15' })
  const step = stepOf(quote, 'sales_manager')
  const current = await app.inject({ method: 'GET', url: `/v1/quotes/${quote.id}`, headers: rep })
  const revised = await app.inject({
    method: 'PATCH',
    url: `/v1/quotes/${quote.id}`,
    headers: { ...rep, 'if-match': current.headers.etag as string },
    payload: { notes: 'customer asked for a PO number' },
  })
  t.equal(revised.statusCode, 200, revised.body)
  t.equal(revised.json().status, 'draft')
  t.equal(revised.json().approval.status, 'withdrawn', 'the open request is withdrawn')

  const stale = await decide(ctx.as('sales_manager'), step.id, 'approve')
  t.equal(stale.statusCode, 409)
  t.equal(stale.json().code, 'APPROVAL_STALE')
  t.equal((await decide(ctx.as('sales_manager'), step.id, 'reject', { comment: 'no' })).json().code, 'APPROVAL_STALE', 'nor rejected')
  const row = await db.selectFrom('approval_steps').select(['status', 'decided_by']).where('id', '=', step.id).executeTakeFirstOrThrow()
  t.same(row, { status: 'withdrawn', decided_by: null })
  t.equal(await count('audit_log', { entity_id: step.id }), 0, 'no decision recorded')

  const again = (await submit(quote.id)).json() as Quote
  const fresh = stepOf(again, 'sales_manager')
  t.not(fresh.id, step.id, 'a new step for the new revision')
  t.same([again.approval!.revision, fresh.status, fresh.rerequestReason], [2, 'pending', 'newly required'])
  t.equal((await decide(ctx.as('sales_manager'), fresh.id, 'approve')).statusCode, 200)
})

t.test('a quote a guardrail blocks cannot be submitted: 409 QUOTE_NOT_SUBMITTABLE', async (t) => {
  const quote = await createQuote({ discount: '60' })
  t.equal(quote.revision.evaluation.guardrails.outcome, 'blocked')
  t.ok(
    quote.revision.evaluation.lines[0]!.guardrail.breaches.some((b) => b.ruleId === 'guard.max-discount-block'),
    'the 50 % line ceiling blocks it',
  )
  const res = await submit(quote.id)
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'QUOTE_NOT_SUBMITTABLE')
  t.equal(res.json().detail, 'A guardrail blocks this quote; revise it first.')
  t.ok(JSON.stringify(res.json()).includes('guard.max-discount-block'), 'the problem names the guardrail that blocks')
  const after = await getQuote(quote.id)
  t.same([after.status, after.version, after.approval], ['draft', 1, null], 'still a draft, no approval request')
  t.equal(await count('approval_requests', { quote_id: quote.id }), 0)

  // Revised within the ceiling, it goes through the usual chain.
  const fixed = await app.inject({ method: 'PATCH', url: `/v1/quotes/${quote.id}`, headers: { ...rep, 'if-match': '"v1"' }, payload: { lines: [line('32')] } })
  t.equal(fixed.statusCode, 200)
  const ok = await submit(quote.id)
  t.equal(ok.statusCode, 200)
  t.same(
    ok.json().approval.steps.map((s: Step) => [s.level, s.role]),
    [
      [1, 'sales_manager'],
      [2, 'deal_desk'],
      [3, 'finance'],
    ],
  )
})

t.test('Idempotency-Key on submit and approve: replays return the same body, nothing happens twice', async (t) => {
  const quote = await createQuote({ discount: '15' })
  const first = await submit(quote.id, rep, { 'idempotency-key': 'submit-1' })
  t.equal(first.statusCode, 200, first.body)
  t.notOk(first.headers['idempotent-replayed'])
  const replay = await submit(quote.id, rep, { 'idempotency-key': 'submit-1' })
  t.equal(replay.statusCode, 200, 'a replay, not a 409 for submitting a pending quote')
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(replay.json(), first.json())
  t.equal(await count('approval_requests', { quote_id: quote.id }), 1, 'one approval request')
  t.equal(await count('audit_log', { entity_id: quote.id, action: 'quote.submit' }), 1)
  t.equal((await submit(quote.id, rep, { 'idempotency-key': 'submit-2' })).json().code, 'INVALID_STATE_TRANSITION', 'a new key is a new submission')

  const step = stepOf(first.json(), 'sales_manager')
  const manager = ctx.as('sales_manager')
  const approve = await decide(manager, step.id, 'approve', { comment: 'ok' }, { 'idempotency-key': 'approve-1' })
  t.equal(approve.statusCode, 200, approve.body)
  t.equal(approve.json().status, 'approved')
  const again = await decide(manager, step.id, 'approve', { comment: 'ok' }, { 'idempotency-key': 'approve-1' })
  t.same([again.statusCode, again.headers['idempotent-replayed']], [200, 'true'], 'a replay, not APPROVAL_STEP_CLOSED')
  t.same(again.json(), approve.json())
  t.equal(await count('audit_log', { entity_id: step.id, action: 'approval.approved' }), 1, 'decided once')
  t.equal(await count('audit_log', { entity_id: quote.id, action: 'quote.approve' }), 1, 'the quote moved once')
  t.equal(await count('outbox_events', { aggregate_id: quote.id, type: 'approval.approved' }), 1)

  const reused = await decide(manager, step.id, 'approve', { comment: 'different' }, { 'idempotency-key': 'approve-1' })
  t.equal(reused.statusCode, 422, 'the same key with another body')
  t.equal(reused.json().code, 'IDEMPOTENCY_KEY_REUSED')
  t.equal((await decide(manager, step.id, 'approve', { comment: 'ok' }, { 'idempotency-key': 'approve-2' })).json().code, 'APPROVAL_STEP_CLOSED')
  const badKey = await decide(manager, step.id, 'approve', {}, { 'idempotency-key': 'with space' })
  t.same([badKey.statusCode, badKey.json().errors[0].in], [400, 'headers'])
})

import t from 'tap'
import { decodeSnapshot } from '../../src/evaluation/evaluation.js'
import { renderEvaluation } from '../../src/evaluation/render.js'
import { buildTestApp } from '../helpers/app.js'
import { QUOTE_TRANSITIONS, type QuoteStatus } from '../../src/quotes/quote-state.js'
import { targetOf } from '../../src/shared/state-machine.js'
import { expireDueQuotes } from '../../src/quotes/quote.service.js'

/**
 * The quote lifecycle over HTTP: creation checks, decision records, fingerprints across
 * revisions, listing by status, the state machine (every state × every action against
 * QUOTE_TRANSITIONS), the expiry sweep and the outbox. Today on the test clock is 2026-12-01.
 */

const ctx = await buildTestApp(t)
const { app, database } = ctx
const db = database.db
type Headers = { authorization: string }
const DAY = 86_400_000

await ctx.reportTo('sales_rep', ctx.principalIds.sales_manager)
const rep = ctx.as('sales_rep')
const manager = ctx.as('sales_manager')
const outsider = await ctx.principal('Outsider rep', ['sales_rep'])

const ACCOUNT = {
  name: 'Lyon Logistique SAS',
  billingAddress: { line1: '3 quai Perrache', city: 'Lyon', postalCode: '69002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  segment: 'mid_market',
  vatId: 'FR40303265045',
}
const accountOf = (headers: Headers) => ctx.createAccount(headers, ACCOUNT)
const accountId = await accountOf(rep)
const outsiderAccountId = await accountOf(outsider.headers)
const contactId: string = (
  await app.inject({
    method: 'POST',
    url: `/v1/accounts/${accountId}/contacts`,
    headers: rep,
    payload: { name: 'Claire Martin', email: 'claire@lyon-logistique.example' },
  })
).json().id

interface Revision {
  revision: number
  decisionId: string
  fingerprintHash: string
  cart: unknown
  evaluation: { ruleSetHash: string; priceBookHash: string; totals: Record<string, string> }
}
interface Quote {
  id: string
  number: string
  status: QuoteStatus
  version: number
  currentRevision: number
  notes: string | null
  validUntil: string
  revision: Revision
  approval: { id: string; status: string; revision: number; steps: Array<{ id: string; role: string; status: string }> } | null
}

const seats = (discount: string) => [{ sku: 'PLAT-PRO-SEAT', quantity: 40, termMonths: 12, manualDiscountPercent: discount }]
const postQuote = (headers: Headers, payload: object) => app.inject({ method: 'POST', url: '/v1/quotes', headers, payload })
async function create(discount: string, extra: object = {}, headers: Headers = rep, account = accountId): Promise<Quote> {
  const res = await postQuote(headers, { accountId: account, lines: seats(discount), ...extra })
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json()
}
/** Present answers the quote with its contract and link; the other actions the quote alone. */
const action = async (id: string, name: 'submit' | 'present' | 'cancel', headers: Headers = rep) => {
  const res = await app.inject({ method: 'POST', url: `/v1/quotes/${id}/${name}`, headers, ...(name === 'present' ? { payload: { contactId } } : {}) })
  if (name !== 'present' || res.statusCode !== 200) return res
  const quote = res.json().quote
  return { statusCode: res.statusCode, body: JSON.stringify(quote), json: () => quote }
}
const read = (id: string, headers: Headers = rep) => app.inject({ method: 'GET', url: `/v1/quotes/${id}`, headers })
async function revise(id: string, payload: object, headers: Headers = rep) {
  const current = await read(id, headers)
  return app.inject({ method: 'PATCH', url: `/v1/quotes/${id}`, headers: { ...headers, 'if-match': current.headers.etag as string }, payload })
}
async function ok<T = Quote>(res: Promise<{ statusCode: number; body: string; json(): unknown }>, status = 200): Promise<T> {
  const r = await res
  if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`)
  return r.json() as T
}
const countQuotes = async () =>
  Number(
    (
      await db
        .selectFrom('quotes')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

t.test('POST /v1/quotes: the account must be one the caller may quote for; skus must exist', async (t) => {
  const before = await countQuotes()
  const unknown = await postQuote(rep, { accountId: 'acc_doesnotexist', lines: seats('0') })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().code, 'VALIDATION_FAILED')
  t.same(unknown.json().errors, [{ pointer: '/accountId', detail: 'no account with this id that you may quote for' }])

  const foreign = await postQuote(rep, { accountId: outsiderAccountId, lines: seats('0') })
  t.equal(foreign.statusCode, 400, "another rep's account")
  t.same(
    [foreign.json().code, foreign.json().detail, foreign.json().errors],
    [unknown.json().code, unknown.json().detail, unknown.json().errors],
    'the same answer as for no account: existence is not revealed',
  )

  const sku = await postQuote(rep, { accountId, lines: [{ sku: 'PLAT-NOPE-SEAT', quantity: 1 }] })
  t.equal(sku.statusCode, 422)
  t.equal(sku.json().code, 'CART_INVALID')
  t.same(sku.json().errors, [{ pointer: '/lines/0/sku', detail: 'unknown sku PLAT-NOPE-SEAT' }])
  const second = await postQuote(rep, { accountId, lines: [...seats('0'), { sku: 'PLAT-NOPE-SEAT', quantity: 1 }] })
  t.same(
    second.json().errors.map((e: { pointer: string }) => e.pointer),
    ['/lines/1/sku'],
  )

  for (const [payload, pointer] of [
    [{ accountId, lines: seats('0'), discount: '10' }, '/discount'],
    [{ accountId, lines: [] }, '/lines'],
    [{ accountId, lines: seats('0'), paymentTermsDays: 400 }, '/paymentTermsDays'],
    [{ accountId, lines: seats('0'), validUntil: '31/12/2026' }, '/validUntil'],
    [{ lines: seats('0') }, '/accountId'],
  ] as const) {
    const res = await postQuote(rep, payload)
    t.equal(res.statusCode, 400, pointer)
    t.ok(
      res.json().errors.some((e: { pointer: string }) => e.pointer === pointer),
      `pointer ${pointer}`,
    )
  }
  t.equal(await countQuotes(), before, 'nothing created')

  t.equal((await postQuote(outsider.headers, { accountId: outsiderAccountId, lines: seats('0') })).statusCode, 201, 'the owner quotes on it')
  const byManager = await postQuote(manager, { accountId, lines: seats('0') })
  t.equal(byManager.statusCode, 201, "a manager quotes on the team's account")
  t.equal(byManager.json().ownerId, ctx.principalIds.sales_manager, 'and owns that quote')
  t.equal((await postQuote(ctx.as('pricing_analyst'), { accountId, lines: seats('0') })).statusCode, 403)
})

t.test('each revision has its decision record; the fingerprint follows prices and terms, not notes', async (t) => {
  const quote = await create('15', { notes: 'first call' })
  t.match(quote.number, /^Q-2026-\d{6}$/)
  t.equal(quote.validUntil, '2026-12-31', 'valid 30 days by default')
  const r1 = quote.revision
  const decision = await db.selectFrom('decisions').selectAll().where('id', '=', r1.decisionId).executeTakeFirstOrThrow()
  t.match(r1.decisionId, /^dec_[0-9a-f]{32}$/)
  t.equal(decision.kind, 'evaluation')
  t.equal(decision.rule_set_hash, r1.evaluation.ruleSetHash)
  t.match(decision.rule_set_hash, /^[0-9a-f]{64}$/)
  t.equal(decision.price_book_hash, r1.evaluation.priceBookHash)
  t.equal(decision.principal_id, ctx.principalIds.sales_rep)
  t.same(decision.input, r1.cart, 'the decision holds the exact cart')
  // The decision stores the typed snapshot (amounts as minor units with their currency), rendered only at the edge.
  t.equal((decision.output as { version: number }).version, 1)
  t.same((decision.output as { totals: { net: unknown } }).totals.net, {
    minor: String(Number(String(r1.evaluation.totals.net).replace('.', ''))),
    currency: 'EUR',
  })
  t.same(renderEvaluation(decodeSnapshot(decision.output), 'fired').totals, r1.evaluation.totals)
  t.match(
    r1.cart,
    { account: { id: accountId, segment: 'mid_market', country: 'FR', vatId: 'FR40303265045' }, currency: 'EUR', date: '2026-12-01', paymentTermsDays: 30 },
    'the account supplies segment, country and VAT id',
  )

  const notesOnly = await ok(revise(quote.id, { notes: 'second call: waiting for the PO' }))
  t.equal(notesOnly.currentRevision, 2)
  t.equal(notesOnly.notes, 'second call: waiting for the PO')
  t.equal(notesOnly.revision.fingerprintHash, r1.fingerprintHash, 'notes are not part of what is approved')
  t.not(notesOnly.revision.decisionId, r1.decisionId, 'but the revision has its own decision record')
  t.ok(await db.selectFrom('decisions').select('id').where('id', '=', notesOnly.revision.decisionId).executeTakeFirst())

  const validity = await ok(revise(quote.id, { validUntil: '2027-01-15' }))
  t.same([validity.validUntil, validity.revision.fingerprintHash], ['2027-01-15', r1.fingerprintHash], 'nor is the validity date')

  const price = await ok(revise(quote.id, { lines: seats('16') }))
  t.not(price.revision.fingerprintHash, r1.fingerprintHash, 'a price change changes the fingerprint')
  t.equal(price.notes, 'second call: waiting for the PO', 'notes survive a revision that does not name them')
  const terms = await ok(revise(quote.id, { lines: seats('15'), paymentTermsDays: 45 }))
  t.not(terms.revision.fingerprintHash, r1.fingerprintHash, 'payment terms are part of the fingerprint')
  t.not(terms.revision.fingerprintHash, price.revision.fingerprintHash)
  const back = await ok(revise(quote.id, { paymentTermsDays: 30 }))
  t.equal(back.revision.fingerprintHash, r1.fingerprintHash, 'the same commercial content hashes the same again')
  t.equal(back.currentRevision, 6)

  const revisions = await db.selectFrom('quote_revisions').select(['revision', 'decision_id']).where('quote_id', '=', quote.id).orderBy('revision').execute()
  t.same(
    revisions.map((r) => r.revision),
    [1, 2, 3, 4, 5, 6],
  )
  t.equal(new Set(revisions.map((r) => r.decision_id)).size, 6, 'one decision per revision')
  const earlier = await app.inject({ method: 'GET', url: `/v1/quotes/${quote.id}/revisions/4`, headers: rep })
  t.equal(earlier.json().fingerprintHash, price.revision.fingerprintHash)
  t.equal((await app.inject({ method: 'GET', url: `/v1/quotes/${quote.id}/revisions/7`, headers: rep })).statusCode, 404)
})

t.test('GET /v1/quotes filters by status and shows only what the caller may see', async (t) => {
  const seller = await ctx.principal('Lister rep', ['sales_rep'])
  const account = await accountOf(seller.headers)
  const draftA = await create('0', {}, seller.headers, account)
  const draftB = await create('0', {}, seller.headers, account)
  const pending = await create('15', {}, seller.headers, account)
  t.equal((await ok(action(pending.id, 'submit', seller.headers))).status, 'pending_approval')
  const approved = await create('5', {}, seller.headers, account)
  t.equal((await ok(action(approved.id, 'submit', seller.headers))).status, 'approved')
  const canceled = await create('0', {}, seller.headers, account)
  await ok(action(canceled.id, 'cancel', seller.headers))

  const ids = async (query: string, headers = seller.headers) => {
    const res = await app.inject({ method: 'GET', url: `/v1/quotes${query}`, headers })
    t.equal(res.statusCode, 200, query)
    return res.json().data.map((q: { id: string }) => q.id)
  }
  t.same(await ids('?status=draft'), [draftA.id, draftB.id])
  t.same(await ids('?status=pending_approval'), [pending.id])
  t.same(await ids('?status=approved'), [approved.id])
  t.same(await ids('?status=canceled'), [canceled.id])
  t.same(await ids('?status=expired'), [])
  t.same(await ids(''), [draftA.id, draftB.id, pending.id, approved.id, canceled.id])
  const page = await app.inject({ method: 'GET', url: '/v1/quotes?status=draft&limit=1', headers: seller.headers })
  t.same([page.json().data.length, page.json().hasMore, page.json().nextCursor], [1, true, draftA.id])
  t.same(await ids(`?status=draft&starting_after=${draftA.id}`), [draftB.id])
  const summary = (await app.inject({ method: 'GET', url: '/v1/quotes?status=approved', headers: seller.headers })).json().data[0]
  t.notOk('revision' in summary, 'the list holds summaries, not revisions')

  t.notOk((await ids('?status=draft', rep)).includes(draftA.id), 'another rep does not list them')
  t.ok((await ids('?status=draft&limit=100', ctx.as('deal_desk'))).includes(draftA.id), 'the deal desk does')
  const bad = await app.inject({ method: 'GET', url: '/v1/quotes?status=open', headers: seller.headers })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].in, 'querystring')
})

t.test('revising a presented quote withdraws the offer: a new draft revision', async (t) => {
  const quote = await create('5')
  t.equal((await ok(action(quote.id, 'submit'))).status, 'approved')
  const presented = await ok(action(quote.id, 'present'))
  t.equal(presented.status, 'presented')
  const revised = await ok(revise(quote.id, { lines: seats('8') }))
  t.same([revised.status, revised.currentRevision, revised.revision.revision], ['draft', 2, 2])
  t.equal((await action(quote.id, 'present')).json().code, 'INVALID_STATE_TRANSITION', 'the new revision is not approved')
  const again = await ok(action(quote.id, 'submit'))
  t.equal(again.status, 'approved', '8 % needs nobody')
  t.equal(again.approval!.revision, 2)
  const event = await db
    .selectFrom('outbox_events')
    .select('payload')
    .where('aggregate_id', '=', quote.id)
    .where('type', '=', 'quote.revised')
    .executeTakeFirstOrThrow()
  t.same(event.payload, { quoteId: quote.id, revision: 2, from: 'presented' })
})

type Action = 'submit' | 'present' | 'cancel' | 'revise'
const TARGET: Record<Action, QuoteStatus> = { submit: 'pending_approval', present: 'presented', cancel: 'canceled', revise: 'draft' }

/** A fresh quote of the rep's in `state`, reached through the API. */
async function inState(state: QuoteStatus): Promise<Quote> {
  switch (state) {
    case 'draft':
      return create('5')
    case 'pending_approval': {
      const q = await create('15')
      return ok(action(q.id, 'submit'))
    }
    case 'approved': {
      const q = await create('5')
      return ok(action(q.id, 'submit'))
    }
    case 'rejected': {
      const q = await ok(action((await create('15')).id, 'submit'))
      await ok(
        app.inject({ method: 'POST', url: `/v1/approvals/${q.approval!.steps[0]!.id}/reject`, headers: manager, payload: { comment: 'not this quarter' } }),
      )
      return ok(read(q.id))
    }
    case 'presented':
      return ok(action((await inState('approved')).id, 'present'))
    case 'canceled':
      return ok(action((await create('5')).id, 'cancel'))
    case 'expired': {
      const q = await create('5', { validUntil: ctx.clock.now().toISOString().slice(0, 10) })
      ctx.clock.advance(DAY)
      const expired = await ok(read(q.id))
      ctx.clock.advance(-DAY)
      return expired
    }
    default:
      throw new Error(`no route to ${state}`)
  }
}

t.test('the state machine: every reachable state × every action agrees with QUOTE_TRANSITIONS', async (t) => {
  const states: QuoteStatus[] = ['draft', 'pending_approval', 'approved', 'rejected', 'presented', 'canceled', 'expired']
  const actions: Action[] = ['submit', 'present', 'cancel', 'revise']
  t.same(
    Object.keys(QUOTE_TRANSITIONS)
      .filter((s) => !states.includes(s as QuoteStatus))
      .sort(),
    ['accepted', 'declined'],
    "every state but the buyer's is covered",
  )
  for (const state of states) {
    for (const act of actions) {
      const quote = await inState(state)
      t.equal(quote.status, state, `set-up: a ${state} quote`)
      const res = act === 'revise' ? await revise(quote.id, { notes: `revised from ${state}` }) : await action(quote.id, act)
      const allowed = targetOf(QUOTE_TRANSITIONS, state, act) !== undefined
      const label = `${act} a ${state} quote`
      if (allowed) {
        t.equal(res.statusCode, 200, `${label}: allowed`)
        const after = res.json() as Quote
        t.equal(after.status, act === 'submit' ? 'approved' : TARGET[act], `${label}: new status`)
        if (state === 'pending_approval') t.equal(after.approval!.status, 'withdrawn', `${label}: the open request is withdrawn`)
        if (state === 'pending_approval')
          t.ok(
            after.approval!.steps.every((s) => s.status === 'withdrawn'),
            `${label}: its steps too`,
          )
      } else {
        t.equal(res.statusCode, 409, `${label}: refused`)
        t.match(res.json(), { code: 'INVALID_STATE_TRANSITION', from: state, to: TARGET[act], action: act }, `${label}: names both states and the action`)
        const unchanged = await ok(read(quote.id))
        t.same([unchanged.status, unchanged.version], [state, quote.version], `${label}: nothing changed`)
      }
    }
  }
  t.equal(ctx.clock.now().toISOString(), '2026-12-01T09:00:00.000Z', 'the clock is back')
})

t.test('the expiry sweep: only quotes past their validity in an expirable state; open approvals withdrawn; audited', async (t) => {
  const due = { validUntil: '2026-12-02' }
  const draft = await create('5', due)
  const pending = await ok(action((await create('15', due)).id, 'submit'))
  const approved = await ok(action((await create('5', due)).id, 'submit'))
  const toPresent = await ok(action((await create('5', due)).id, 'submit'))
  const presented = await ok(action(toPresent.id, 'present'))
  const rejectedQ = await ok(action((await create('15', due)).id, 'submit'))
  await ok(app.inject({ method: 'POST', url: `/v1/approvals/${rejectedQ.approval!.steps[0]!.id}/reject`, headers: manager, payload: { comment: 'no' } }))
  const canceled = await ok(action((await create('5', due)).id, 'cancel'))
  const notDue = await create('5', { validUntil: '2026-12-03' })
  t.same([pending.status, approved.status, presented.status], ['pending_approval', 'approved', 'presented'])
  const expectExpired = [draft.id, pending.id, approved.id, presented.id]

  const deps = { db, clock: ctx.clock }
  t.equal(await expireDueQuotes(deps), 0, 'nothing is due on 2026-12-01')
  ctx.clock.advance(2 * DAY) // 2026-12-03: due are those valid until 2026-12-02
  try {
    t.equal(await expireDueQuotes(deps, 3), 3, 'a batch at a time')
    t.equal(await expireDueQuotes(deps, 3), 1, 'the rest')
    t.equal(await expireDueQuotes(deps, 3), 0, 'nothing twice')

    const status = async (id: string) => (await db.selectFrom('quotes').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status
    for (const id of expectExpired) t.equal(await status(id), 'expired', `${id} expired`)
    t.equal(await status(rejectedQ.id), 'rejected', 'a rejected quote does not expire')
    t.equal(await status(canceled.id), 'canceled', 'a canceled one neither')
    t.equal(await status(notDue.id), 'draft', 'valid until today: not yet')

    const request = await db.selectFrom('approval_requests').select(['id', 'status']).where('quote_id', '=', pending.id).executeTakeFirstOrThrow()
    t.equal(request.status, 'withdrawn', 'the pending approval request is withdrawn')
    const steps = await db.selectFrom('approval_steps').select('status').where('request_id', '=', request.id).execute()
    t.same(
      steps.map((s) => s.status),
      ['withdrawn'],
    )
    t.equal(
      (await app.inject({ method: 'POST', url: `/v1/approvals/${pending.approval!.steps[0]!.id}/approve`, headers: manager, payload: {} })).json().code,
      'APPROVAL_STALE',
    )

    const audit = await db
      .selectFrom('audit_log')
      .select(['entity_id', 'action', 'actor_id', 'before', 'after'])
      .where('action', 'in', ['quote.expire', 'approval.withdrawn'])
      .where('entity_id', 'in', [...expectExpired, rejectedQ.id, canceled.id, notDue.id])
      .orderBy('seq')
      .execute()
    t.same(
      audit
        .filter((a) => a.action === 'quote.expire')
        .map((a) => a.entity_id)
        .sort(),
      [...expectExpired].sort(),
      'each expiry audited once',
    )
    t.ok(
      audit.every((a) => a.actor_id === null),
      'by the system',
    )
    t.match(
      audit.find((a) => a.entity_id === presented.id),
      { before: { status: 'presented' }, after: { status: 'expired', validUntil: '2026-12-02' } },
    )
    t.same(
      audit.filter((a) => a.action === 'approval.withdrawn').map((a) => a.entity_id),
      [pending.id],
      'and the withdrawal',
    )
    const events = await db
      .selectFrom('outbox_events')
      .select('aggregate_id')
      .where('type', '=', 'quote.expired')
      .where('aggregate_id', 'in', expectExpired)
      .execute()
    t.equal(events.length, 4, 'one quote.expired event each')
    const verify = await app.inject({ method: 'GET', url: '/v1/audit/verify', headers: ctx.as('admin') })
    t.equal(verify.json().ok, true)
  } finally {
    ctx.clock.advance(-2 * DAY)
  }
})

t.test('the outbox holds created, revised, submitted (pending_approval) and approved', async (t) => {
  const quote = await create('12')
  await ok(revise(quote.id, { lines: seats('14') }))
  const submitted = await ok(action(quote.id, 'submit'))
  t.equal(submitted.status, 'pending_approval')
  const step = submitted.approval!.steps[0]!
  await ok(app.inject({ method: 'POST', url: `/v1/approvals/${step.id}/approve`, headers: manager, payload: {} }))

  const events = await db
    .selectFrom('outbox_events')
    .select(['type', 'aggregate_type', 'payload', 'published_at'])
    .where('aggregate_id', '=', quote.id)
    .orderBy('id')
    .execute()
  t.same(
    events.map((e) => e.type),
    ['quote.created', 'quote.revised', 'quote.pending_approval', 'approval.approved', 'quote.approved'],
  )
  t.ok(
    events.every((e) => e.aggregate_type === 'quote' && e.published_at === null),
    'quote aggregates, not yet published',
  )
  t.same(events[0]!.payload, { quoteId: quote.id, number: quote.number })
  t.same(events[1]!.payload, { quoteId: quote.id, revision: 2, from: 'draft' })
  t.match(events[2]!.payload, { quoteId: quote.id, from: 'draft', to: 'pending_approval', fingerprintHash: submitted.revision.fingerprintHash })
  t.match(events[3]!.payload, { stepId: step.id, level: 1, role: 'sales_manager', actingFor: null })
  t.match(events[4]!.payload, { quoteId: quote.id, from: 'pending_approval', to: 'approved' })
  const audit = await db.selectFrom('audit_log').select('action').where('entity_id', '=', quote.id).orderBy('seq').execute()
  t.same(
    audit.map((a) => a.action),
    ['quote.created', 'quote.revised', 'approval.requested', 'quote.submit', 'quote.approve'],
  )
})

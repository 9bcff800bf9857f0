import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

/**
 * Accounts over HTTP: creation, idempotency, validation, cursor pagination, per-object
 * visibility (own / team / all), optimistic concurrency with If-Match, owner assignment and
 * contacts. One app for the whole file; every principal is named after what it is.
 */

const ctx = await buildTestApp(t)
const { app, database } = ctx
const db = database.db

type Headers = Record<string, string>

// Team: the sales manager manages `rep` (the helper's sales_rep) and `teammate`.
// `outsider` is a rep with no manager; `otherManager` manages nobody here.
await ctx.reportTo('sales_rep', ctx.principalIds.sales_manager)
const rep = { id: ctx.principalIds.sales_rep, headers: ctx.as('sales_rep') }
const manager = { id: ctx.principalIds.sales_manager, headers: ctx.as('sales_manager') }
const teammate = await ctx.principal('Teammate rep', ['sales_rep'], manager.id)
const outsider = await ctx.principal('Outsider rep', ['sales_rep'])
const otherManager = await ctx.principal('Other manager', ['sales_manager'])

const account = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  billingAddress: { line1: 'Hauptstraße 5', city: 'München', postalCode: '80331', country: 'DE' },
  country: 'DE',
  currency: 'EUR',
  segment: 'mid_market',
  ...extra,
})

const post = (headers: Headers, payload: unknown, extra: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/accounts', headers: { ...headers, ...extra }, payload: payload as object })
const get = (headers: Headers, id: string) => app.inject({ method: 'GET', url: `/v1/accounts/${id}`, headers })
const list = (headers: Headers, query = '') => app.inject({ method: 'GET', url: `/v1/accounts${query}`, headers })
const patch = (headers: Headers, id: string, payload: object, ifMatch?: string) =>
  app.inject({ method: 'PATCH', url: `/v1/accounts/${id}`, headers: { ...headers, ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) }, payload })

async function create(headers: Headers, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await post(headers, account(name, extra))
  if (res.statusCode !== 201) throw new Error(`creating ${name}: ${res.statusCode} ${res.body}`)
  return res.json().id as string
}

/** The distinct pointers of a problem (a union reports one error per branch). */
const pointers = (body: { errors?: Array<{ pointer: string }> }) => [...new Set((body.errors ?? []).map((e) => e.pointer))].sort()
const countAccounts = async () =>
  Number(
    (
      await db
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

t.test('create: 201, a prefixed id, owned by the caller, audited and in the outbox', async (t) => {
  const res = await post(rep.headers, account('Bayerische Motoren GmbH', { vatId: 'DE129273398' }))
  t.equal(res.statusCode, 201, res.body)
  const body = res.json()
  t.match(body.id, /^acc_[0-9a-f]{32}$/)
  t.equal(body.ownerId, rep.id)
  t.equal(body.version, 1)
  t.equal(body.vatId, 'DE129273398')
  t.same(body.billingAddress, { line1: 'Hauptstraße 5', city: 'München', postalCode: '80331', country: 'DE' })
  t.equal(body.createdAt, '2026-12-01T09:00:00.000Z', 'timestamps come from the clock')

  const withoutVat = await post(rep.headers, account('No VAT Ltd'))
  t.equal(withoutVat.json().vatId, null, 'an omitted VAT id is stored as null')

  const audit = await db.selectFrom('audit_log').selectAll().where('entity_id', '=', body.id).execute()
  t.same(
    audit.map((a) => [a.action, a.actor_id]),
    [['account.created', rep.id]],
  )
  const events = await db.selectFrom('outbox_events').select(['type', 'payload']).where('aggregate_id', '=', body.id).execute()
  t.same(events, [{ type: 'account.created', payload: { accountId: body.id } }])
})

t.test('create with an Idempotency-Key: a replay returns the same account and creates nothing', async (t) => {
  const before = await countAccounts()
  const first = await post(rep.headers, account('Retry GmbH'), { 'idempotency-key': 'acc-create-1' })
  t.equal(first.statusCode, 201, first.body)
  t.notOk(first.headers['idempotent-replayed'])
  const replay = await post(rep.headers, account('Retry GmbH'), { 'idempotency-key': 'acc-create-1' })
  t.equal(replay.statusCode, 201)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(replay.json(), first.json(), 'the very same body, dates included')
  t.equal(await countAccounts(), before + 1, 'one account')

  const reused = await post(rep.headers, account('Another GmbH'), { 'idempotency-key': 'acc-create-1' })
  t.equal(reused.statusCode, 422)
  t.equal(reused.json().code, 'IDEMPOTENCY_KEY_REUSED')
  // Keys are per principal: another principal's identical key is a new request.
  const theirs = await post(outsider.headers, account('Retry GmbH'), { 'idempotency-key': 'acc-create-1' })
  t.equal(theirs.statusCode, 201)
  t.not(theirs.json().id, first.json().id)
  t.equal(theirs.json().ownerId, outsider.id)
  t.equal(await countAccounts(), before + 2)
})

t.test('validation: 400 with a pointer at each offending field, nothing stored', async (t) => {
  const before = await countAccounts()
  const unknown = await post(rep.headers, { ...account('X'), website: 'https://x.example' })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().code, 'VALIDATION_FAILED')
  t.same(unknown.json().errors, [{ pointer: '/website', in: 'body', detail: 'unknown property' }])

  const country = await post(rep.headers, account('X', { country: 'de' }))
  t.equal(country.statusCode, 400)
  t.same(pointers(country.json()), ['/country'])

  const badAddressCountry = await post(rep.headers, account('X', { billingAddress: { line1: 'a', city: 'b', postalCode: 'c', country: 'DEU' } }))
  t.same(pointers(badAddressCountry.json()), ['/billingAddress/country'])

  const missing = await post(rep.headers, account('X', { billingAddress: { line1: 'Hauptstraße 5', country: 'DE' } }))
  t.equal(missing.statusCode, 400)
  t.same(pointers(missing.json()), ['/billingAddress/city', '/billingAddress/postalCode'], 'every missing field is named')

  const several = await post(rep.headers, { name: '', country: 'DE', currency: 'euro', segment: 'mid_market' })
  t.same(pointers(several.json()), ['/billingAddress', '/currency', '/name'], 'all errors at once')

  const vat = await post(rep.headers, account('X', { vatId: 'de-123' }))
  t.same(pointers(vat.json()), ['/vatId'])

  // Closed lists: a typo must not create an account that silently loses its discounts.
  const typo = await post(
    rep.headers,
    account('X', { segment: 'pubic_sector', currency: 'XXX', country: 'ZZ', billingAddress: { line1: 'a', city: 'b', postalCode: 'c', country: 'QQ' } }),
  )
  t.equal(typo.statusCode, 400)
  t.same(typo.json().errors, [
    { pointer: '/segment', detail: 'unknown segment; one of smb, mid_market, enterprise, public_sector, nonprofit, education' },
    { pointer: '/country', detail: 'not an ISO 3166-1 country code' },
    { pointer: '/billingAddress/country', detail: 'not an ISO 3166-1 country code' },
    { pointer: '/currency', detail: 'not an ISO 4217 currency' },
  ])
  const unsold = await post(rep.headers, account('X', { currency: 'JPY' }))
  t.same(unsold.json().errors, [{ pointer: '/currency', detail: 'no price book is in this currency; one of EUR, USD' }])
  t.equal(await countAccounts(), before)
})

t.test('list: cursor pagination over what the caller may see', async (t) => {
  // The outsider sees only their own; give them a known set.
  const mine = [await create(outsider.headers, 'Page 1'), await create(outsider.headers, 'Page 2'), await create(outsider.headers, 'Page 3')]
  const all = (await db.selectFrom('accounts').select('id').where('owner_id', '=', outsider.id).orderBy('id').execute()).map((r) => r.id)
  t.ok(all.length >= 4 && mine.every((id) => all.includes(id)))

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await list(outsider.headers, `?limit=2${cursor ? `&starting_after=${cursor}` : ''}`)
    t.equal(res.statusCode, 200, res.body)
    const page = res.json()
    pages++
    t.ok(page.data.length <= 2)
    seen.push(...page.data.map((a: { id: string }) => a.id))
    t.equal(page.hasMore, seen.length < all.length, `page ${pages}: hasMore`)
    t.equal(page.nextCursor, page.hasMore ? page.data[1].id : null, `page ${pages}: the cursor is the last id of the page`)
    cursor = page.nextCursor
  } while (cursor && pages < 10)
  t.same(seen, all, 'every account once, in id order')
  t.equal(pages, Math.ceil(all.length / 2))

  const exact = await list(outsider.headers, `?limit=${all.length}`)
  t.same([exact.json().data.length, exact.json().hasMore, exact.json().nextCursor], [all.length, false, null], 'a page exactly as long as the list has no more')
  const defaults = await list(outsider.headers)
  t.equal(defaults.json().data.length, all.length, 'default limit 20')
  const last = await list(outsider.headers, `?starting_after=${all[all.length - 1]}`)
  t.same(last.json(), { data: [], hasMore: false, nextCursor: null })

  for (const bad of ['?limit=0', '?limit=101', '?limit=two', '?sort=name']) {
    const res = await list(outsider.headers, bad)
    t.equal(res.statusCode, 400, bad)
    t.equal(res.json().errors[0].in, 'querystring', bad)
  }
})

t.test('per-object visibility: own, team, all; 404 for the rest; 403 without a selling role', async (t) => {
  const repAccount = await create(rep.headers, 'Rep account')
  const teammateAccount = await create(teammate.headers, 'Teammate account')
  const outsiderAccount = await create(outsider.headers, 'Outsider account')
  const managerAccount = await create(manager.headers, 'Manager account')

  const peek = await get(outsider.headers, repAccount)
  t.equal(peek.statusCode, 404)
  t.equal(peek.json().code, 'NOT_FOUND')
  t.same(
    peek.json().detail,
    (await get(outsider.headers, 'acc_doesnotexist')).json().detail.replace('acc_doesnotexist', repAccount),
    'the same answer as for an account that does not exist',
  )
  t.equal((await get(rep.headers, teammateAccount)).statusCode, 404, 'a teammate is not a manager')
  t.equal((await get(rep.headers, managerAccount)).statusCode, 404, "a rep does not see their manager's accounts")
  t.equal((await get(rep.headers, repAccount)).statusCode, 200)

  const idsOf = async (headers: Headers) => {
    const ids: string[] = []
    let cursor: string | null = null
    do {
      const page: { data: Array<{ id: string; ownerId: string }>; nextCursor: string | null } = (
        await list(headers, `?limit=100${cursor ? `&starting_after=${cursor}` : ''}`)
      ).json()
      ids.push(...page.data.map((a) => a.id))
      cursor = page.nextCursor
    } while (cursor)
    return ids
  }
  const repIds = await idsOf(rep.headers)
  t.ok(repIds.includes(repAccount) && !repIds.includes(teammateAccount) && !repIds.includes(outsiderAccount))
  const owners = async (ids: string[]) => new Set((await db.selectFrom('accounts').select('owner_id').where('id', 'in', ids).execute()).map((r) => r.owner_id))
  t.same([...(await owners(repIds))], [rep.id], 'the rep lists only their own')

  // The manager: their own and their team's, nobody else's.
  for (const id of [repAccount, teammateAccount, managerAccount]) t.equal((await get(manager.headers, id)).statusCode, 200, `manager reads ${id}`)
  t.equal((await get(manager.headers, outsiderAccount)).statusCode, 404, 'not in the team')
  const managerIds = await idsOf(manager.headers)
  t.same([...(await owners(managerIds))].sort(), [rep.id, teammate.id, manager.id].sort())
  t.ok(managerIds.includes(teammateAccount) && !managerIds.includes(outsiderAccount))
  t.equal((await get(otherManager.headers, repAccount)).statusCode, 404, 'another manager does not see this team')
  t.same(await idsOf(otherManager.headers), [])

  const total = await countAccounts()
  for (const role of ['finance', 'deal_desk', 'admin'] as const) {
    t.equal((await get(ctx.as(role), outsiderAccount)).statusCode, 200, `${role} reads any account`)
    t.equal((await idsOf(ctx.as(role))).length, total, `${role} lists every account`)
  }

  for (const res of [
    await get(ctx.as('pricing_analyst'), repAccount),
    await list(ctx.as('pricing_analyst')),
    await post(ctx.as('pricing_analyst'), account('Analyst')),
  ]) {
    t.equal(res.statusCode, 403)
    t.equal(res.json().code, 'FORBIDDEN')
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/accounts' })).statusCode, 401)
})

t.test('PATCH: If-Match required, stale ETags refused, a new ETag per version', async (t) => {
  const id = await create(rep.headers, 'Versioned SA')
  const read = await get(rep.headers, id)
  t.equal(read.headers.etag, '"v1"')

  const missing = await patch(rep.headers, id, { name: 'Renamed SA' })
  t.equal(missing.statusCode, 428)
  t.equal(missing.json().code, 'PRECONDITION_REQUIRED')
  const stale = await patch(rep.headers, id, { name: 'Renamed SA' }, '"v7"')
  t.equal(stale.statusCode, 412)
  t.equal(stale.json().code, 'PRECONDITION_FAILED')
  t.equal((await patch(rep.headers, id, { name: 'Renamed SA' }, 'v1')).statusCode, 412, 'an unquoted ETag matches nothing')

  const ok = await patch(rep.headers, id, { name: 'Renamed SA', vatId: 'DE811569869' }, '"v1"')
  t.equal(ok.statusCode, 200, ok.body)
  t.equal(ok.headers.etag, '"v2"')
  t.match(ok.json(), { name: 'Renamed SA', vatId: 'DE811569869', version: 2, ownerId: rep.id, segment: 'mid_market' })
  t.equal((await patch(rep.headers, id, { name: 'Lost update' }, '"v1"')).statusCode, 412, 'the old ETag is stale now')
  t.equal((await get(rep.headers, id)).json().name, 'Renamed SA', 'the stale write changed nothing')

  const weak = await patch(rep.headers, id, { vatId: null }, 'W/"v2"')
  t.equal(weak.statusCode, 200, 'a weak ETag of the current version matches')
  t.equal(weak.json().vatId, null, 'null clears the VAT id')
  t.equal(weak.headers.etag, '"v3"')

  t.equal((await patch(rep.headers, id, {}, '"v3"')).statusCode, 400, 'an empty patch')
  const unknown = await patch(rep.headers, id, { id: 'acc_mine' }, '"v3"')
  t.same([unknown.statusCode, pointers(unknown.json())], [400, ['/id']], 'no mass assignment of the id')
  t.equal((await patch(outsider.headers, id, { name: 'Hijack' }, '"v3"')).statusCode, 404, 'another rep cannot change it, nor learn it exists')

  const audit = await db.selectFrom('audit_log').select(['action', 'before', 'after']).where('entity_id', '=', id).orderBy('seq').execute()
  t.same(
    audit.map((a) => a.action),
    ['account.created', 'account.updated', 'account.updated'],
  )
  t.match(audit[1], { before: { name: 'Versioned SA', version: 1 }, after: { name: 'Renamed SA', version: 2 } })
})

t.test('owner assignment: a rep keeps their accounts, a manager moves them within the team', async (t) => {
  const gift = await post(rep.headers, account('Gift GmbH', { ownerId: outsider.id }))
  t.equal(gift.statusCode, 403, 'a rep cannot create for someone outside their team')
  t.equal(gift.json().code, 'FORBIDDEN')
  t.equal((await post(rep.headers, account('Gift GmbH', { ownerId: teammate.id }))).statusCode, 403, 'nor for a teammate: only managers assign')
  t.equal((await post(rep.headers, account('Self GmbH', { ownerId: rep.id }))).statusCode, 201, 'naming oneself is fine')

  const id = await create(rep.headers, 'Moving AG')
  const give = await patch(rep.headers, id, { ownerId: outsider.id }, '"v1"')
  t.equal(give.statusCode, 403, 'a rep cannot give an account away')
  t.equal((await get(rep.headers, id)).json().ownerId, rep.id)

  const moved = await patch(manager.headers, id, { ownerId: teammate.id }, '"v1"')
  t.equal(moved.statusCode, 200, moved.body)
  t.equal(moved.json().ownerId, teammate.id)
  t.equal((await get(teammate.headers, id)).statusCode, 200, 'the new owner sees it')
  t.equal((await get(rep.headers, id)).statusCode, 404, 'the former owner no longer does')

  t.equal((await patch(manager.headers, id, { ownerId: outsider.id }, '"v2"')).statusCode, 403, 'a manager cannot give outside the team')
  t.equal((await patch(otherManager.headers, id, { ownerId: otherManager.id }, '"v2"')).statusCode, 404, 'another manager cannot take it')

  const created = await post(manager.headers, account('For my rep', { ownerId: rep.id }))
  t.equal(created.statusCode, 201)
  t.equal(created.json().ownerId, rep.id, 'a manager creates for their rep')

  // Those who see all may assign to anyone active, and only to an active principal.
  const byAdmin = await patch(ctx.as('admin'), id, { ownerId: outsider.id }, '"v2"')
  t.equal(byAdmin.statusCode, 200)
  t.equal(byAdmin.json().ownerId, outsider.id)
  const ghost = await patch(ctx.as('admin'), id, { ownerId: 'prn_nobody' }, '"v3"')
  t.same([ghost.statusCode, pointers(ghost.json())], [400, ['/ownerId']])
  const leaver = await ctx.principal('Leaver', ['sales_rep'])
  await db.updateTable('principals').set({ status: 'revoked' }).where('id', '=', leaver.id).execute()
  const revoked = await post(ctx.as('admin'), account('For a leaver', { ownerId: leaver.id }))
  t.same([revoked.statusCode, pointers(revoked.json())], [400, ['/ownerId']], 'not to a revoked principal')
  t.equal((await get(ctx.as('admin'), id)).json().version, 3, 'refused assignments changed nothing')
})

t.test('contacts: create with a checked email, list, per-object visibility', async (t) => {
  const id = await create(rep.headers, 'Contacts SARL')
  const url = `/v1/accounts/${id}/contacts`
  const add = (headers: Headers, payload: object, extra: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { ...headers, ...extra }, payload })

  const first = await add(rep.headers, { name: 'Claire Dubois', email: 'claire.dubois@contacts.example', role: 'CFO' })
  t.equal(first.statusCode, 201, first.body)
  t.match(first.json(), { id: /^con_[0-9a-f]{32}$/, accountId: id, name: 'Claire Dubois', email: 'claire.dubois@contacts.example', role: 'CFO', version: 1 })
  const second = await add(rep.headers, { name: 'Marc Petit', email: 'marc@contacts.example' }, { 'idempotency-key': 'contact-1' })
  t.equal(second.json().role, null)
  const replay = await add(rep.headers, { name: 'Marc Petit', email: 'marc@contacts.example' }, { 'idempotency-key': 'contact-1' })
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(replay.json(), second.json())

  for (const email of ['not-an-email', 'claire@', '@contacts.example', 'a b@contacts.example']) {
    const res = await add(rep.headers, { name: 'Bad', email })
    t.equal(res.statusCode, 400, email)
    t.same(pointers(res.json()), ['/email'], email)
  }
  t.same(pointers((await add(rep.headers, { name: 'No email' })).json()), ['/email'])
  t.same(pointers((await add(rep.headers, { name: 'X', email: 'x@contacts.example', phone: '+33' })).json()), ['/phone'])

  const listed = await app.inject({ method: 'GET', url, headers: rep.headers })
  t.equal(listed.statusCode, 200)
  t.same(
    listed.json().data.map((c: { name: string }) => c.name),
    ['Claire Dubois', 'Marc Petit'],
    'in id (creation) order, no duplicate from the replay',
  )
  const paged = await app.inject({ method: 'GET', url: `${url}?limit=1`, headers: rep.headers })
  t.same([paged.json().data.length, paged.json().hasMore, paged.json().nextCursor], [1, true, first.json().id])

  t.equal((await add(outsider.headers, { name: 'Spy', email: 'spy@x.example' })).statusCode, 404, 'another rep cannot add to it')
  t.equal((await app.inject({ method: 'GET', url, headers: outsider.headers })).statusCode, 404, 'nor list its contacts')
  t.equal((await app.inject({ method: 'GET', url, headers: manager.headers })).json().data.length, 2, "the rep's manager lists them")
  t.equal((await app.inject({ method: 'GET', url: '/v1/accounts/acc_nope/contacts', headers: ctx.as('admin') })).statusCode, 404)
  const audit = await db.selectFrom('audit_log').select('action').where('entity_type', '=', 'contact').where('actor_id', '=', rep.id).execute()
  t.equal(audit.length, 2, 'each contact created once, audited')
})

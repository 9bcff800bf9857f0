import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { Config } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { EVENT_TYPES } from '../../src/events/event-catalogue.js'
import { appendEvent } from '../../src/events/outbox.service.js'
import { deliverDueWebhooks, relayOutbox, webhookDeps, type WebhookDeps } from '../../src/webhooks/index.js'
import { buildTestApp, onPostgres, type TestApp } from '../helpers/app.js'

/** Standard Webhooks verification, written here from the specification, independently of src/. */
function verify(secret: string, headers: IncomingMessage['headers'], body: string, nowSeconds: number): boolean {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  const signatures = headers['webhook-signature']
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false
  const key = Buffer.from(secret.split('_')[1]!, 'base64')
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest()
  return signatures.split(' ').some((s) => {
    const [version, value] = s.split(',')
    const given = Buffer.from(value ?? '', 'base64')
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected)
  })
}

type Mode = 'ok' | 'unavailable' | 'silent' | 'huge'
interface Received {
  id: string
  type: string
  aggregateId: string
  body: { type: string; version: number; id: string; timestamp: string; data: Record<string, unknown> }
}

/** An HTTP receiver on 127.0.0.1 that checks every signature, counts raw requests and keeps each event once (by webhook-id). */
async function receiver(t: Test, clock: { now(): Date }) {
  const state = { mode: 'ok' as Mode, secret: '', raw: new Map<string, number>(), events: [] as Received[], badSignatures: 0, tamperedAccepted: 0 }
  const hanging: ServerResponse[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const now = Math.floor(clock.now().getTime() / 1000)
      if (state.mode === 'silent') return void hanging.push(res)
      if (!verify(state.secret, req.headers, body, now)) {
        state.badSignatures++
        res.writeHead(401).end()
        return
      }
      if (verify(state.secret, req.headers, `${body} `, now)) state.tamperedAccepted++
      const id = req.headers['webhook-id'] as string
      if (state.mode === 'unavailable') return void res.writeHead(503).end('down for maintenance')
      if (state.mode === 'huge') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('x'.repeat(200 * 1024))
      // Counted as answered with a 2xx: what the receiver accepted, before de-duplication.
      state.raw.set(id, (state.raw.get(id) ?? 0) + 1)
      if (state.raw.get(id) === 1) {
        const parsed = JSON.parse(body) as Received['body']
        state.events.push({
          id,
          type: parsed.type,
          aggregateId: String(parsed.data.contractId ?? parsed.data.quoteId ?? parsed.data.accountId ?? ''),
          body: parsed,
        })
      }
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks` }
}

const ACCOUNT = {
  name: 'Acme Industrie SA',
  billingAddress: { line1: '12 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  segment: 'enterprise',
}
const LOCAL: Partial<Config> = { webhookAllowHttp: true, webhookAllowedNetworks: ['127.0.0.1/32'], webhookTimeoutMs: 500 }

async function setup(t: Test, overrides: Partial<Config> = {}) {
  const ctx = await buildTestApp(t, { ...LOCAL, ...overrides })
  const rx = await receiver(t, ctx.clock)
  const created = await ctx.app.inject({
    method: 'POST',
    url: '/v1/webhook-endpoints',
    headers: { ...ctx.as('admin'), 'idempotency-key': 'endpoint-1' },
    payload: { url: rx.url, eventTypes: ['*'], description: 'the test receiver' },
  })
  t.equal(created.statusCode, 201, created.body)
  rx.state.secret = created.json().secret
  const deps = webhookDeps(ctx.config, ctx.database.db, ctx.clock)
  return { ...ctx, rx, deps, endpoint: created.json() as { id: string; version: number; secret: string } }
}

async function quoteActivity(ctx: TestApp) {
  const account = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: ACCOUNT })
  const accountId = account.json().id as string
  const contact = await ctx.app.inject({
    method: 'POST',
    url: `/v1/accounts/${accountId}/contacts`,
    headers: ctx.as('sales_rep'),
    payload: { name: 'Camille Durand', email: 'camille.durand@acme.example', role: 'CFO' },
  })
  if (contact.statusCode !== 201) throw new Error(contact.body)
  const quoteIds: string[] = []
  for (let i = 0; i < 2; i++) {
    const q = await ctx.app.inject({
      method: 'POST',
      url: '/v1/quotes',
      headers: ctx.as('sales_rep'),
      payload: { accountId, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 5, termMonths: 12 }] },
    })
    if (q.statusCode !== 201) throw new Error(q.body)
    quoteIds.push(q.json().id)
  }
  for (const id of quoteIds) {
    for (const step of ['submit', 'present', 'cancel']) {
      const payload = step === 'present' ? { contactId: contact.json().id } : undefined
      const res = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${id}/${step}`, headers: ctx.as('sales_rep'), payload })
      if (res.statusCode !== 200) throw new Error(`${step}: ${res.body}`)
    }
  }
  return { accountId, quoteIds }
}

/** The outbox in write order: what every receiver must get, per aggregate in this order. */
async function outbox(ctx: TestApp) {
  return ctx.database.db.selectFrom('outbox_events').select(['id', 'type', 'aggregate_id', 'published_at']).orderBy('seq').execute()
}

function perAggregate(items: Array<{ id: string; aggregate: string }>) {
  const groups: Record<string, string[]> = {}
  for (const item of items) (groups[item.aggregate] ??= []).push(item.id)
  return groups
}

async function deliveryOf(ctx: TestApp, eventId: string) {
  return ctx.database.db.selectFrom('webhook_deliveries').selectAll().where('event_id', '=', eventId).executeTakeFirstOrThrow()
}

t.test('every event arrives signed, once after de-duplication, in order per aggregate; an outage is retried with backoff', async (t) => {
  const ctx = await setup(t)
  const { quoteIds } = await quoteActivity(ctx)
  const written = await outbox(ctx)
  t.ok(written.length >= 9, `${written.length} events written`)
  t.same(
    written.filter((e) => e.aggregate_id === quoteIds[0]).map((e) => e.type),
    ['quote.created', 'quote.pending_approval', 'quote.approved', 'quote.presented', 'quote.canceled'],
  )

  const relayed = await relayOutbox(ctx.deps, { limit: 1000 })
  t.same(relayed, { events: written.length, deliveries: written.length })
  t.same(await relayOutbox(ctx.deps, { limit: 1000 }), { events: 0, deliveries: 0 }, 'a rerun relays nothing')
  t.ok(
    (await outbox(ctx)).every((e) => e.published_at !== null),
    'every event is marked published',
  )

  // Per aggregate, one event at a time: a run takes the first pending event of each aggregate.
  let run = await deliverDueWebhooks(ctx.deps, { limit: 100, now: ctx.clock.now() })
  t.equal(run.delivered, new Set(written.map((e) => e.aggregate_id)).size, 'one event per aggregate in a run')
  for (let i = 0; i < 10 && run.attempted > 0; i++) run = await deliverDueWebhooks(ctx.deps, { limit: 100, now: ctx.clock.now() })
  t.equal(ctx.rx.state.badSignatures, 0, 'every signature verifies')
  t.equal(ctx.rx.state.tamperedAccepted, 0, 'a tampered body never verifies')
  t.same(ctx.rx.state.events.map((e) => e.id).sort(), written.map((e) => e.id).sort(), 'each event arrived')
  t.same(
    [...ctx.rx.state.raw.values()].filter((n) => n !== 1),
    [],
    'and exactly once',
  )
  t.same(
    perAggregate(ctx.rx.state.events.map((e) => ({ id: e.id, aggregate: e.aggregateId }))),
    perAggregate(written.map((e) => ({ id: e.id, aggregate: e.aggregate_id }))),
    'per quote, in the order written',
  )
  const first = ctx.rx.state.events.find((e) => e.type === 'quote.created')!
  t.match(first.body, { type: 'quote.created', version: 1, id: first.id, data: { quoteId: quoteIds[0], number: /^Q-2026-\d{6}$/ } })
  t.equal(first.body.timestamp, '2026-12-01T09:00:00.000Z', 'the envelope carries when the event happened')

  // The receiver goes down: attempts fail, are logged, and wait 30 s, then 2 min.
  ctx.rx.state.mode = 'unavailable'
  const more = await ctx.app.inject({
    method: 'POST',
    url: '/v1/quotes',
    headers: ctx.as('sales_rep'),
    payload: {
      accountId: (await outbox(ctx)).find((e) => e.type === 'account.created')!.aggregate_id,
      lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 5, termMonths: 12 }],
    },
  })
  t.equal(more.statusCode, 201, more.body)
  const laterQuote = more.json().id as string
  t.equal((await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${laterQuote}/cancel`, headers: ctx.as('sales_rep') })).statusCode, 200)
  t.same(await relayOutbox(ctx.deps, { limit: 1000 }), { events: 2, deliveries: 2 })
  const [createdEvent, canceledEvent] = (await outbox(ctx)).filter((e) => e.aggregate_id === laterQuote)
  const start = ctx.clock.now()
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 100, now: start }), { attempted: 1, retrying: 1, delivered: 0 }, 'the cancel waits for the creation')
  let delivery = await deliveryOf(ctx, createdEvent!.id)
  t.equal(delivery.state, 'pending')
  t.equal(delivery.attempt_count, 1)
  t.equal(delivery.last_status, 503)
  t.equal(delivery.next_attempt_at.getTime() - start.getTime(), 30_000, 'the first retry after 30 s')
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 100, now: ctx.clock.now() }), { attempted: 0 }, 'not due yet')
  ctx.clock.advance(30_000)
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 100, now: ctx.clock.now() }), { attempted: 1, retrying: 1 })
  delivery = await deliveryOf(ctx, createdEvent!.id)
  t.equal(delivery.next_attempt_at.getTime() - ctx.clock.now().getTime(), 120_000, 'the second after 2 min')
  const log = await ctx.app.inject({ method: 'GET', url: `/v1/webhook-deliveries/${delivery.id}`, headers: ctx.as('admin') })
  t.equal(log.statusCode, 200, log.body)
  t.match(log.json().attempts, [
    { attempt: 1, status: 503, error: 'HTTP 503', responseBody: 'down for maintenance', responseTruncated: false, attemptedAt: start.toISOString() },
    { attempt: 2, status: 503 },
  ])
  t.ok(
    log.json().attempts.every((a: { durationMs: number }) => Number.isInteger(a.durationMs) && a.durationMs >= 0),
    'durations are recorded',
  )

  ctx.rx.state.mode = 'ok'
  ctx.clock.advance(120_000)
  for (let i = 0; i < 3; i++) await deliverDueWebhooks(ctx.deps, { limit: 100, now: ctx.clock.now() })
  t.same(
    ctx.rx.state.events.slice(-2).map((e) => e.id),
    [createdEvent!.id, canceledEvent!.id],
    'back up: both arrive, in order',
  )
  t.equal((await deliveryOf(ctx, canceledEvent!.id)).state, 'delivered')

  const listed = await ctx.app.inject({
    method: 'GET',
    url: `/v1/webhook-endpoints/${ctx.endpoint.id}/deliveries?state=delivered&limit=5`,
    headers: ctx.as('admin'),
  })
  t.equal(listed.statusCode, 200, listed.body)
  t.equal(listed.json().data.length, 5)
  t.equal(listed.json().hasMore, true)
  const rest = await ctx.app.inject({
    method: 'GET',
    url: `/v1/webhook-endpoints/${ctx.endpoint.id}/deliveries?state=delivered&limit=100&starting_after=${listed.json().nextCursor}`,
    headers: ctx.as('admin'),
  })
  t.equal(rest.json().data.length + 5, written.length + 2, 'every delivery is listed once across pages')
  t.same(
    (await ctx.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ctx.endpoint.id}/deliveries?state=failed`, headers: ctx.as('admin') })).json().data,
    [],
  )

  // A replay of a delivered event: the receiver sees the same webhook-id and keeps it once.
  const retried = await ctx.app.inject({
    method: 'POST',
    url: `/v1/webhook-deliveries/${delivery.id}/retry`,
    headers: { ...ctx.as('admin'), 'idempotency-key': 'replay-1' },
  })
  t.equal(retried.statusCode, 200, retried.body)
  t.match(retried.json(), { state: 'pending', attemptCount: 0 })
  await deliverDueWebhooks(ctx.deps, { limit: 100, now: ctx.clock.now() })
  t.equal(ctx.rx.state.raw.get(createdEvent!.id), 2, 'sent again under the same webhook-id')
  t.equal(ctx.rx.state.events.filter((e) => e.id === createdEvent!.id).length, 1, 'and kept once')
  const again = await ctx.app.inject({
    method: 'POST',
    url: `/v1/webhook-deliveries/${delivery.id}/retry`,
    headers: { ...ctx.as('admin'), 'idempotency-key': 'replay-1' },
  })
  t.equal(again.headers['idempotent-replayed'], 'true', 'the retry is idempotent')
})

t.test('retries exhausted: failed; the retry endpoint queues it again and it is delivered', async (t) => {
  const ctx = await setup(t, { webhookMaxAttempts: 2 })
  await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: ACCOUNT })
  await relayOutbox(ctx.deps, { limit: 10 })
  ctx.rx.state.mode = 'unavailable'
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { attempted: 1, retrying: 1 })
  ctx.clock.advance(30_000)
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { attempted: 1, failed: 1 })
  const [event] = await outbox(ctx)
  const delivery = await deliveryOf(ctx, event!.id)
  t.equal(delivery.state, 'failed')
  ctx.clock.advance(86_400_000)
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { attempted: 0 }, 'a failed delivery is not attempted again')

  const pendingRetry = await ctx.app.inject({ method: 'POST', url: `/v1/webhook-deliveries/${delivery.id}/retry`, headers: ctx.as('finance') })
  t.equal(pendingRetry.statusCode, 403, 'admins only')
  ctx.rx.state.mode = 'ok'
  const retried = await ctx.app.inject({ method: 'POST', url: `/v1/webhook-deliveries/${delivery.id}/retry`, headers: ctx.as('admin') })
  t.equal(retried.statusCode, 200, retried.body)
  const twice = await ctx.app.inject({ method: 'POST', url: `/v1/webhook-deliveries/${delivery.id}/retry`, headers: ctx.as('admin') })
  t.same([twice.statusCode, twice.json().code], [409, 'INVALID_STATE_TRANSITION'], 'a pending delivery is not queued twice')
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { attempted: 1, delivered: 1 })
  t.same(
    ctx.rx.state.events.map((e) => e.id),
    [event!.id],
  )
  const read = await ctx.app.inject({ method: 'GET', url: `/v1/webhook-deliveries/${delivery.id}`, headers: ctx.as('admin') })
  t.match(read.json(), { state: 'delivered', attemptCount: 1, lastStatus: 204 })
  t.same(
    read.json().attempts.map((a: { attempt: number; status: number }) => [a.attempt, a.status]),
    [
      [1, 503],
      [2, 503],
      [1, 204],
    ],
    'the log keeps the attempts before the retry',
  )
})

t.test('a disabled endpoint gets no new deliveries and its pending ones are not sent; enabling it resumes them', async (t) => {
  const ctx = await setup(t)
  await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: ACCOUNT })
  await relayOutbox(ctx.deps, { limit: 10 })
  const read = await ctx.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ctx.endpoint.id}`, headers: ctx.as('admin') })
  const off = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/webhook-endpoints/${ctx.endpoint.id}`,
    headers: { ...ctx.as('admin'), 'if-match': read.headers.etag as string },
    payload: { enabled: false },
  })
  t.equal(off.statusCode, 200, off.body)
  const stale = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/webhook-endpoints/${ctx.endpoint.id}`,
    headers: { ...ctx.as('admin'), 'if-match': read.headers.etag as string },
    payload: { enabled: true },
  })
  t.equal(stale.statusCode, 412, 'an old ETag is refused')
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { attempted: 0 })
  await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: { ...ACCOUNT, name: 'Second' } })
  t.same(await relayOutbox(ctx.deps, { limit: 10 }), { events: 1, deliveries: 0 })
  const on = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/webhook-endpoints/${ctx.endpoint.id}`,
    headers: { ...ctx.as('admin'), 'if-match': off.headers.etag as string },
    payload: { enabled: true, eventTypes: ['account.created', 'quote.created'] },
  })
  t.equal(on.statusCode, 200, on.body)
  t.same(on.json().eventTypes, ['account.created', 'quote.created'])
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { delivered: 1 })
  t.equal(ctx.rx.state.events.length, 1)
})

t.test('webhook URLs: https only, public addresses only unless allowed, at registration and at delivery', async (t) => {
  const ctx = await buildTestApp(t, { webhookAllowHttp: false, webhookAllowedNetworks: [] })
  const register = (url: string, app = ctx.app) =>
    app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: ctx.as('admin'), payload: { url, eventTypes: ['quote.created'] } })
  const blocked = [
    'https://10.0.0.1/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://100.64.0.1/hook',
    'https://localhost/hook',
    'https://[fd00::1]/hook',
    'https://224.0.0.1/hook',
    'https://0.0.0.0/hook',
  ]
  for (const url of blocked) {
    const res = await register(url)
    t.equal(res.statusCode, 422, `${url} is refused`)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(res.json(), { code: 'WEBHOOK_URL_REFUSED', errors: [{ pointer: '/url' }] })
  }
  t.match((await register('http://93.184.215.14/hook')).json(), { code: 'WEBHOOK_URL_REFUSED', detail: /https/ }, 'plain http is refused by default')
  t.match((await register('https://user:pw@93.184.215.14/hook')).json(), { code: 'WEBHOOK_URL_REFUSED', detail: /credentials/ })
  t.equal((await register('https://93.184.215.14/hook')).statusCode, 201, 'a public address is fine')
  t.equal((await register('https://example.invalid/hook')).json().code, 'WEBHOOK_URL_REFUSED', 'a host that does not resolve')
  t.equal(
    (
      await ctx.app.inject({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers: ctx.as('admin'),
        payload: { url: 'https://93.184.215.14/', eventTypes: ['quote.nope'] },
      })
    ).statusCode,
    400,
    'an event type outside the catalogue',
  )
  const tooMany = Array.from({ length: 51 }, () => '*')
  t.equal(
    (
      await ctx.app.inject({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers: ctx.as('admin'),
        payload: { url: 'https://93.184.215.14/', eventTypes: tooMany },
      })
    ).statusCode,
    400,
    'more than 50 types',
  )
  t.equal((await ctx.database.db.selectFrom('webhook_endpoints').select('id').execute()).length, 1, 'nothing refused was stored')

  const allowing = await buildTestApp(t, {
    webhookAllowedNetworks: ['10.0.0.0/8', '169.254.0.0/16', '::1', '127.0.0.1', '100.64.0.0/10'],
  })
  for (const url of blocked.slice(0, 6)) {
    const res = await allowing.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: allowing.as('admin'), payload: { url, eventTypes: ['*'] } })
    t.equal(res.statusCode, 201, `${url} is allowed by the allow-list`)
  }
})

t.test('at delivery time the address is checked again, on what the host resolves to then', async (t) => {
  const ctx = await setup(t)
  await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: ACCOUNT })
  await relayOutbox(ctx.deps, { limit: 10 })
  // The allow-list is gone when the delivery runs (a changed setting): the loopback receiver is refused.
  const strict: WebhookDeps = webhookDeps({ ...ctx.config, webhookAllowedNetworks: [] }, ctx.database.db, ctx.clock)
  t.match(await deliverDueWebhooks(strict, { limit: 10, now: ctx.clock.now() }), { attempted: 1, retrying: 1 })
  const [event] = await outbox(ctx)
  t.match(await deliveryOf(ctx, event!.id), { last_status: null, last_error: /^refused: .*127\.0\.0\.1, a loopback address/ })
  t.equal(ctx.rx.state.raw.size, 0, 'nothing reached the receiver')

  // A host that resolved to a public address at registration and to loopback now (DNS rebinding).
  const rebinding: WebhookDeps = { ...strict, resolver: async () => [{ address: '127.0.0.1', family: 4 }] }
  await ctx.database.db.updateTable('webhook_endpoints').set({ url: 'http://rebind.example.com/hooks' }).execute()
  ctx.clock.advance(30_000)
  t.match(await deliverDueWebhooks(rebinding, { limit: 10, now: ctx.clock.now() }), { attempted: 1, retrying: 1 })
  t.match(await deliveryOf(ctx, event!.id), { last_error: /^refused: .*127\.0\.0\.1/ })
  t.equal(ctx.rx.state.raw.size, 0)
})

t.test('a huge answer is cut at 64 KiB; a receiver that never answers times out', async (t) => {
  const ctx = await setup(t)
  await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: ACCOUNT })
  await relayOutbox(ctx.deps, { limit: 10 })
  const [event] = await outbox(ctx)
  ctx.rx.state.mode = 'huge'
  await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() })
  const delivery = await deliveryOf(ctx, event!.id)
  let attempts = await ctx.database.db.selectFrom('webhook_delivery_attempts').selectAll().where('delivery_id', '=', delivery.id).execute()
  t.equal(attempts[0]!.status, 500)
  t.equal(attempts[0]!.response_body!.length, 64 * 1024, 'the first 64 KiB kept')
  t.equal(attempts[0]!.response_truncated, true)

  ctx.rx.state.mode = 'silent'
  ctx.clock.advance(30_000)
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { attempted: 1, retrying: 1 })
  attempts = await ctx.database.db.selectFrom('webhook_delivery_attempts').selectAll().where('delivery_id', '=', delivery.id).orderBy('id').execute()
  t.match(attempts[1], { status: null, error: /^timeout/ })
})

t.test('admins only; the secret is shown once, on create and on rotation; a rotated secret signs from then on', async (t) => {
  const ctx = await setup(t)
  t.match(ctx.endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
  t.equal(Buffer.from(ctx.endpoint.secret.slice(6), 'base64').length, 32)
  const routes: Array<[string, string]> = [
    ['POST', '/v1/webhook-endpoints'],
    ['GET', '/v1/webhook-endpoints'],
    ['GET', `/v1/webhook-endpoints/${ctx.endpoint.id}`],
    ['PATCH', `/v1/webhook-endpoints/${ctx.endpoint.id}`],
    ['DELETE', `/v1/webhook-endpoints/${ctx.endpoint.id}`],
    ['POST', `/v1/webhook-endpoints/${ctx.endpoint.id}/rotate-secret`],
    ['GET', `/v1/webhook-endpoints/${ctx.endpoint.id}/deliveries`],
    ['GET', '/v1/webhook-deliveries/whd_x'],
    ['POST', '/v1/webhook-deliveries/whd_x/retry'],
  ]
  for (const [method, url] of routes) {
    const res = await ctx.app.inject({ method: method as 'GET', url, headers: ctx.as('sales_manager'), ...(method === 'GET' ? {} : { payload: {} }) })
    t.same([res.statusCode, res.json().code], [403, 'FORBIDDEN'], `${method} ${url}`)
  }
  const types = await ctx.app.inject({ method: 'GET', url: '/v1/webhook-event-types', headers: ctx.as('sales_rep') })
  t.equal(types.statusCode, 200, 'the catalogue is for any principal')
  t.same(
    types.json().data.map((e: { type: string }) => e.type),
    EVENT_TYPES,
  )

  const replay = await ctx.app.inject({
    method: 'POST',
    url: '/v1/webhook-endpoints',
    headers: { ...ctx.as('admin'), 'idempotency-key': 'endpoint-1' },
    payload: { url: ctx.rx.url, eventTypes: ['*'], description: 'the test receiver' },
  })
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.json().id, ctx.endpoint.id)
  t.notOk('secret' in replay.json(), 'a replay does not show the secret again')
  const one = await ctx.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ctx.endpoint.id}`, headers: ctx.as('admin') })
  const list = await ctx.app.inject({ method: 'GET', url: '/v1/webhook-endpoints', headers: ctx.as('admin') })
  t.notOk(one.body.includes('whsec_') || list.body.includes('whsec_'), 'reads never show it')
  const audit = await ctx.database.db.selectFrom('audit_log').select(['action', 'after']).where('entity_type', '=', 'webhook_endpoint').execute()
  t.same(
    audit.map((a) => a.action),
    ['webhook_endpoint.created'],
  )
  t.notOk(JSON.stringify(audit).includes('whsec_'), 'nor the audit log')

  const rotated = await ctx.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${ctx.endpoint.id}/rotate-secret`, headers: ctx.as('admin') })
  t.equal(rotated.statusCode, 200, rotated.body)
  t.not(rotated.json().secret, ctx.endpoint.secret)
  await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: ACCOUNT })
  await relayOutbox(ctx.deps, { limit: 10 })
  await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() })
  t.equal(ctx.rx.state.badSignatures, 1, 'the old secret no longer verifies')
  ctx.rx.state.secret = rotated.json().secret
  ctx.clock.advance(30_000)
  t.match(await deliverDueWebhooks(ctx.deps, { limit: 10, now: ctx.clock.now() }), { delivered: 1 }, 'the new one does')

  const deleted = await ctx.app.inject({ method: 'DELETE', url: `/v1/webhook-endpoints/${ctx.endpoint.id}`, headers: ctx.as('admin') })
  t.equal(deleted.statusCode, 200)
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ctx.endpoint.id}`, headers: ctx.as('admin') })).statusCode, 404)
  const actions = await ctx.database.db.selectFrom('audit_log').select('action').where('entity_type', '=', 'webhook_endpoint').orderBy('seq').execute()
  t.same(
    actions.map((a) => a.action),
    ['webhook_endpoint.created', 'webhook_endpoint.secret_rotated', 'webhook_endpoint.deleted'],
  )
})

t.test('appendEvent takes only catalogue payloads: a wrong one throws and the change rolls back', async (t) => {
  const ctx = await buildTestApp(t)
  const bad = ctx.database.db.transaction().execute(async (trx) => {
    await appendEvent(trx, ctx.clock.now(), { type: 'account.created', aggregateType: 'account', aggregateId: 'acc_1', payload: { accountId: 'acc_1' } })
    // @ts-expect-error: the compiler refuses a payload of the wrong shape; the check at run time refuses it too.
    await appendEvent(trx, ctx.clock.now(), { type: 'quote.created', aggregateType: 'quote', aggregateId: 'qt_1', payload: { quoteId: 'qt_1', number: 7 } })
  })
  await t.rejects(bad, /quote\.created payload does not match its schema: \/number/)
  const extra = ctx.database.db.transaction().execute((trx) =>
    appendEvent(trx, ctx.clock.now(), {
      type: 'quote.created',
      aggregateType: 'quote',
      aggregateId: 'qt_1',
      payload: { quoteId: 'qt_1', number: 'Q-2026-000001', secret: 'x' } as never,
    }),
  )
  await t.rejects(extra, /payload does not match/)
  t.equal((await outbox(ctx)).length, 0, 'nothing was written')
})

t.test('docs/webhooks.md documents every catalogue type and the limits it states', async (t) => {
  const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8')
  for (const type of EVENT_TYPES) t.match(doc, `\`${type}\``, `${type} is documented`)
  t.match(doc, /30 s, 2 min, 10 min, 1 h, 6 h, 12 h, then every 24 h/)
  t.match(doc, /64 KiB/)
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  for (const name of ['QTC_WEBHOOK_ALLOW_HTTP', 'QTC_WEBHOOK_ALLOWED_NETWORKS', 'QTC_WEBHOOK_TIMEOUT_MS', 'QTC_WEBHOOK_MAX_ATTEMPTS'])
    t.match(readme, `\`${name}\``)
})

t.test('two relays and two delivery runs at once, on separate pools: each event is delivered once', { skip: !onPostgres && 'needs PostgreSQL' }, async (t) => {
  const ctx = await setup(t)
  await quoteActivity(ctx)
  await quoteActivity(ctx)
  const written = await outbox(ctx)
  const other = await openDatabase(ctx.config)
  t.teardown(() => other.close())
  const otherDeps = webhookDeps(ctx.config, other.db, ctx.clock)
  const relays = await Promise.all([
    relayOutbox(ctx.deps, { limit: 5 }),
    relayOutbox(otherDeps, { limit: 5 }),
    relayOutbox(ctx.deps, { limit: 1000 }),
    relayOutbox(otherDeps, { limit: 1000 }),
  ])
  t.equal(
    relays.reduce((n, r) => n + r.deliveries, 0),
    written.length,
    'one delivery per event',
  )
  for (let i = 0; i < 12; i++) {
    const runs = await Promise.all([
      deliverDueWebhooks(ctx.deps, { limit: 100, now: ctx.clock.now() }),
      deliverDueWebhooks(otherDeps, { limit: 100, now: ctx.clock.now() }),
    ])
    if (runs.every((r) => r.attempted === 0)) break
  }
  t.equal(ctx.rx.state.raw.size, written.length, 'every event arrived')
  t.same(
    [...ctx.rx.state.raw.values()].filter((n) => n !== 1),
    [],
    'none twice, before any de-duplication',
  )
  t.same(
    perAggregate(ctx.rx.state.events.map((e) => ({ id: e.id, aggregate: e.aggregateId }))),
    perAggregate(written.map((e) => ({ id: e.id, aggregate: e.aggregate_id }))),
    'in order per quote',
  )
})

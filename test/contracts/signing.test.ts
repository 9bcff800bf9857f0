import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { verifyAudit } from '../../src/audit/audit.service.js'
import { formatMoney } from '../../src/documents/locale.js'
import { decodeSnapshot } from '../../src/evaluation/evaluation.js'
import { redactSigningToken } from '../../src/app.js'
import { SIGNING_ATTEMPTS_PER_MINUTE } from '../../src/signing/signing.routes.js'
import { CONTENT_SECURITY_POLICY } from '../../src/signing/signing-page.js'
import { pdfText } from '../helpers/pdf-text.js'

const ACCOUNT = {
  name: 'Acme Industrie SA',
  billingAddress: { line1: '12 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  vatId: 'FR11123456782',
  segment: 'enterprise',
}
/** No discount: approved on submit, nothing to approve. */
const LINES = [{ sku: 'PLAT-PRO-SEAT', quantity: 20, termMonths: 12 }]
const FORM = 'application/x-www-form-urlencoded'

interface Presented {
  ctx: TestApp
  quoteId: string
  contactId: string
  contractId: string
  token: string
  url: string
}

async function presented(t: Test, options: { lang?: 'en' | 'fr' } = {}): Promise<Presented> {
  const ctx = await buildTestApp(t)
  const rep = ctx.as('sales_rep')
  const account = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: ACCOUNT })
  t.equal(account.statusCode, 201, account.body)
  const contact = await ctx.app.inject({
    method: 'POST',
    url: `/v1/accounts/${account.json().id}/contacts`,
    headers: rep,
    payload: { name: 'Camille Durand', email: 'camille.durand@acme.example', role: 'CFO' },
  })
  t.equal(contact.statusCode, 201, contact.body)
  const quote = await ctx.app.inject({ method: 'POST', url: '/v1/quotes', headers: rep, payload: { accountId: account.json().id, lines: LINES } })
  t.equal(quote.statusCode, 201, quote.body)
  const submitted = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quote.json().id}/submit`, headers: rep })
  t.equal(submitted.json().status, 'approved', 'nothing to approve')
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/quotes/${quote.json().id}/present`,
    headers: rep,
    payload: { contactId: contact.json().id, ...(options.lang ? { lang: options.lang } : {}) },
  })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  const url = new URL(body.signingUrl)
  return { ctx, quoteId: quote.json().id, contactId: contact.json().id, contractId: body.contract.id, token: url.pathname.split('/')[2]!, url: url.pathname }
}

const page = (p: Presented, path = '', headers: Record<string, string> = {}) => p.ctx.app.inject({ method: 'GET', url: `${p.url}${path}`, headers })
const sign = (p: Presented, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  p.ctx.app.inject({ method: 'POST', url: `${p.url}/sign`, headers: { 'content-type': FORM, ...headers }, payload: new URLSearchParams(fields).toString() })
const decline = (p: Presented, reason: string) =>
  p.ctx.app.inject({ method: 'POST', url: `${p.url}/decline`, headers: { 'content-type': FORM }, payload: new URLSearchParams({ reason }).toString() })
const SIGNER = { name: 'Camille Durand', title: 'Directrice financière', email: 'camille.durand@acme.example', consent: 'yes', consentVersion: '1' }
const contractOf = (p: Presented) => p.ctx.app.inject({ method: 'GET', url: `/v1/contracts/${p.contractId}`, headers: p.ctx.as('sales_rep') })
const quoteOf = (p: Presented) => p.ctx.app.inject({ method: 'GET', url: `/v1/quotes/${p.quoteId}`, headers: p.ctx.as('sales_rep') })

t.test('present stores the document and its hash, returns the link once and keeps only its hash', async (t) => {
  const p = await presented(t)
  t.match(p.token, /^[A-Za-z0-9_-]{43}$/, '256 random bits, URL-safe')
  const row = await p.ctx.database.db.selectFrom('contracts').selectAll().where('id', '=', p.contractId).executeTakeFirstOrThrow()
  t.not(row.token_hash, p.token)
  t.notOk(JSON.stringify(row).includes(p.token), 'the token is stored nowhere in the contract')
  t.equal(row.status, 'sent')
  t.equal(row.lang, 'fr', 'a French account gets the French document')
  t.equal(row.expires_on, (await quoteOf(p)).json().validUntil, 'the link lives as long as the quote')
  t.equal(row.terms && (row.terms as { id: string }).id, 'standard')
  const text = (await pdfText(row.document)).join(' ')
  t.match(text, /Devis/)
  const quote = (await quoteOf(p)).json()
  t.equal(quote.status, 'presented')
  t.match(text, quote.number)
  const outbox = await p.ctx.database.db.selectFrom('outbox_events').selectAll().where('type', '=', 'contract.sent').execute()
  t.equal(outbox.length, 1)
  t.equal((outbox[0]!.payload as { signingUrl: string }).signingUrl.endsWith(p.url), true, 'the outbox event carries the link for the mailer')
  t.equal(redactSigningToken(`${p.url}/sign?lang=fr`), '/sign/[redacted]/sign?lang=fr', 'logs keep the path without the token')
})

t.test("the buyer's page: the quote's figures, strict CSP, both languages, a view on the timeline", async (t) => {
  const p = await presented(t)
  const res = await page(p)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
  t.match(res.headers['content-type'], /text\/html/)
  t.notMatch(res.body, /<script/i, 'no script on the page')
  const quote = (await quoteOf(p)).json()
  const snapshot = decodeSnapshot(
    (await p.ctx.database.db.selectFrom('quote_revisions').select('evaluation').where('quote_id', '=', p.quoteId).executeTakeFirstOrThrow()).evaluation,
  )
  t.ok(res.body.includes(formatMoney(snapshot.totals.net, 'fr')), 'the total shown is the quote’s, formatted in French')
  t.match(res.body, quote.number)
  t.match(res.body, /Signer le devis/)
  const en = await page(p, '?lang=en')
  t.match(en.body, /Sign the quote/)
  t.ok(en.body.includes(formatMoney(snapshot.totals.net, 'en')))
  const byHeader = await page(p, '', { 'accept-language': 'en-US,en;q=0.9' })
  t.match(byHeader.body, /Sign the quote/, 'Accept-Language picks the language')
  const pdf = await page(p, '/document.pdf')
  t.equal(pdf.headers['content-type'], 'application/pdf')
  const contract = (await contractOf(p)).json()
  t.equal(contract.status, 'viewed')
  t.same(
    contract.timeline.map((e: { type: string }) => e.type),
    ['sent', 'viewed', 'viewed', 'viewed', 'downloaded'],
  )
  t.equal(contract.timeline[1].userAgent, 'lightMyRequest', 'who viewed is recorded')
})

t.test('signing: evidence, signed copy, the quote accepted with quote.accepted in the same transaction, once', async (t) => {
  const p = await presented(t)
  await page(p)
  const res = await sign(p, { ...SIGNER, name: '<script>alert(1)</script>' }, { 'user-agent': 'Mozilla/5.0 (Test)' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.body, /Le devis est signé/)
  t.notMatch(res.body, /<script>alert/, 'nothing typed is markup on the page')
  const contract = (await contractOf(p)).json()
  t.equal(contract.status, 'signed')
  t.equal(contract.evidence.signer.name, '<script>alert(1)</script>')
  t.equal(contract.evidence.userAgent, 'Mozilla/5.0 (Test)')
  t.equal(contract.evidence.documentSha256, contract.documentSha256)
  t.match(contract.evidence.consent.text, /signer ce devis électroniquement/)
  t.match(contract.evidenceHash, /^[0-9a-f]{64}$/)
  t.equal((await quoteOf(p)).json().status, 'accepted')
  const accepted = await p.ctx.database.db.selectFrom('outbox_events').selectAll().where('type', '=', 'quote.accepted').execute()
  t.equal(accepted.length, 1)
  const audit = await p.ctx.database.db.selectFrom('audit_log').selectAll().where('action', 'in', ['contract.signed', 'quote.accept']).orderBy('seq').execute()
  t.same(
    audit.map((a) => [a.action, a.actor_id, a.actor_kind, a.actor_ref]),
    [
      ['contract.signed', null, 'buyer', p.contactId],
      ['quote.accept', null, 'buyer', p.contactId],
    ],
    'the buyer is the actor in the audit chain',
  )
  t.same((await verifyAudit(p.ctx.database.db)).ok, true, 'the chain verifies with buyer entries')

  const copy = await p.ctx.app.inject({ method: 'GET', url: `/v1/contracts/${p.contractId}/signed.pdf`, headers: p.ctx.as('sales_rep') })
  t.equal(copy.statusCode, 200)
  const text = (await pdfText(copy.rawPayload)).join(' ')
  t.ok(text.includes(contract.evidenceHash), 'the certificate page carries the evidence hash')
  t.ok(text.includes('<script>alert(1)</script>'), 'and the name as plain text')

  const again = await sign(p, SIGNER)
  t.equal(again.statusCode, 200)
  t.match(again.body, /Le devis est signé/, 'a second submission sees it signed')
  const signedEvents = (await contractOf(p)).json().timeline.filter((e: { type: string }) => e.type === 'signed')
  t.equal(signedEvents.length, 1, 'and signs nothing more')
  t.notMatch((await page(p)).body, /Signer le devis/, 'a used link never shows the forms again')
})

t.test('the form refuses what is missing, and changes nothing', async (t) => {
  const p = await presented(t)
  const res = await sign(p, { name: 'Camille', title: '', email: 'not-an-email' })
  t.equal(res.statusCode, 422)
  t.match(res.body, /Votre fonction est requise/)
  t.match(res.body, /n’est pas valide/)
  t.match(res.body, /Cochez la case/)
  t.match(res.body, /value="Camille"/, 'what was typed is kept')
  t.equal((await contractOf(p)).json().status, 'sent', 'nothing signed')
  const tooLong = await sign(p, { ...SIGNER, name: 'x'.repeat(201) })
  t.equal(tooLong.statusCode, 400, 'a name past its limit is refused')
  t.equal((await quoteOf(p)).json().status, 'presented')
})

t.test('a sign and a decline at once (on PostgreSQL, really at once): one wins, the other sees where it stands', async (t) => {
  const p = await presented(t)
  const [signed, again, declined] = await Promise.all([sign(p, SIGNER), sign(p, SIGNER), decline(p, 'Changed our mind')])
  t.same([signed.statusCode, again.statusCode, declined.statusCode], [200, 200, 200], 'every submission gets a page')
  const contract = (await contractOf(p)).json()
  const closing = contract.timeline.filter((e: { type: string }) => e.type === 'signed' || e.type === 'declined')
  t.equal(closing.length, 1, 'one signature or one decline, never both, never twice')
  t.equal((await quoteOf(p)).json().status, contract.status === 'signed' ? 'accepted' : 'declined', 'the quote follows the one that won')
  const events = await p.ctx.database.db
    .selectFrom('outbox_events')
    .select('type')
    .where('type', 'in', ['quote.accepted', 'quote.declined', 'contract.signed', 'contract.declined'])
    .execute()
  t.equal(events.length, 2, 'one quote event and one contract event')
})

t.test('decline: the reason kept, the quote declined, the link closed', async (t) => {
  const p = await presented(t)
  t.equal((await decline(p, '')).statusCode, 422)
  const res = await decline(p, 'Budget gelé jusqu’en mars')
  t.equal(res.statusCode, 200)
  t.match(res.body, /refusé/)
  const contract = (await contractOf(p)).json()
  t.equal(contract.status, 'declined')
  t.equal(contract.declineReason, 'Budget gelé jusqu’en mars')
  t.equal((await quoteOf(p)).json().status, 'declined')
  t.equal((await sign(p, SIGNER)).statusCode, 200, 'the page says where it stands')
  t.equal((await contractOf(p)).json().status, 'declined', 'a declined contract is never signed')
})

t.test('a revised quote withdraws its contract: the old link says so and never shows the quote', async (t) => {
  const p = await presented(t)
  const read = await quoteOf(p)
  const quote = read.json()
  const revised = await p.ctx.app.inject({
    method: 'PATCH',
    url: `/v1/quotes/${p.quoteId}`,
    headers: { ...p.ctx.as('sales_rep'), 'if-match': read.headers.etag as string },
    payload: { lines: [{ ...LINES[0], quantity: 25 }] },
  })
  t.equal(revised.statusCode, 200, revised.body)
  t.equal((await contractOf(p)).json().status, 'withdrawn')
  const res = await page(p)
  t.equal(res.statusCode, 410)
  t.match(res.body, /retiré/)
  t.notMatch(res.body, new RegExp(quote.number), 'the quote is not shown')
  t.equal((await sign(p, SIGNER)).statusCode, 410)
})

t.test('an expired link: the quote expires on read and the page says so', async (t) => {
  const p = await presented(t)
  p.ctx.clock.advance(40 * 86_400_000)
  const res = await page(p)
  t.equal(res.statusCode, 410)
  t.match(res.body, /expiré/)
  t.equal((await contractOf(p)).json().status, 'expired')
  t.equal((await quoteOf(p)).json().status, 'expired')
})

t.test('a document changed after the link was issued is never signed', async (t) => {
  const p = await presented(t)
  await sql`update contracts set document = document || '\\x00'::bytea where id = ${p.contractId}`.execute(p.ctx.database.db)
  const res = await sign(p, SIGNER)
  t.equal(res.statusCode, 409)
  t.match(res.body, /Le document a changé/)
  t.equal((await contractOf(p)).json().status, 'sent')
  t.equal((await quoteOf(p)).json().status, 'presented')
})

t.test('unknown links, other quotes, and bursts', async (t) => {
  const p = await presented(t)
  const unknown = await p.ctx.app.inject({ method: 'GET', url: `/sign/${'A'.repeat(43)}` })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.body, /n’est pas valide|not valid/)
  const junk = await p.ctx.app.inject({ method: 'GET', url: '/sign/..%2F..%2Fetc' })
  t.equal(junk.statusCode, 404)
  t.equal((await p.ctx.app.inject({ method: 'GET', url: `/v1/contracts/${p.contractId}` })).statusCode, 401, 'the API still needs a key')
  let last = 0
  for (let i = 0; i <= SIGNING_ATTEMPTS_PER_MINUTE; i++) last = (await decline(p, '')).statusCode
  t.equal(last, 429, `more than ${SIGNING_ATTEMPTS_PER_MINUTE} attempts a minute from one address are refused`)
})

t.test('a new link replaces the old one', async (t) => {
  const p = await presented(t)
  const res = await p.ctx.app.inject({ method: 'POST', url: `/v1/contracts/${p.contractId}/link`, headers: p.ctx.as('sales_rep') })
  t.equal(res.statusCode, 200, res.body)
  t.equal((await page(p)).statusCode, 404, 'the old link stops working')
  const fresh = new URL(res.json().signingUrl).pathname
  t.equal((await p.ctx.app.inject({ method: 'GET', url: fresh })).statusCode, 200)
  t.same(
    res.json().contract.timeline.map((e: { type: string }) => e.type),
    ['sent', 'link_reissued'],
  )
})

import { existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { formatMoney } from '../../src/documents/locale.js'
import { decodeSnapshot } from '../../src/evaluation/evaluation.js'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { pdfText } from '../helpers/pdf-text.js'

/**
 * The buyer's page in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser). Without Chromium these tests skip and say how to install it; CI
 * installs it and fails if they skipped (.ci/run looks for the marker below).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SKIP_MARKER = 'BROWSER TESTS SKIPPED'

const ACCOUNT = {
  name: 'Brasserie Ça Va SARL',
  billingAddress: { line1: '8 place Bellecour', city: 'Lyon', postalCode: '69002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  vatId: 'FR40303265045',
  segment: 'enterprise',
}

async function run() {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  t.teardown(() => browser.close())
  const artifacts = process.env.QTC_ARTIFACTS_DIR ?? join(tmpdir(), 'qtc-artifacts')
  mkdirSync(artifacts, { recursive: true })

  /** A served app, an account with a signer, and a quote taken through two approval levels to presented. */
  async function presentedQuote(t: Test, ctx: TestApp, base: string) {
    const rep = ctx.as('sales_rep')
    await ctx.reportTo('sales_rep', ctx.principalIds.sales_manager)
    const accountId = await ctx.createAccount(rep, ACCOUNT)
    const contact = await ctx.app.inject({
      method: 'POST',
      url: `/v1/accounts/${accountId}/contacts`,
      headers: rep,
      payload: { name: 'Léa Fontaine', email: 'lea@cava.example' },
    })
    const created = await ctx.app.inject({
      method: 'POST',
      url: '/v1/quotes',
      headers: rep,
      payload: { accountId, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 50, termMonths: 12, manualDiscountPercent: '25' }] },
    })
    t.equal(created.statusCode, 201, 'quote created')
    const quoteId = created.json().id as string
    let quote = (await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quoteId}/submit`, headers: rep })).json()
    for (const role of ['sales_manager', 'deal_desk'] as const) {
      const step = quote.approval.steps.find((s: { role: string }) => s.role === role)
      const decided = await ctx.app.inject({ method: 'POST', url: `/v1/approvals/${step.id}/approve`, headers: ctx.as(role), payload: { comment: 'ok' } })
      t.equal(decided.statusCode, 200, `${role} approves`)
      quote = (await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${quoteId}`, headers: rep })).json()
    }
    t.equal(quote.status, 'approved', 'both levels approved')
    const presented = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${quoteId}/present`, headers: rep, payload: { contactId: contact.json().id } })
    t.equal(presented.statusCode, 200, 'presented')
    const link = `${base}${new URL(presented.json().signingUrl).pathname}`
    const row = await ctx.database.db.selectFrom('quote_revisions').select('evaluation').where('quote_id', '=', quoteId).executeTakeFirstOrThrow()
    return { quoteId, link, contractId: presented.json().contract.id as string, net: decodeSnapshot(row.evaluation).totals.net }
  }

  async function served(t: Test) {
    const ctx = await buildTestApp(t)
    const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    return { ctx, base: address }
  }

  t.test('rep → approvals → present → the buyer reads, consents and signs; the quote is accepted and the signed copy has its certificate', async (t) => {
    const { ctx, base } = await served(t)
    const q = await presentedQuote(t, ctx, base)
    const page = await browser.newPage({ locale: 'fr-FR', viewport: { width: 390, height: 844 } })
    t.teardown(() => page.close())
    const csp: string[] = []
    page.on('console', (m) => m.type() === 'error' && csp.push(m.text()))
    await page.goto(q.link)
    t.equal(await page.locator('h1').textContent(), `Devis ${(await quoteOf(ctx, q.quoteId)).number}`)
    t.equal(await page.locator('[data-total="net"]').textContent(), formatMoney(q.net, 'fr'), 'the total shown is the quote’s')
    await page.screenshot({ path: join(artifacts, 'signing-page.png'), fullPage: true })
    await page.fill('#name', 'Léa Fontaine')
    await page.fill('#title', 'Gérante')
    await page.fill('#email', 'lea@cava.example')
    await page.check('#consent')
    await Promise.all([page.waitForURL(/\/sign$|\/sign\?/), page.click('button[type=submit] >> text=Signer le devis')])
    t.equal(await page.locator('h1').textContent(), 'Le devis est signé')
    await page.screenshot({ path: join(artifacts, 'signed-page.png') })
    t.same(csp, [], 'no resource was refused by the Content-Security-Policy', { csp })
    t.equal((await quoteOf(ctx, q.quoteId)).status, 'accepted')

    const contract = (await ctx.app.inject({ method: 'GET', url: `/v1/contracts/${q.contractId}`, headers: ctx.as('sales_rep') })).json()
    t.equal(contract.evidence.signer.name, 'Léa Fontaine')
    t.match(contract.evidence.userAgent, /Chrome/, 'the browser that signed')
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Télécharger l’exemplaire signé (PDF)')])
    const path = join(artifacts, 'signed-copy.pdf')
    await download.saveAs(path)
    const text = (await pdfText((await import('node:fs')).readFileSync(path))).join(' ')
    t.ok(text.includes(contract.evidenceHash), 'the signed copy the buyer downloads carries the evidence hash')
  })

  t.test('the buyer declines with a reason', async (t) => {
    const { ctx, base } = await served(t)
    const q = await presentedQuote(t, ctx, base)
    const page = await browser.newPage({ locale: 'en-GB' })
    t.teardown(() => page.close())
    await page.goto(q.link)
    t.match(await page.locator('button.danger').textContent(), /Decline the quote/, 'English by Accept-Language')
    await page.fill('#reason', 'We chose another supplier')
    await Promise.all([page.waitForURL(/decline/), page.click('button.danger')])
    t.equal(await page.locator('h1').textContent(), 'The quote was declined')
    t.equal((await quoteOf(ctx, q.quoteId)).status, 'declined')
  })

  t.test('an expired link and a withdrawn link show where they stand, never the quote', async (t) => {
    const { ctx, base } = await served(t)
    const expired = await presentedQuote(t, ctx, base)
    const withdrawn = await presentedQuote(t, ctx, base)
    const read = await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${withdrawn.quoteId}`, headers: ctx.as('sales_rep') })
    await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/quotes/${withdrawn.quoteId}`,
      headers: { ...ctx.as('sales_rep'), 'if-match': read.headers.etag as string },
      payload: { notes: 'new terms' },
    })
    const page = await browser.newPage({ locale: 'fr-FR' })
    t.teardown(() => page.close())
    const response = await page.goto(withdrawn.link)
    t.equal(response?.status(), 410)
    t.equal(await page.locator('h1').textContent(), 'Ce devis a été retiré')
    t.equal(await page.locator('form').count(), 0, 'no form')
    ctx.clock.advance(40 * 86_400_000)
    await page.goto(expired.link)
    t.equal(await page.locator('h1').textContent(), 'Ce lien a expiré')
    t.equal(await page.locator('table').count(), 0, 'no quote')
  })
}

async function quoteOf(ctx: TestApp, id: string) {
  return (await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${id}`, headers: ctx.as('sales_rep') })).json()
}

if (existsSync(CHROMIUM)) await run()
else t.comment(`${SKIP_MARKER}: no Chromium at ${CHROMIUM}; install it with: apt-get install -y --no-install-recommends chromium (or set CHROMIUM_PATH)`)

import type { Test } from 'tap'
import { buildTestApp, type TestApp } from './app.js'

/** The demo buyer: a French company with a valid French VAT id. */
export const DEMO_ACCOUNT = {
  name: 'Acme Industrie SA',
  billingAddress: { line1: '12 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
  country: 'FR',
  currency: 'EUR',
  vatId: 'FR11123456782',
  segment: 'enterprise',
}

export const FORM = 'application/x-www-form-urlencoded'
export const SIGNER = { name: 'Camille Durand', title: 'Directrice financière', email: 'camille.durand@acme.example', consent: 'yes', consentVersion: '1' }

export interface Signed {
  ctx: TestApp
  quoteId: string
  quote: Record<string, any>
  token: string
  accountId: string
}

/** Finance sets an account's billing fields (a seller may not), as the next PATCH of the account. */
export async function setBilling(ctx: TestApp, accountId: string, fields: { billingAlignment?: unknown; sellerId?: unknown }) {
  const current = await ctx.app.inject({ method: 'GET', url: `/v1/accounts/${accountId}`, headers: ctx.as('finance') })
  return ctx.app.inject({
    method: 'PATCH',
    url: `/v1/accounts/${accountId}`,
    headers: { ...ctx.as('finance'), 'if-match': current.headers.etag as string },
    payload: JSON.parse(JSON.stringify(fields)),
  })
}

/**
 * A quote created, approved (every step by its role, the rep reporting to the sales manager),
 * presented and signed by its buyer over HTTP, as in production. `account` overrides fields
 * of the demo account (billing fields are set by finance); `accountId` reuses an account.
 */
export async function signedQuote(
  t: Test,
  ctx?: TestApp,
  options: { account?: object; accountId?: string; lines?: object[]; paymentTermsDays?: number } = {},
): Promise<Signed> {
  ctx ??= await buildTestApp(t)
  const rep = ctx.as('sales_rep')
  // The rep reports to the sales manager: the manager's approval steps are theirs to decide.
  await ctx.reportTo('sales_rep', ctx.principalIds.sales_manager)
  let accountId = options.accountId
  if (!accountId) {
    const { billingAlignment, sellerId, ...fields } = (options.account ?? {}) as Record<string, unknown>
    const account = await ctx.app.inject({ method: 'POST', url: '/v1/accounts', headers: rep, payload: { ...DEMO_ACCOUNT, ...fields } })
    t.equal(account.statusCode, 201, account.body)
    accountId = account.json().id as string
    if (billingAlignment !== undefined || sellerId !== undefined)
      t.equal((await setBilling(ctx, accountId, { billingAlignment, sellerId })).statusCode, 200, 'finance sets how the account is billed')
  }
  const contact = await ctx.app.inject({
    method: 'POST',
    url: `/v1/accounts/${accountId}/contacts`,
    headers: rep,
    payload: { name: 'Camille Durand', email: 'camille.durand@acme.example', role: 'CFO' },
  })
  const quote = await ctx.app.inject({
    method: 'POST',
    url: '/v1/quotes',
    headers: rep,
    payload: { accountId, lines: options.lines ?? [], ...(options.paymentTermsDays === undefined ? {} : { paymentTermsDays: options.paymentTermsDays }) },
  })
  t.equal(quote.statusCode, 201, quote.body)
  const id = quote.json().id as string
  const submitted = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${id}/submit`, headers: rep })
  t.equal(submitted.statusCode, 200, submitted.body)
  if (submitted.json().status === 'pending_approval') {
    for (let round = 0; round < 5; round++) {
      const current = (await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${id}`, headers: rep })).json()
      if (current.status !== 'pending_approval') break
      for (const step of current.approval.steps.filter((s: { status: string }) => s.status === 'pending')) {
        const decided = await ctx.app.inject({ method: 'POST', url: `/v1/approvals/${step.id}/approve`, headers: ctx.as(step.role), payload: {} })
        if (decided.statusCode !== 200 && decided.json().code !== 'APPROVAL_STEP_CLOSED') t.fail(`approving ${step.role}: ${decided.body}`)
      }
    }
  }
  const approved = await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${id}`, headers: rep })
  t.equal(approved.json().status, 'approved', 'approved')
  const presented = await ctx.app.inject({ method: 'POST', url: `/v1/quotes/${id}/present`, headers: rep, payload: { contactId: contact.json().id } })
  t.equal(presented.statusCode, 200, presented.body)
  const url = new URL(presented.json().signingUrl).pathname
  const signed = await ctx.app.inject({
    method: 'POST',
    url: `${url}/sign`,
    headers: { 'content-type': FORM },
    payload: new URLSearchParams(SIGNER).toString(),
  })
  t.equal(signed.statusCode, 200, signed.body)
  const accepted = await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${id}`, headers: rep })
  t.equal(accepted.json().status, 'accepted')
  return { ctx, quoteId: id, quote: accepted.json(), token: url.split('/')[2]!, accountId }
}

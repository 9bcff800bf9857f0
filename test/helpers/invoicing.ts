import type { Test } from 'tap'
import { buildTestApp, type TestApp, type TestAppOptions } from './app.js'
import { signedQuote } from './signed-quote.js'
import { loadLegalEntities } from '../../src/documents/legal-entities.js'
import { executeDueRuns } from '../../src/invoicing/invoice.service.js'
import { loadRuleSet, type RuleSet } from '../../src/rules/rule-set.js'

const ROOT = new URL('../../', import.meta.url).pathname

/** The invoicing services as the app builds them, for a test that calls use cases directly (as a job does). */
export function invoicingDeps(ctx: TestApp, ruleSet: RuleSet) {
  return {
    db: ctx.database.db,
    clock: ctx.clock,
    ruleSet: () => ruleSet,
    sellers: loadLegalEntities(`${ROOT}legal-entities/entities.yaml`),
    platform: ctx.platform,
  }
}

/** Executes the invoice runs asked for (or one for today), as the invoices.run job does, in the test's process. */
export async function runInvoicing(ctx: TestApp): Promise<void> {
  const ruleSet = (await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)).ruleSet!
  await executeDueRuns(invoicingDeps(ctx, ruleSet), async () => {})
}

/** A signed quote of seats and a gateway with its mount, shipped, and the invoice of its first month. */
export async function invoiced(t: Test, account: object = {}, options: TestAppOptions = {}) {
  const { ctx, invoices } = await invoicedGroup(t, account, options)
  t.equal(invoices.length, 1)
  return { ctx, invoice: invoices[0] }
}

/** The same, with every invoice it makes (a buyer some of whose lines are not subject to VAT gets two). */
export async function invoicedGroup(t: Test, account: object = {}, options: TestAppOptions = {}) {
  const ctx = await buildTestApp(t, {}, options)
  const s = await signedQuote(t, ctx, {
    account,
    lines: [
      { sku: 'PLAT-PRO-SEAT', quantity: 10, termMonths: 12 },
      { sku: 'GW-200', quantity: 1 },
    ],
  })
  const order = (await ctx.app.inject({ method: 'GET', url: `/v1/quotes/${s.quoteId}/order`, headers: ctx.as('sales_rep') })).json()
  const goods = order.lines
    .filter((l: { fulfilment: string }) => l.fulfilment === 'shipment')
    .map((l: { line: number }) => ({ line: l.line, kind: 'shipped', quantity: 1 }))
  t.equal(
    (await ctx.app.inject({ method: 'POST', url: `/v1/orders/${order.id}/fulfilments`, headers: ctx.as('deal_desk'), payload: { lines: goods } })).statusCode,
    201,
  )
  await runInvoicing(ctx)
  const list = (await ctx.app.inject({ method: 'GET', url: '/v1/invoices', headers: ctx.as('finance') })).json()
  const invoices = await Promise.all(list.data.map((i: { id: string }) => getInvoice(ctx, i.id)))
  return { ctx, invoices: invoices.sort((a, b) => a.number.localeCompare(b.number)) }
}

export async function getInvoice(ctx: TestApp, id: string) {
  return (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${id}`, headers: ctx.as('finance') })).json()
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'
import type { Role } from '../src/principals/roles.js'
import { deliverDueWebhooks, relayOutbox, webhookDeps } from '../src/webhooks/index.js'
import { buildTestApp } from './helpers/app.js'
import { executeDueRuns, syncEInvoices, TestPlatform } from '../src/invoicing/invoice.service.js'
import { invoicingDeps } from './helpers/invoicing.js'
import { loadRuleSet } from '../src/rules/rule-set.js'

const ROOT = new URL('../', import.meta.url).pathname

/**
 * The OpenAPI description, checked the way a client uses it: openapi-typescript generates
 * the `paths` types from /openapi.json, and CLIENT (below) — one call of every route, using
 * the fields of each answer — must type-check against them. The same script then runs
 * against the app, and every answer is validated against the schema the document gives it,
 * so the description is neither too loose for a typed client nor different from the answers.
 */

const platform = new TestPlatform()
const ctx = await buildTestApp(
  t,
  {
    auditKey: 'typed-client-audit-key-of-forty-characters',
    webhookAllowHttp: true,
    webhookAllowedNetworks: ['127.0.0.1'],
    webhookMaxAttempts: 1,
  },
  { einvoicingPlatform: platform },
)
/**
 * The webhook jobs are not routes: run them where the script first reads deliveries, so it has
 * some to read and to retry. Port 9 on loopback refuses the connection, so each delivery fails.
 */
async function runWebhookJobs() {
  const deps = webhookDeps(ctx.config, ctx.database.db, ctx.clock)
  await relayOutbox(deps, { limit: 1000 })
  await deliverDueWebhooks(deps, { limit: 100, now: ctx.clock.now() })
}
/** The invoice job, likewise, where the script first reads its run or its drafts: the runs it asked for are executed (a drafting one drafts the signed order). */
async function runInvoiceJob() {
  const ruleSet = (await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)).ruleSet!
  await executeDueRuns(invoicingDeps(ctx, ruleSet), async () => {})
}
/** The e-invoicing job, where the script first reads an invoice's timeline: its invoices are deposited, and the platform rejects them (so one can be reissued). */
async function runEInvoicingJob() {
  const deps = { ...invoicingDeps(ctx, (await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)).ruleSet!), platform }
  await syncEInvoices(deps)
  for (const number of platform.deposits.keys()) platform.report(number, 'rejected', 'test rejection')
  await syncEInvoices(deps)
}
const spec = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json()

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const
type Schema = { $ref?: string; type?: string; properties?: object; additionalProperties?: unknown; [k: string]: unknown }
type Operation = { responses: Record<string, { content?: Record<string, { schema?: Schema }> }> }

const operations: Array<{ name: string; path: string; method: string; op: Operation }> = []
for (const [path, item] of Object.entries<Record<string, Operation>>(spec.paths)) {
  for (const method of METHODS) if (item[method]) operations.push({ name: `${method} ${path}`, path, method, op: item[method] })
}

function resolve(schema: Schema): Schema {
  const prefix = '#/components/schemas/'
  return schema.$ref?.startsWith(prefix) ? resolve(spec.components.schemas[schema.$ref.slice(prefix.length)]) : schema
}

/**
 * Where a response schema describes nothing: an object with no properties that accepts any
 * (`Type.Object({}, { additionalProperties: true })`), at any depth, or an empty schema as the
 * whole answer. Maps (patternProperties) and single unknown values (`{}` below the top) are
 * descriptions. Returns the JSON pointers, into the answer, of such places.
 */
function undescribed(schema: Schema, at = '', seen = new Set<Schema>()): string[] {
  const s = resolve(schema)
  if (seen.has(s)) return []
  seen.add(s)
  const found: string[] = []
  const types = Array.isArray(s.type) ? s.type : [s.type]
  const described = Object.keys(s).some((k) => !['description', 'title', 'additionalProperties'].includes(k))
  const isMap = s.patternProperties !== undefined || (typeof s.additionalProperties === 'object' && s.additionalProperties !== null)
  if ((at === '' && !described) || (types.includes('object') && Object.keys(s.properties ?? {}).length === 0 && !isMap)) found.push(at || '/')
  const children: Array<[string, unknown]> = [
    ...Object.entries(s.properties ?? {}).map(([k, v]): [string, unknown] => [`${at}/${k}`, v]),
    ...Object.values((s.patternProperties ?? {}) as object).map((v): [string, unknown] => [`${at}/*`, v]),
    ...(typeof s.additionalProperties === 'object' ? [[`${at}/*`, s.additionalProperties] as [string, unknown]] : []),
    ...(s.items ? [[`${at}/0`, s.items] as [string, unknown]] : []),
    ...(['anyOf', 'oneOf', 'allOf'] as const).flatMap((k) => ((s[k] ?? []) as unknown[]).map((v): [string, unknown] => [at, v])),
  ]
  for (const [where, child] of children) found.push(...undescribed(child as Schema, where || '/', seen))
  return found
}

t.test('every operation answers a described JSON schema for each success status', async (t) => {
  t.ok(operations.length >= 30, `${operations.length} operations`)
  for (const { name, op } of operations) {
    const successes = Object.entries(op.responses).filter(([code]) => /^2\d\d$/.test(code))
    t.ok(successes.length > 0, `${name} documents a success`)
    for (const [code, response] of successes) {
      if (response.content?.['application/pdf']) {
        t.same(response.content['application/pdf'].schema, { type: 'string', format: 'binary' }, `${name} ${code} is a PDF`)
        continue
      }
      if (response.content?.['application/xml']) {
        t.same(response.content['application/xml'].schema, { type: 'string' }, `${name} ${code} is an XML document`)
        continue
      }
      const schema = response.content?.['application/json']?.schema
      t.ok(schema, `${name} ${code} has an application/json schema`)
      if (schema) t.same(undescribed(schema), [], `${name} ${code} describes its answer (no open empty object in it)`)
    }
  }
})

t.test('the check finds open empty objects at any depth', async (t) => {
  const loose = { type: 'object', additionalProperties: true }
  t.same(undescribed(loose), ['/'])
  t.same(undescribed({}), ['/'], 'an empty schema as the whole answer')
  t.same(
    undescribed({ type: 'object', properties: { data: { type: 'array', items: loose }, n: {} } }),
    ['/data/0'],
    'a list of anything; one unknown value is fine',
  )
  t.same(undescribed({ type: 'object', properties: { a: { anyOf: [loose, { type: 'null' }] } } }), ['/a'])
  t.same(undescribed({ type: 'object', patternProperties: { '^(.*)$': { type: 'string' } } }), [], 'a map is described')
  t.same(undescribed({ $ref: '#/components/schemas/Quote' }), [], 'a quote is described through its references')
})

/**
 * One call of every route, in an order that works on a fresh app: the answers feed the next
 * calls. Typed only by the generated `paths`; `call` is given by whoever runs it.
 */
const CLIENT = `
import type { paths } from './api'

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch'
type MethodsOf<P extends keyof paths> = { [M in Method]-?: [NonNullable<paths[P][M]>] extends [never] ? never : M }[Method]
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : R extends { content: { 'application/pdf': unknown } } ? number : R extends { content: { 'application/xml': unknown } } ? string : never
type Success<O> = O extends { responses: infer R } ? JsonOf<R[Extract<keyof R, 200 | 201 | 202>]> : never
type BodyPart<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? { body: B }
  : O extends { requestBody?: { content: { 'application/json': infer B } } } ? { body?: B } : { body?: never }
type Request<O> = (O extends { parameters: infer Params } ? Params : never) & BodyPart<O>
type Role = 'sales_rep' | 'sales_manager' | 'deal_desk' | 'finance' | 'pricing_analyst' | 'admin'
export type Call = <P extends keyof paths, M extends MethodsOf<P>>(path: P, method: M, request: Request<Op<P, M>>, as?: Role) => Promise<Success<Op<P, M>>>

export async function run(call: Call, signByLink: (url: string) => Promise<void>): Promise<unknown[]> {
  const health = await call('/health', 'get', {})
  const ready = await call('/ready', 'get', {})
  const up: ['ok', 'ready', string | undefined] = [health.status, ready.status, ready.checks['database']]

  const created = await call('/v1/principals', 'post', { header: { 'idempotency-key': 'principal-1' }, body: { name: 'Ann Delegate', roles: ['finance'] } })
  const apiKey: string | undefined = created.apiKey
  const delegateId: string = created.principal.id
  const principals = await call('/v1/principals', 'get', {})
  const nextPrincipals = await call('/v1/principals', 'get', { query: { limit: 1, starting_after: principals.data[0]?.id } })
  const me = await call('/v1/principals/me', 'get', {})
  const myRoles: Array<'sales_rep' | 'sales_manager' | 'deal_desk' | 'finance' | 'pricing_analyst' | 'admin'> = me.roles
  const principal = await call('/v1/principals/{id}', 'get', { path: { id: delegateId } })
  const renamed = await call('/v1/principals/{id}', 'patch', { path: { id: delegateId }, header: { 'if-match': '"v' + principal.version + '"' }, body: { name: 'Ann B. Delegate' } })
  const managerId: string | null = renamed.managerId

  // A full trace (failed conditions too) and a discount a guardrail blocks: every part of an evaluation is in the answer.
  const evaluation = await call('/v1/quotes/evaluate', 'post', {
    query: { trace: 'full' },
    body: {
      currency: 'EUR', date: '2026-12-01', account: { id: 'acc_typed', segment: 'enterprise', country: 'FR' },
      lines: [{ sku: 'PLAT-ENT-SEAT', quantity: 120, termMonths: 36 }, { sku: 'GW-200', quantity: 10, manualDiscountPercent: '60' }], promoCodes: ['WINTER26'], record: true,
    },
  })
  const failed: unknown[] = (evaluation.trace ?? []).map((e) => e.failed?.actual)
  const breaches: Array<string | null> = evaluation.lines.flatMap((l) => l.guardrail.breaches.map((b) => b.metric))
  const net: string = evaluation.totals.net
  const ruleIds: Array<string | null> = evaluation.lines.flatMap((l) => l.adjustments.map((a) => a.ruleId))
  const fired: string[] = (evaluation.trace ?? []).filter((e) => e.fired).map((e) => e.ruleId)
  const outcome: 'allowed' | 'needs_approval' | 'blocked' = evaluation.guardrails.outcome
  const approvers: string[] = evaluation.approvals.steps.map((s) => s.role)
  const decisionId: string | null = evaluation.decisionId
  const replay = await call('/v1/decisions/{id}/replay', 'get', { path: { id: decisionId ?? 'dec_none' } })
  const replayed: [boolean, string, number] = [replay.identical, replay.replayed.totals.net, replay.original.lines.length]

  const products = await call('/v1/catalog/products', 'get', { query: { family: 'hardware' } })
  const options: string[] = products.data.flatMap((p) => p.bundle?.optionGroups.flatMap((g) => g.options.map((o) => o.sku)) ?? [])
  const books = await call('/v1/price-books', 'get', {})
  const tierPrices: string[] = books.data.flatMap((b) => b.entries.flatMap((e) => e.tiering?.tiers.map((tier) => tier.unitPrice) ?? []))

  const account = await call('/v1/accounts', 'post', {
    body: { name: 'Northwind Typed GmbH', billingAddress: { line1: 'Hafenstraße 1', city: 'Hamburg', postalCode: '20457', country: 'DE' }, country: 'DE', currency: 'EUR', segment: 'mid_market' },
  })
  const city: string = account.billingAddress.city
  const accounts = await call('/v1/accounts', 'get', {})
  const read = await call('/v1/accounts/{id}', 'get', { path: { id: account.id } })
  const changed = await call('/v1/accounts/{id}', 'patch', { path: { id: account.id }, header: { 'if-match': '"v' + read.version + '"' }, body: { name: 'Northwind Typed AG' } })
  const contact = await call('/v1/accounts/{id}/contacts', 'post', { path: { id: account.id }, body: { name: 'Jo Buyer', email: 'jo@example.com' } })
  const contacts = await call('/v1/accounts/{id}/contacts', 'get', { path: { id: account.id } })
  const emails: string[] = contacts.data.map((c) => c.email)

  const quote = await call('/v1/quotes', 'post', { body: { accountId: account.id, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 50, termMonths: 12, manualDiscountPercent: '25' }] } })
  const quoteNet: string = quote.revision.evaluation.totals.net
  const cartSkus: string[] = quote.revision.cart.lines.map((l) => l.sku)
  const drafts = await call('/v1/quotes', 'get', { query: { status: 'draft' } })
  const got = await call('/v1/quotes/{id}', 'get', { path: { id: quote.id } })
  const revised = await call('/v1/quotes/{id}', 'patch', { path: { id: quote.id }, header: { 'if-match': '"v' + got.version + '"' }, body: { notes: 'PO 42' } })
  const first = await call('/v1/quotes/{id}/revisions/{n}', 'get', { path: { id: quote.id, n: 1 } })
  const fingerprint: [string, string] = [first.fingerprintHash, first.fingerprint.totals.net]
  const submitted = await call('/v1/quotes/{id}/submit', 'post', { path: { id: quote.id }, header: { 'idempotency-key': 'submit-typed' } })
  const statuses: string[] = submitted.approval?.steps.map((s) => s.status) ?? []

  const queue = await call('/v1/approvals', 'get', { query: { limit: 10 } }, 'sales_manager')
  const item = queue.data[0]
  const amount: string | undefined = item?.quote.netTotal
  const rest = await call('/v1/approvals', 'get', { query: { starting_after: queue.nextCursor ?? undefined } }, 'sales_manager')
  const approved = await call('/v1/approvals/{id}/approve', 'post', { path: { id: item?.step.id ?? 'aps_none' }, body: { comment: 'fine for a renewal' } }, 'sales_manager')
  const open = approved.steps.find((s) => s.status === 'pending')
  const rejected = await call('/v1/approvals/{id}/reject', 'post', { path: { id: open?.id ?? 'aps_none' }, body: { comment: 'too deep for 12 months' } }, 'deal_desk')
  const decided: Array<string | null> = rejected.steps.map((s) => s.decidedAt)

  const delegation = await call('/v1/delegations', 'post', { body: { delegateId, startsOn: '2026-12-24', endsOn: '2027-01-02' } })
  const delegations = await call('/v1/delegations', 'get', {})
  const revokedAt: Array<string | null> = delegations.data.map((d) => d.revokedAt)
  const revoked = await call('/v1/principals/{id}/revoke', 'post', { path: { id: delegateId } })
  const status: 'active' | 'revoked' = revoked.status

  const small = await call('/v1/quotes', 'post', { body: { accountId: account.id, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 5, termMonths: 12 }, { sku: 'PS-PROJECT', quantity: 1 }] } })
  await call('/v1/quotes/{id}/submit', 'post', { path: { id: small.id } })
  const presented = await call('/v1/quotes/{id}/present', 'post', { path: { id: small.id }, body: { contactId: contact.id } })
  const contractStatus: 'sent' | 'viewed' | 'signed' | 'declined' | 'expired' | 'withdrawn' = presented.contract.status
  const contractOfQuote = await call('/v1/quotes/{id}/contract', 'get', { path: { id: small.id } })
  const relinked = await call('/v1/contracts/{id}/link', 'post', { path: { id: presented.contract.id } })
  await signByLink(relinked.signingUrl)
  const signed = await call('/v1/contracts/{id}', 'get', { path: { id: presented.contract.id } })
  const evidenceHash: string | null = signed.evidenceHash
  const pdfBytes: number[] = [
    await call('/v1/contracts/{id}/document.pdf', 'get', { path: { id: presented.contract.id } }),
    await call('/v1/contracts/{id}/signed.pdf', 'get', { path: { id: presented.contract.id } }),
    await call('/v1/quotes/{id}/document.pdf', 'get', { path: { id: small.id }, query: { revision: 1, lang: 'en' } }),
  ]
  const orders = await call('/v1/orders', 'get', { query: { status: 'open', accountId: account.id } })
  const orderId = orders.data[0]?.id ?? 'ord_none'
  const order = await call('/v1/orders/{id}', 'get', { path: { id: orderId } })
  const orderOfQuote = await call('/v1/quotes/{id}/order', 'get', { path: { id: small.id } })
  const seatLine = order.lines[0]?.line ?? 0
  const fulfilled = await call('/v1/orders/{id}/fulfilments', 'post', { path: { id: orderId }, header: { 'idempotency-key': 'fulfil-typed' }, body: { reference: 'ACT-1', lines: [{ line: seatLine, kind: 'activated', quantity: 5 }] } })
  const fulfilments = await call('/v1/orders/{id}/fulfilments', 'get', { path: { id: orderId } })
  const projectLine = order.lines.find((l) => l.sku === 'PS-PROJECT')?.line ?? 0
  const kickoff = await call('/v1/orders/{id}/milestones', 'post', { path: { id: orderId }, header: { 'idempotency-key': 'milestone-typed' }, body: { line: projectLine, milestone: 'kickoff', note: 'Kick-off held' } })
  const schedule = await call('/v1/orders/{id}/billing-schedule', 'get', { path: { id: orderId }, query: { limit: 5 } })
  const nextItems = await call('/v1/orders/{id}/billing-schedule', 'get', { path: { id: orderId }, query: { starting_after: schedule.nextCursor ?? undefined } })
  const scheduled: Array<string | null | boolean> = [...schedule.data.map((i) => i.billOn), ...nextItems.data.map((i) => i.amount), order.billingAlignment === 'anniversary']
  const orderStates: Array<string | boolean | null> = [kickoff.milestone.name, kickoff.amount, order.number, orderOfQuote.id, order.lines[0]?.fulfilled.activated ?? null, fulfilled.order.status, fulfilled.fulfilment.reference, fulfilments.data.length > 0]
  const toCancel = await call('/v1/quotes', 'post', { body: { accountId: account.id, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 7, termMonths: 12 }] } })
  await call('/v1/quotes/{id}/submit', 'post', { path: { id: toCancel.id } })
  const presentedAgain = await call('/v1/quotes/{id}/present', 'post', { path: { id: toCancel.id }, body: { contactId: contact.id } })
  await signByLink(presentedAgain.signingUrl)
  const secondOrder = (await call('/v1/orders', 'get', { query: { status: 'open' } })).data.find((o) => o.quoteId === toCancel.id)
  const canceledOrder = await call('/v1/orders/{id}/cancel', 'post', { path: { id: secondOrder?.id ?? 'ord_none' }, header: { 'if-match': '"v' + secondOrder?.version + '"' }, body: { reason: 'Signed twice by mistake' } })
  orderStates.push(canceledOrder.status, canceledOrder.cancelReason)
  const draftRun = await call('/v1/invoice-runs', 'post', { header: { 'idempotency-key': 'draft-run-typed' }, body: { asOf: '2026-12-01', drafts: true } })
  const draftsOfRun = await call('/v1/invoice-drafts', 'get', { query: { runId: draftRun.id, status: 'draft' } })
  const draftRead = await call('/v1/invoice-drafts/{id}', 'get', { path: { id: draftsOfRun.data[0]?.id ?? 'invd_none' } })
  const draftPdf: number = await call('/v1/invoice-drafts/{id}/document.pdf', 'get', { path: { id: draftRead.id }, query: { lang: 'en' } })
  const discardedDraft = await call('/v1/invoice-drafts/{id}/discard', 'post', { path: { id: draftRead.id }, header: { 'if-match': '"v' + draftRead.version + '"' }, body: { reason: 'Reviewed: issue in the regular run' } })
  const redraftRun = await call('/v1/invoice-runs', 'post', { header: { 'idempotency-key': 'redraft-run-typed' }, body: { asOf: '2026-12-01', drafts: true } })
  const redrafted = await call('/v1/invoice-drafts', 'get', { query: { runId: redraftRun.id } })
  const issuedDraft = await call('/v1/invoice-drafts/{id}/issue', 'post', { path: { id: redrafted.data[0]?.id ?? 'invd_none' }, header: { 'if-match': '"v1"', 'idempotency-key': 'issue-draft-typed' } })
  const reviewed: Array<string | number | boolean | null> = [draftRun.drafts, draftRead.total, draftPdf, discardedDraft.status, issuedDraft.draft.invoiceId, issuedDraft.invoice.number]
  const invoiceRun = await call('/v1/invoice-runs', 'post', { header: { 'idempotency-key': 'invoice-run-typed' }, body: { asOf: '2026-12-01' } })
  const ranInvoices = await call('/v1/invoice-runs/{id}', 'get', { path: { id: invoiceRun.id } })
  const invoiceRuns = await call('/v1/invoice-runs', 'get', { query: { limit: 5 } })
  // The drafts issued, the run has nothing left to bill: the invoice is the issued draft's.
  const invoiceList = await call('/v1/invoices', 'get', { query: { runId: redraftRun.id } })
  const invoice = await call('/v1/invoices/{id}', 'get', { path: { id: invoiceList.data[0]?.id ?? 'inv_none' } })
  const invoicePdf: number = await call('/v1/invoices/{id}/document.pdf', 'get', { path: { id: invoice.id }, query: { lang: 'fr' } })
  const facturX: number = await call('/v1/invoices/{id}/facturx.pdf', 'get', { path: { id: invoice.id } })
  const invoiceXml: string = await call('/v1/invoices/{id}/invoice.xml', 'get', { path: { id: invoice.id } })
  const creditNote = await call('/v1/invoices/{id}/credit-notes', 'post', { path: { id: invoice.id }, header: { 'idempotency-key': 'credit-typed' }, body: { reason: 'Goodwill', lines: [{ line: 1, amount: '1.00' }] } })
  const creditNotes = await call('/v1/invoices/{id}/credit-notes', 'get', { path: { id: invoice.id } })
  const creditNoteRead = await call('/v1/credit-notes/{id}', 'get', { path: { id: creditNote.id } })
  const creditNotePdf: number = await call('/v1/credit-notes/{id}/document.pdf', 'get', { path: { id: creditNote.id }, query: { lang: 'en' } })
  const creditNoteFacturX: number = await call('/v1/credit-notes/{id}/facturx.pdf', 'get', { path: { id: creditNote.id } })
  const creditNoteXml: string = await call('/v1/credit-notes/{id}/credit-note.xml', 'get', { path: { id: creditNote.id } })
  const creditNoteOnPlatform = await call('/v1/credit-notes/{id}/einvoicing', 'get', { path: { id: creditNote.id } })
  const onPlatform = await call('/v1/invoices/{id}/einvoicing', 'get', { path: { id: invoice.id } })
  const reissued = await call('/v1/invoices/{id}/reissue', 'post', { path: { id: invoice.id }, header: { 'idempotency-key': 'reissue-typed' }, body: { reason: 'Buyer SIREN corrected' } })
  const journal = await call('/v1/journal', 'get', { query: { limit: 5 } })
  const trialBalance = await call('/v1/reports/trial-balance', 'get', { query: { asOf: '2026-12-31' } })
  const payment = await call('/v1/payments', 'post', { header: { 'idempotency-key': 'payment-typed' }, body: { accountId: account.id, method: 'bank_transfer', amount: '25.00', currency: 'EUR', reference: 'VIR-1', allocations: [{ invoiceId: reissued.invoice.id, amount: '10.00' }] } })
  const payments = await call('/v1/payments', 'get', { query: { accountId: account.id, status: 'succeeded', limit: 5 } })
  const paymentRead = await call('/v1/payments/{id}', 'get', { path: { id: payment.id } })
  const refunded = await call('/v1/payments/{id}/refunds', 'post', { path: { id: payment.id }, header: { 'idempotency-key': 'refund-typed' }, body: { amount: '5.00', reason: 'Overpaid' } })
  const applied = await call('/v1/accounts/{id}/credit-applications', 'post', { path: { id: account.id }, header: { 'idempotency-key': 'apply-typed' }, body: { currency: 'EUR', allocations: [{ invoiceId: reissued.invoice.id, amount: '5.00' }] } })
  const creditBack = await call('/v1/accounts/{id}/credit-refunds', 'post', { path: { id: account.id }, header: { 'idempotency-key': 'credit-refund-typed' }, body: { currency: 'EUR', reason: 'Paid back' } })
  const balance = await call('/v1/accounts/{id}/balance', 'get', { path: { id: account.id } })
  const aging = await call('/v1/reports/ar-aging', 'get', { query: { asOf: '2026-12-31', currency: 'EUR' } })
  const cash: Array<string | number | boolean | null | undefined> = [payment.toCredit, payments.data.length, paymentRead.allocations[0]?.amount, refunded.refund.fromCredit, refunded.payment.status,
    applied.creditLeft, creditBack.refund.amount, balance.currencies[0]?.net, aging.currencies[0]?.totals.over90, aging.currencies[0]?.agrees]
  const invoicing: Array<string | number | boolean | null | undefined> = [ranInvoices.status, ranInvoices.progress.total, invoiceRuns.data.length, invoice.number, invoice.vat[0]?.ratePercent,
    invoice.lines[0]?.vat.ruleId, journal.data[0]?.lines[0]?.accountCode, trialBalance.currencies[0]?.balanced, creditNote.number, creditNotes.data.length, creditNoteRead.vat[0]?.tax, invoice.amountDue, invoicePdf, facturX, invoiceXml.length,
    onPlatform.timeline[1]?.code, reissued.invoice.replacesInvoiceId, reissued.creditNote.total, creditNotePdf, creditNoteFacturX, creditNoteXml.length, creditNoteOnPlatform.status]
  const other = await call('/v1/quotes', 'post', { body: { accountId: account.id, lines: [{ sku: 'PLAT-PRO-SEAT', quantity: 6, termMonths: 12 }] } })
  const canceled = await call('/v1/quotes/{id}/cancel', 'post', { path: { id: other.id } })
  const states: Array<string | null> = [presented.quote.status, canceled.status, contractStatus, contractOfQuote.status, signed.status, evidenceHash, ...pdfBytes.map(String)]

  const audit = await call('/v1/audit/verify', 'get', {})
  const broken: [boolean, number, string | undefined] = [audit.ok, audit.entries, audit.brokenAt?.seq]
  const checkpoint = await call('/v1/audit/checkpoints', 'post', { header: { 'idempotency-key': 'checkpoint-typed' } })
  const againstCheckpoint = await call('/v1/audit/verify', 'post', { body: { checkpoint } })
  const anchored: [string, boolean] = [checkpoint.mac, againstCheckpoint.ok]
  const current = await call('/v1/rule-sets/current', 'get', {})
  const reloaded = await call('/v1/rule-sets/reload', 'post', {})
  const hashes: [string, boolean, number | undefined] = [current.ruleSetHash, reloaded.changed, current.ruleCounts['pricing']]
  const jobRun = await call('/v1/jobs/{name}/run', 'post', { path: { name: 'idempotency.purge' }, header: { 'idempotency-key': 'job-typed' } })
  const job = await call('/v1/jobs/{id}', 'get', { path: { id: jobRun.id } })
  const jobs = await call('/v1/jobs', 'get', { query: { runs: 2 } })
  const jobStates: [string, boolean, string | null, number | undefined] = [job.state, jobRun.queued, jobs.data[0]?.schedule.cron ?? null, job.progress?.done]

  const eventTypes = await call('/v1/webhook-event-types', 'get', {}, 'sales_rep')
  const typeNames: Array<[string, number]> = eventTypes.data.map((e) => [e.type, e.version])
  const endpoint = await call('/v1/webhook-endpoints', 'post', { header: { 'idempotency-key': 'endpoint-typed' }, body: { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] } })
  const secret: string | undefined = endpoint.secret
  const endpoints = await call('/v1/webhook-endpoints', 'get', { query: { limit: 5 } })
  const oneEndpoint = await call('/v1/webhook-endpoints/{id}', 'get', { path: { id: endpoint.id } })
  const patched = await call('/v1/webhook-endpoints/{id}', 'patch', { path: { id: endpoint.id }, header: { 'if-match': '"v' + oneEndpoint.version + '"' }, body: { description: 'typed' } })
  const rotated = await call('/v1/webhook-endpoints/{id}/rotate-secret', 'post', { path: { id: endpoint.id }, header: { 'idempotency-key': 'rotate-typed' } })
  const deliveries = await call('/v1/webhook-endpoints/{id}/deliveries', 'get', { path: { id: endpoint.id }, query: { state: 'failed', limit: 5 } })
  const deliveryId = deliveries.data[0]?.id ?? 'whd_none'
  const delivery = await call('/v1/webhook-deliveries/{id}', 'get', { path: { id: deliveryId } })
  const attemptErrors: Array<string | null> = delivery.attempts.map((a) => a.error)
  const requeued = await call('/v1/webhook-deliveries/{id}/retry', 'post', { path: { id: deliveryId }, header: { 'idempotency-key': 'retry-typed' } })
  const removed = await call('/v1/webhook-endpoints/{id}', 'delete', { path: { id: endpoint.id } })
  const webhooks = [typeNames, secret, endpoints.hasMore, patched.description, rotated.secret, attemptErrors, requeued.state, removed.enabled]

  return [cash, webhooks, up, failed, breaches, apiKey, nextPrincipals.hasMore, myRoles, managerId, net, ruleIds, fired, outcome, approvers, replayed, options, tierPrices, city, accounts.nextCursor,
    changed.name, contact.id, emails, quoteNet, cartSkus, drafts.data.length, revised.currentRevision, fingerprint, statuses, amount, rest.hasMore, decided,
    delegation.endsOn, revokedAt, status, states, orderStates, scheduled, reviewed, invoicing, broken, anchored, hashes, jobStates]
}
`

/** Type-checks `files` (name → source) together in `dir`; returns each file's diagnostics, formatted. */
function typeCheck(dir: string, files: Record<string, string>): Record<string, string[]> {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source)
  const program = ts.createProgram(
    Object.keys(files).map((name) => join(dir, name)),
    {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2023.d.ts'],
      types: [],
      skipLibCheck: true,
      noUncheckedIndexedAccess: true,
    },
  )
  const found: Record<string, string[]> = Object.fromEntries(Object.keys(files).map((name) => [name, []]))
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const name = d.file ? d.file.fileName.slice(dir.length + 1) : '(program)'
    ;(found[name] ??= []).push(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  }
  return found
}

t.test('a client generated from /openapi.json type-checks a call of every route, and every answer matches its schema', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qtc-openapi-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const api = astToString(await openapiTS(spec))
  t.match(api, /export interface paths/)

  const called = new Set([...CLIENT.matchAll(/call\('([^']+)', '(\w+)'/g)].map((m) => `${m[2]} ${m[1]}`))
  t.same(
    operations.map((o) => o.name).filter((name) => !called.has(name)),
    [],
    'the script calls every documented route',
  )
  t.same(
    [...called].filter((name) => !operations.some((o) => o.name === name)),
    [],
    'and no route the document lacks',
  )

  // The check can fail: a misread field and a missing path parameter are caught.
  const wrong = CLIENT.replace('const net: string = evaluation.totals.net', 'const net: number = evaluation.totals.net').replace(
    "call('/v1/accounts/{id}', 'get', { path: { id: account.id } })",
    "call('/v1/accounts/{id}', 'get', {})",
  )
  t.not(wrong, CLIENT)
  const diagnostics = typeCheck(dir, { 'api.d.ts': api, 'client.ts': CLIENT, 'wrong.ts': wrong })
  t.same(diagnostics['client.ts'], [], 'the script type-checks against the generated types')
  t.same(diagnostics['api.d.ts'], [], 'the generated types are valid TypeScript')
  t.equal(diagnostics['wrong.ts']?.length, 2, 'a wrong script does not type-check')
  t.same(Object.keys(diagnostics).sort(), ['api.d.ts', 'client.ts', 'wrong.ts'], 'no other diagnostics')

  // Run it: every call must succeed, and its answer must match the documented schema.
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv, ['date', 'date-time', 'email', 'uri'])
  ajv.addSchema(spec, 'openapi')
  const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')
  const quoteSchema = ajv.getSchema(`openapi#/${pointer('components', 'schemas', 'Quote')}`)!
  t.notOk(quoteSchema({ id: 'qt_1' }), 'the validator refuses an answer the schema does not describe')
  const answered: string[] = []
  const call = async (
    path: string,
    method: string,
    request: { path?: Record<string, unknown>; query?: Record<string, unknown>; header?: Record<string, string>; body?: unknown },
    as: Role = 'admin',
  ) => {
    if (path === '/v1/webhook-endpoints/{id}/deliveries') await runWebhookJobs()
    if (path === '/v1/invoice-runs/{id}' || path === '/v1/invoice-drafts') await runInvoiceJob()
    if (path === '/v1/invoices/{id}/einvoicing') await runEInvoicingJob()
    const url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(request.path?.[name])))
    const query = new URLSearchParams(
      Object.entries(request.query ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, string] => [k, String(v)]),
    )
    const res = await ctx.app.inject({
      method: method.toUpperCase() as 'GET',
      url: query.size > 0 ? `${url}?${query}` : url,
      headers: { ...ctx.as(as), ...(request.header ?? {}) },
      ...(request.body !== undefined ? { payload: request.body as object } : {}),
    })
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`)
    if (res.headers['content-type'] === 'application/pdf') {
      t.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-', `${method} ${path} answers a PDF`)
      answered.push(`${method} ${path}`)
      return res.rawPayload.length
    }
    if (String(res.headers['content-type']).startsWith('application/xml')) {
      t.match(res.body, /^<\?xml version="1\.0" encoding="UTF-8"\?>/, `${method} ${path} answers XML`)
      answered.push(`${method} ${path}`)
      return res.body
    }
    const validate = ajv.getSchema(`openapi#/${pointer('paths', path, method, 'responses', String(res.statusCode), 'content', 'application/json', 'schema')}`)
    if (!validate) throw new Error(`${method} ${path}: no schema for ${res.statusCode}`)
    const body = res.json()
    t.ok(validate(body), `${method} ${path} ${res.statusCode} matches its schema`, { errors: validate.errors })
    answered.push(`${method} ${path}`)
    return body
  }
  const js = ts.transpileModule(CLIENT, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
  writeFileSync(join(dir, 'client.mjs'), js)
  const client = (await import(pathToFileURL(join(dir, 'client.mjs')).href)) as {
    run(c: typeof call, s: (url: string) => Promise<void>): Promise<unknown[]>
  }
  // The buyer signs on their page (a form, outside the API), between two API calls.
  const signByLink = async (url: string) => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: `${new URL(url).pathname}/sign`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ name: 'Jo Buyer', title: 'CEO', email: 'jo@example.com', consent: 'yes', consentVersion: '1' }).toString(),
    })
    if (res.statusCode !== 200) throw new Error(`signing: ${res.statusCode} ${res.body}`)
  }
  const [, failed, breaches] = (await client.run(call, signByLink)) as [unknown, unknown[], unknown[]]
  t.ok(
    failed.some((actual) => actual !== undefined),
    'answers with failed conditions in the trace were checked',
  )
  t.ok(breaches.length > 0, 'and with guardrail breaches')
  t.same(
    operations.map((o) => o.name).filter((name) => !answered.includes(name)),
    [],
    'every route answered',
  )
})

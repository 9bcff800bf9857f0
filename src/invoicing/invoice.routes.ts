import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../http/auth.js'
import { setEtag } from '../http/etag.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { PDF_RESPONSE, XML_RESPONSE } from '../http/pdf.js'
import { problemResponses } from '../http/problem.js'
import { formatScaled } from '../money/money.js'
import { formatMoney } from '../money/money-value.js'
import { formatQty } from '../orders/order.service.js'
import { CREDIT_NOTE_ISSUERS, INVOICE_RUNNERS, SELLING_ROLES } from '../principals/roles.js'
import { INVOICE_RUN_STATUSES, INVOICE_STATUSES, openMinorOf, settlementOf } from './invoice.js'
import * as service from './invoice.service.js'

export const Amount = Type.String({ description: 'A decimal amount in the currency of the invoice, e.g. "1234.50"' })
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
export const IsoDate = Type.String({ format: 'date' })
const Address = Type.Object({
  line1: Type.String(),
  line2: Type.Optional(Type.String()),
  postalCode: Type.String(),
  city: Type.String(),
  country: Type.String(),
})
export const Party = Type.Object({ name: Type.String(), address: Address, vatId: Nullable(Type.String()), siren: Type.Optional(Nullable(Type.String())) })

const InvoiceSummary = {
  id: Type.String(),
  number: Type.String({ description: "<seller's invoicePrefix>-<year>-<six digits>, gapless per seller and year" }),
  sellerId: Type.String(),
  accountId: Type.String(),
  currency: Type.String(),
  status: Type.Union(INVOICE_STATUSES.map((s) => Type.Literal(s))),
  issueDate: IsoDate,
  dueDate: IsoDate,
  paymentTermsDays: Type.Integer(),
  net: Amount,
  tax: Amount,
  total: Amount,
  runId: Nullable(Type.String()),
  replacesInvoiceId: Nullable(Type.String({ description: 'The rejected or refused invoice this one reissues' })),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
}

const Percent = Type.String({ description: 'A rate in percent, e.g. "20", "5.5", "0"' })
export const VatLineSchema = Type.Object({
  category: Type.String(),
  ratePercent: Percent,
  base: Amount,
  tax: Amount,
  mention: Nullable(Type.String()),
  exemptionCode: Nullable(Type.String()),
})

export const InvoiceLineSchema = Type.Object({
  line: Type.Integer({ minimum: 1 }),
  orderId: Type.String(),
  orderNumber: Type.String(),
  orderLine: Type.Integer(),
  scheduleSeq: Type.Integer({ description: 'The billing schedule item billed (GET /v1/orders/:id/billing-schedule)' }),
  quoteNumber: Type.String(),
  sku: Type.String(),
  description: Type.String(),
  quantity: Type.String(),
  unit: Type.String(),
  periodStart: Nullable(IsoDate),
  periodEnd: Nullable(IsoDate),
  discountPercent: Type.String({ description: "The line's discount off its standard price, as signed" }),
  net: Amount,
  vat: Type.Object({
    category: Type.String({ description: 'EN 16931 VAT category: S, AE, E, G, O, K, Z' }),
    ratePercent: Percent,
    mention: Nullable(Type.String()),
    exemptionCode: Nullable(Type.String()),
    ruleId: Type.String({ description: 'The tax rule that decided it' }),
  }),
})

export const InvoiceSchema = Type.Object(
  {
    ...InvoiceSummary,
    buyer: Party,
    seller: Party,
    ruleSetHash: Type.String({ description: 'The rule set whose tax rules decided the VAT of each line' }),
    credited: Type.String({ description: 'What credit notes credited of it, VAT included' }),
    paid: Type.String({ description: 'What payments and applied customer credit settled of it, net of refunds that reopened it' }),
    amountDue: Type.String({ description: 'What remains open: the total less what was credited and paid' }),
    lines: Type.Array(InvoiceLineSchema),
    vat: Type.Array(VatLineSchema, { description: 'The VAT breakdown: per category and rate, the tax computed once on the base' }),
  },
  { $id: 'Invoice' },
)

const CreditNoteSummary = {
  id: Type.String(),
  number: Type.String({ description: "<seller's creditNotePrefix>-<year>-<six digits>, gapless per seller and year" }),
  invoiceId: Type.String(),
  sellerId: Type.String(),
  accountId: Type.String(),
  currency: Type.String(),
  issueDate: IsoDate,
  reason: Type.String(),
  net: Amount,
  tax: Amount,
  total: Amount,
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
}

export const CreditNoteSchema = Type.Object(
  {
    ...CreditNoteSummary,
    invoiceNumber: Type.String(),
    lines: Type.Array(
      Type.Object({
        line: Type.Integer({ minimum: 1 }),
        invoiceLine: Type.Integer({ description: 'The invoice line credited' }),
        description: Type.String(),
        net: Amount,
        vat: Type.Object({ category: Type.String(), ratePercent: Percent }),
      }),
    ),
    vat: Type.Array(VatLineSchema, { description: 'The VAT reversed, per category and rate' }),
  },
  { $id: 'CreditNote' },
)

function creditNoteSummaryJson(n: service.CreditNote) {
  return {
    id: n.id,
    number: n.number,
    invoiceId: n.invoiceId,
    sellerId: n.sellerId,
    accountId: n.accountId,
    currency: n.currency,
    issueDate: n.issueDate,
    reason: n.reason,
    net: formatMoney(n.net),
    tax: formatMoney(n.tax),
    total: formatMoney(n.total),
    createdBy: n.createdBy,
    createdAt: n.createdAt.toISOString(),
  }
}

function creditNoteJson(n: service.CreditNoteView) {
  return {
    ...creditNoteSummaryJson(n),
    invoiceNumber: n.invoiceNumber,
    lines: n.lines.map((l) => ({
      line: l.lineNo,
      invoiceLine: l.invoiceLineNo,
      description: l.description,
      net: formatMoney(l.net),
      vat: { category: l.vatCategory, ratePercent: ratePercent(l.vatRateBp) },
    })),
    vat: n.vat.map(vatLineJson),
  }
}

export const InvoiceRunSchema = Type.Object(
  {
    id: Type.String(),
    asOf: IsoDate,
    status: Type.Union(INVOICE_RUN_STATUSES.map((s) => Type.Literal(s))),
    requestedBy: Nullable(Type.String()),
    jobId: Nullable(Type.String()),
    progress: Type.Object({ done: Type.Integer(), total: Nullable(Type.Integer()) }),
    drafts: Type.Boolean({ description: 'Whether the run drafts its invoices for review (GET /v1/invoice-drafts) instead of issuing them' }),
    invoices: Type.Integer({ description: 'Invoices this run made (drafts, for a run that drafts)' }),
    nothingToDo: Type.Boolean({ description: 'Finished without making an invoice: everything due was already billed' }),
    failures: Type.Array(Type.Object({ accountId: Type.String(), currency: Type.String(), error: Type.String() })),
    createdAt: Type.String({ format: 'date-time' }),
    startedAt: Nullable(Type.String({ format: 'date-time' })),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'InvoiceRun' },
)

/** 2000 → "20", 550 → "5.5". */
export function ratePercent(bp: number): string {
  return formatScaled(BigInt(bp), 2).replace(/\.?0+$/, '')
}

export function vatLineJson(v: service.VatLine) {
  return {
    category: v.category,
    ratePercent: ratePercent(v.rateBp),
    base: formatMoney(v.base),
    tax: formatMoney(v.tax),
    mention: v.mention,
    exemptionCode: v.exemptionCode,
  }
}

function summaryJson(i: service.Invoice) {
  return {
    id: i.id,
    number: i.number,
    sellerId: i.sellerId,
    accountId: i.accountId,
    currency: i.currency,
    status: i.status,
    issueDate: i.issueDate,
    dueDate: i.dueDate,
    paymentTermsDays: i.paymentTermsDays,
    net: formatMoney(i.net),
    tax: formatMoney(i.tax),
    total: formatMoney(i.total),
    runId: i.runId,
    replacesInvoiceId: i.replacesInvoiceId,
    version: i.version,
    createdAt: i.createdAt.toISOString(),
  }
}

export function lineJson(l: service.InvoiceLine) {
  return {
    line: l.lineNo,
    orderId: l.orderId,
    orderNumber: l.orderNumber,
    orderLine: l.orderLineNo,
    scheduleSeq: l.scheduleSeq,
    quoteNumber: l.quoteNumber,
    sku: l.sku,
    description: l.description,
    quantity: formatQty(l.qtyMilli),
    unit: l.unit,
    periodStart: l.periodStart,
    periodEnd: l.periodEnd,
    discountPercent: formatScaled(l.discountHundredths, 2),
    net: formatMoney(l.net),
    vat: {
      category: l.vat.category,
      ratePercent: ratePercent(l.vat.rateBp),
      mention: l.vat.mention,
      exemptionCode: l.vat.exemptionCode,
      ruleId: l.vat.ruleId,
    },
  }
}

export function invoiceJson(i: service.InvoiceView) {
  return {
    ...summaryJson(i),
    buyer: i.buyer,
    seller: i.seller,
    ruleSetHash: i.ruleSetHash,
    credited: formatMoney(i.credited),
    paid: formatMoney(i.paid),
    amountDue: formatMoney({ minor: openMinorOf(settlementOf(i)), currency: i.currency }),
    lines: i.lines.map(lineJson),
    vat: i.vat.map(vatLineJson),
  }
}

export function runJson(r: service.InvoiceRun) {
  return {
    id: r.id,
    asOf: r.asOf,
    status: r.status,
    requestedBy: r.requestedBy,
    jobId: r.jobId,
    progress: { done: r.done, total: r.total },
    drafts: r.drafts,
    invoices: r.invoices,
    nothingToDo: r.status === 'succeeded' && r.invoices === 0,
    failures: r.failures,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
  }
}

/** Where a document stands on the certified platform. */
const OnPlatform = {
  platform: Nullable(Type.String()),
  status: Nullable(Type.String({ description: 'pending (not deposited yet), or the last status reported' })),
  reference: Nullable(Type.String({ description: "The platform's id of the document" })),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  timeline: Type.Array(
    Type.Object({
      status: Type.String(),
      code: Type.Integer({ description: 'The code of the French lifecycle: 200 déposée, 210 refusée, 212 encaissée, 213 rejetée…' }),
      label: Type.String(),
      reason: Nullable(Type.String()),
      eventId: Type.String(),
      occurredAt: Type.String({ format: 'date-time' }),
      receivedAt: Type.String({ format: 'date-time' }),
    }),
  ),
}

function onPlatformJson<V extends Omit<service.EInvoicingView, 'replacedBy'>>(view: V) {
  const { timeline, ...rest } = view
  return { ...rest, timeline: timeline.map((e) => ({ ...e, occurredAt: e.occurredAt.toISOString(), receivedAt: e.receivedAt.toISOString() })) }
}

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

export const invoiceRoutes: FastifyPluginAsyncTypebox<{ deps: service.InvoicingDeps & { queue: service.InvoiceJobQueue } }> = async (app, { deps }) => {
  const readers = { roles: SELLING_ROLES }
  const runners = { roles: INVOICE_RUNNERS }
  const crediting = { roles: CREDIT_NOTE_ISSUERS }
  const tags = ['invoicing']

  app.post(
    '/v1/invoice-runs',
    {
      config: runners,
      schema: {
        tags,
        summary: 'Invoice everything due by asOf (today by default): queued as a job, one invoice per account, seller, currency and payment terms',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            asOf: Type.Optional(Type.String({ format: 'date', description: 'Bill what falls due on or before this day' })),
            drafts: Type.Optional(Type.Boolean({ description: 'Draft the invoices for review instead of issuing them (false by default)' })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Ref('InvoiceRun'), ...problemResponses(400, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const idempotency = idempotencyOf(request)
      const stored = await service.requestInvoiceRun(deps, principalOf(request), request.body, idempotency && { ...idempotency, present: runJson })
      const body = stored.replayed ? stored.body : runJson(stored.body)
      return sendStored(reply, { ...stored, body: body as never })
    },
  )

  app.get(
    '/v1/invoice-runs',
    {
      config: runners,
      schema: {
        tags,
        summary: 'The latest invoice runs, newest first',
        querystring: Type.Object({ limit: PageQuery.properties.limit }, { additionalProperties: false }),
        response: { 200: Type.Object({ data: Type.Array(Type.Ref('InvoiceRun')) }), ...problemResponses(403) },
      },
    },
    async (request) => ({ data: (await service.listInvoiceRuns(deps, request.query.limit ?? DEFAULT_PAGE_LIMIT)).map(runJson) }),
  )

  app.get(
    '/v1/invoice-runs/:id',
    {
      config: runners,
      schema: {
        tags,
        summary: 'An invoice run and its progress (done of total)',
        params: IdParams,
        response: { 200: Type.Ref('InvoiceRun'), ...problemResponses(403, 404) },
      },
    },
    async (request) => runJson(await service.getInvoiceRun(deps, request.params.id)),
  )

  app.get(
    '/v1/invoices',
    {
      config: readers,
      schema: {
        tags,
        summary: 'Invoices the caller may see (those of the accounts whose orders they see)',
        querystring: Type.Composite(
          [
            PageQuery,
            Type.Object({
              accountId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
              runId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            }),
          ],
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Object(InvoiceSummary)), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT, starting_after, accountId, runId } = request.query
      const rows = await service.listInvoices(deps, principalOf(request), { accountId, runId }, limit + 1, starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(summaryJson) }
    },
  )

  app.get(
    '/v1/invoices/:id',
    {
      config: readers,
      schema: {
        tags,
        summary: 'An invoice with its lines and VAT breakdown',
        params: IdParams,
        response: { 200: Type.Ref('Invoice'), ...problemResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const invoice = await service.getInvoice(deps, principalOf(request), request.params.id)
      setEtag(reply, invoice.version)
      return invoiceJson(invoice)
    },
  )

  app.get(
    '/v1/invoices/:id/document.pdf',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The invoice as a PDF, with the mentions French law requires; French for a French seller unless lang says otherwise',
        params: IdParams,
        querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('fr')])) }, { additionalProperties: false }),
        response: { 200: PDF_RESPONSE, ...problemResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const { number, bytes } = await service.invoiceDocument(deps, principalOf(request), request.params.id, request.query.lang)
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${number}.pdf"`).send(bytes)
    },
  )

  app.get(
    '/v1/invoices/:id/facturx.pdf',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The invoice as Factur-X: its PDF as PDF/A-3 with its CII XML (EN 16931 profile) embedded as factur-x.xml',
        params: IdParams,
        response: { 200: PDF_RESPONSE, ...problemResponses(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { number, bytes } = await service.facturXDocument(deps, principalOf(request), request.params.id)
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${number}.facturx.pdf"`).send(bytes)
    },
  )

  app.get(
    '/v1/invoices/:id/invoice.xml',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The invoice as UN/CEFACT CII D16B XML, EN 16931 profile: what the Factur-X PDF embeds and a certified platform receives',
        params: IdParams,
        response: { 200: XML_RESPONSE, ...problemResponses(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { number, xml } = await service.invoiceXml(deps, principalOf(request), request.params.id)
      return reply.type('application/xml; charset=utf-8').header('content-disposition', `inline; filename="${number}.xml"`).send(xml)
    },
  )

  app.post(
    '/v1/invoices/:id/credit-notes',
    {
      config: crediting,
      schema: {
        tags,
        summary: 'Credit an invoice by a credit note: every line in full, or the amounts given per line (net of VAT)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            reason: Type.String({ minLength: 1, maxLength: 1000, description: 'Why, as printed on the credit note' }),
            lines: Type.Optional(
              Type.Array(
                Type.Object(
                  {
                    line: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
                    amount: Type.String({ pattern: '^\\d{1,15}(\\.\\d{1,4})?$', description: 'Net amount to credit on the line, e.g. "120.00"' }),
                  },
                  { additionalProperties: false },
                ),
                { minItems: 1, maxItems: 1000 },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('CreditNote'), ...problemResponses(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const idempotency = idempotencyOf(request)
      const stored = await service.issueCreditNote(
        deps,
        principalOf(request),
        request.params.id,
        request.body,
        idempotency && { ...idempotency, present: creditNoteJson },
      )
      const body = stored.replayed ? stored.body : creditNoteJson(stored.body)
      return sendStored(reply, { ...stored, body: body as never })
    },
  )

  app.post(
    '/v1/invoices/:id/reissue',
    {
      config: crediting,
      schema: {
        tags,
        summary:
          'Cancel an invoice the certified platform rejected or the buyer refused, by a credit note for all that remains of it, and issue its replacement (same lines, a new number, the buyer and VAT as they are now)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          { reason: Type.String({ minLength: 1, maxLength: 900, description: 'Why, as printed on the credit note: what was corrected' }) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ creditNote: Type.Ref('CreditNote'), invoice: Type.Object(InvoiceSummary) }),
          ...problemResponses(403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const idempotency = idempotencyOf(request)
      const present = (r: { creditNote: service.CreditNoteView; invoice: service.Invoice }) => ({
        creditNote: creditNoteJson(r.creditNote),
        invoice: summaryJson(r.invoice),
      })
      const stored = await service.reissueInvoice(deps, principalOf(request), request.params.id, request.body, idempotency && { ...idempotency, present })
      const body = stored.replayed ? stored.body : present(stored.body)
      return sendStored(reply, { ...stored, body: body as never })
    },
  )

  app.get(
    '/v1/invoices/:id/einvoicing',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The invoice on the certified platform: its deposit and the lifecycle statuses reported (déposée, rejetée, refusée, encaissée…)',
        params: IdParams,
        response: {
          200: Type.Object({ ...OnPlatform, replacedBy: Nullable(Type.Object({ id: Type.String(), number: Type.String() })) }),
          ...problemResponses(403, 404),
        },
      },
    },
    async (request) => onPlatformJson(await service.einvoicingOf(deps, principalOf(request), request.params.id)),
  )

  app.get(
    '/v1/credit-notes/:id/einvoicing',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The credit note on the certified platform: its deposit and the lifecycle statuses reported',
        params: IdParams,
        response: { 200: Type.Object(OnPlatform), ...problemResponses(403, 404) },
      },
    },
    async (request) => onPlatformJson(await service.creditNoteEInvoicingOf(deps, principalOf(request), request.params.id)),
  )

  app.get(
    '/v1/invoices/:id/credit-notes',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The credit notes of an invoice, oldest first',
        params: IdParams,
        response: { 200: Type.Object({ data: Type.Array(Type.Object(CreditNoteSummary)) }), ...problemResponses(403, 404) },
      },
    },
    async (request) => ({ data: (await service.creditNotesOfInvoice(deps, principalOf(request), request.params.id)).map(creditNoteSummaryJson) }),
  )

  app.get(
    '/v1/credit-notes/:id',
    {
      config: readers,
      schema: {
        tags,
        summary: 'A credit note with its lines and the VAT it reverses',
        params: IdParams,
        response: { 200: Type.Ref('CreditNote'), ...problemResponses(403, 404) },
      },
    },
    async (request) => creditNoteJson(await service.getCreditNote(deps, principalOf(request), request.params.id)),
  )

  app.get(
    '/v1/credit-notes/:id/document.pdf',
    {
      config: readers,
      schema: {
        tags,
        summary:
          'The credit note as a PDF: the invoice it credits, its reason, the lines and VAT it reverses; French for a French seller unless lang says otherwise',
        params: IdParams,
        querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('fr')])) }, { additionalProperties: false }),
        response: { 200: PDF_RESPONSE, ...problemResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const { number, bytes } = await service.creditNoteDocument(deps, principalOf(request), request.params.id, request.query.lang)
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${number}.pdf"`).send(bytes)
    },
  )

  app.get(
    '/v1/credit-notes/:id/facturx.pdf',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The credit note as Factur-X: its PDF as PDF/A-3 with its CII XML (type 381, EN 16931 profile) embedded as factur-x.xml',
        params: IdParams,
        response: { 200: PDF_RESPONSE, ...problemResponses(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { number, bytes } = await service.creditNoteFacturX(deps, principalOf(request), request.params.id)
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${number}.facturx.pdf"`).send(bytes)
    },
  )

  app.get(
    '/v1/credit-notes/:id/credit-note.xml',
    {
      config: readers,
      schema: {
        tags,
        summary: 'The credit note as UN/CEFACT CII D16B XML (type 381, EN 16931 profile), naming the invoice it credits',
        params: IdParams,
        response: { 200: XML_RESPONSE, ...problemResponses(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { number, xml } = await service.creditNoteXml(deps, principalOf(request), request.params.id)
      return reply.type('application/xml; charset=utf-8').header('content-disposition', `inline; filename="${number}.xml"`).send(xml)
    },
  )
}

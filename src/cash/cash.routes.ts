import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../http/auth.js'
import { idempotencyOf, RequiredIdempotencyHeaders, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import { formatMoney, type Money } from '../money/money-value.js'
import { CASH_OPERATORS } from '../principals/roles.js'
import type { Buckets } from './receivables.js'
import { PAYMENT_METHODS, PAYMENT_STATUSES } from './payment.js'
import * as service from './cash.service.js'

const Amount = Type.String({ description: 'A decimal amount in the currency, e.g. "1234.50"' })
const AmountIn = (description: string) =>
  Type.String({ pattern: '^\\d{1,15}(\\.\\d{1,4})?$', description: `${description}: a decimal string, at most the currency's ISO 4217 digits` })
const CurrencyCode = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' })
const Id = Type.String({ minLength: 1, maxLength: 64 })
const IdParams = Type.Object({ id: Id })
const IsoDate = Type.String({ format: 'date' })
const Reason = Type.String({ minLength: 1, maxLength: 1000, description: 'Why, as kept in the audit trail' })
const AllocationsIn = Type.Array(Type.Object({ invoiceId: Id, amount: AmountIn('How much of the invoice to settle') }, { additionalProperties: false }), {
  minItems: 1,
  maxItems: 100,
})
const Allocated = Type.Object({ invoiceId: Type.String(), number: Type.String(), amount: Amount })

const PaymentSummary = {
  id: Type.String(),
  accountId: Type.String(),
  method: Type.Union(PAYMENT_METHODS.map((m) => Type.Literal(m))),
  currency: Type.String(),
  amount: Amount,
  receivedDate: IsoDate,
  reference: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union(PAYMENT_STATUSES.map((s) => Type.Literal(s))),
  refunded: Amount,
  createdBy: Type.String(),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
}

const RefundSchema = Type.Object({
  id: Type.String(),
  accountId: Type.String(),
  paymentId: Type.Union([Type.String(), Type.Null()], { description: 'The payment refunded; null for a refund of credit' }),
  currency: Type.String(),
  amount: Amount,
  fromCredit: Type.String({ description: "Taken from the account's credit balance" }),
  reopened: Type.String({ description: 'Taken back from invoices the payment had settled: owed again' }),
  reason: Type.String(),
  refundDate: IsoDate,
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
})

export const PaymentSchema = Type.Object(
  {
    ...PaymentSummary,
    allocations: Type.Array(
      Type.Object({
        invoiceId: Type.String(),
        invoiceNumber: Type.String(),
        source: Type.Union([Type.Literal('payment'), Type.Literal('refund')], { description: 'payment: settled; refund: reopened (negative)' }),
        amount: Type.String({ description: 'Negative when a refund reopened the invoice' }),
        date: IsoDate,
        refundId: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
    toCredit: Type.String({ description: "What settled no invoice: added to the account's credit balance" }),
    refunds: Type.Array(RefundSchema),
  },
  { $id: 'Payment' },
)

function summaryJson(p: service.Payment) {
  return {
    id: p.id,
    accountId: p.accountId,
    method: p.method,
    currency: p.amount.currency,
    amount: formatMoney(p.amount),
    receivedDate: p.receivedDate,
    reference: p.reference,
    status: p.status,
    refunded: formatMoney(p.refunded),
    createdBy: p.createdBy,
    version: p.version,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  }
}

function refundJson(r: service.Refund) {
  return {
    id: r.id,
    accountId: r.accountId,
    paymentId: r.paymentId,
    currency: r.amount.currency,
    amount: formatMoney(r.amount),
    fromCredit: formatMoney(r.fromCredit),
    reopened: formatMoney(r.reopened),
    reason: r.reason,
    refundDate: r.refundDate,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
  }
}

function paymentJson(p: service.PaymentView & { refunds?: service.Refund[] }) {
  return {
    ...summaryJson(p),
    allocations: p.allocations.map((a) => ({ ...a, source: a.source as 'payment' | 'refund', amount: formatMoney(a.amount) })),
    toCredit: formatMoney(p.toCredit),
    refunds: (p.refunds ?? []).map(refundJson),
  }
}

const money = (m: Money) => formatMoney(m)

/** Payments, refunds, customer credit and receivables: finance's side of the cash (docs/cash.md). */
export const cashRoutes: FastifyPluginAsyncTypebox<{ deps: service.CashDeps }> = async (app, { deps }) => {
  const config = { roles: CASH_OPERATORS }
  const tags = ['cash']

  app.post(
    '/v1/payments',
    {
      config,
      schema: {
        tags,
        summary: 'Record a payment received and allocate it: to the invoices named, or oldest due first; the rest becomes customer credit',
        headers: RequiredIdempotencyHeaders,
        body: Type.Object(
          {
            accountId: Id,
            method: Type.Union(
              PAYMENT_METHODS.map((m) => Type.Literal(m)),
              { description: 'bank_transfer is recorded as received; card and direct_debit go through a payment provider' },
            ),
            amount: AmountIn('The amount received'),
            currency: CurrencyCode,
            receivedDate: Type.Optional(Type.String({ format: 'date', description: 'The value date; today by default, at most a year back' })),
            reference: Type.Optional(Type.String({ minLength: 1, maxLength: 140, description: "The payer's bank reference or remittance text" })),
            allocations: Type.Optional(AllocationsIn),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Payment'), ...problemResponses(403, 409, 422) },
      },
    },
    async (request, reply) => {
      const idempotency = idempotencyOf(request)
      const stored = await service.recordPayment(deps, principalOf(request), request.body, idempotency && { ...idempotency, present: paymentJson })
      return sendStored(reply, { ...stored, body: (stored.replayed ? stored.body : paymentJson(stored.body)) as never })
    },
  )

  app.get(
    '/v1/payments',
    {
      config,
      schema: {
        tags,
        summary: 'Payments, newest first',
        querystring: Type.Composite(
          [
            PageQuery,
            Type.Object({
              accountId: Type.Optional(Id),
              status: Type.Optional(Type.Union(PAYMENT_STATUSES.map((s) => Type.Literal(s)))),
            }),
          ],
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Object(PaymentSummary)), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT, starting_after, accountId, status } = request.query
      const rows = await service.listPayments(deps, { accountId, status }, limit + 1, starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(summaryJson) }
    },
  )

  app.get(
    '/v1/payments/:id',
    {
      config,
      schema: {
        tags,
        summary: 'A payment, how it settled invoices, and its refunds',
        params: IdParams,
        response: { 200: Type.Ref('Payment'), ...problemResponses(403, 404) },
      },
    },
    async (request) => paymentJson(await service.getPayment(deps, request.params.id)),
  )

  app.post(
    '/v1/payments/:id/refunds',
    {
      config,
      schema: {
        tags,
        summary: "Refund a payment, in part or in full: from the account's credit first, then by reopening the invoices it settled",
        params: IdParams,
        headers: RequiredIdempotencyHeaders,
        body: Type.Object(
          { amount: Type.Optional(AmountIn('How much to refund; everything left when absent')), reason: Reason },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ refund: RefundSchema, payment: Type.Object(PaymentSummary), reopened: Type.Array(Allocated) }),
          ...problemResponses(403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const present = (r: service.PaymentRefund) => ({ refund: refundJson(r.refund), payment: summaryJson(r.payment), reopened: r.reopened })
      const idempotency = idempotencyOf(request)
      const stored = await service.refundPayment(deps, principalOf(request), request.params.id, request.body, idempotency && { ...idempotency, present })
      return sendStored(reply, { ...stored, body: (stored.replayed ? stored.body : present(stored.body)) as never })
    },
  )

  app.get(
    '/v1/accounts/:id/balance',
    {
      config,
      schema: {
        tags,
        summary: 'What the account owes (receivable) and is owed (credit), per currency, from the journal',
        params: IdParams,
        response: {
          200: Type.Object({
            accountId: Type.String(),
            currencies: Type.Array(
              Type.Object({
                currency: Type.String(),
                receivable: Type.String({ description: 'Open on its invoices' }),
                credit: Type.String({ description: 'Over-payments and released credit, not yet applied or refunded' }),
                net: Type.String({ description: 'Receivable less credit; negative when QTC owes the account' }),
              }),
            ),
          }),
          ...problemResponses(403, 404),
        },
      },
    },
    async (request) => {
      const balances = await service.accountBalance(deps, principalOf(request), request.params.id)
      return {
        accountId: request.params.id,
        currencies: balances.map((b) => ({ currency: b.currency, receivable: money(b.receivable), credit: money(b.credit), net: money(b.net) })),
      }
    },
  )

  app.post(
    '/v1/accounts/:id/credit-applications',
    {
      config,
      schema: {
        tags,
        summary: "Apply the account's credit balance to its open invoices: as named, or oldest due first as far as it goes",
        params: IdParams,
        headers: RequiredIdempotencyHeaders,
        body: Type.Object({ currency: CurrencyCode, allocations: Type.Optional(AllocationsIn) }, { additionalProperties: false }),
        response: {
          201: Type.Object({
            id: Type.String(),
            accountId: Type.String(),
            currency: Type.String(),
            allocations: Type.Array(Allocated),
            creditLeft: Amount,
            automatic: Type.Boolean(),
          }),
          ...problemResponses(403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const idempotency = idempotencyOf(request)
      return sendStored(reply, await service.applyCredit(deps, principalOf(request), request.params.id, request.body, idempotency))
    },
  )

  app.post(
    '/v1/accounts/:id/credit-refunds',
    {
      config,
      schema: {
        tags,
        summary: "Pay back part or all of the account's credit balance in a currency",
        params: IdParams,
        headers: RequiredIdempotencyHeaders,
        body: Type.Object(
          { currency: CurrencyCode, amount: Type.Optional(AmountIn('How much; the whole balance when absent')), reason: Reason },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ refund: RefundSchema, creditLeft: Amount }), ...problemResponses(403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const present = (r: { refund: service.Refund; creditLeft: string }) => ({ refund: refundJson(r.refund), creditLeft: r.creditLeft })
      const idempotency = idempotencyOf(request)
      const stored = await service.refundCredit(deps, principalOf(request), request.params.id, request.body, idempotency && { ...idempotency, present })
      return sendStored(reply, { ...stored, body: (stored.replayed ? stored.body : present(stored.body)) as never })
    },
  )

  const Buckets = Type.Object({
    current: Type.String({ description: 'Not yet due' }),
    days1to30: Type.String({ description: '1 to 30 days past due' }),
    days31to60: Amount,
    days61to90: Amount,
    over90: Type.String({ description: 'More than 90 days past due' }),
    total: Amount,
  })
  app.get(
    '/v1/reports/ar-aging',
    {
      config,
      schema: {
        tags,
        summary: 'Receivables ageing at the end of a day (today by default): open amounts by days past due, per account and in total, per currency',
        querystring: Type.Object(
          { asOf: Type.Optional(Type.String({ format: 'date' })), currency: Type.Optional(CurrencyCode) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            asOf: IsoDate,
            currencies: Type.Array(
              Type.Object({
                currency: Type.String(),
                accounts: Type.Array(Type.Object({ accountId: Type.String(), invoices: Type.Integer(), buckets: Buckets })),
                totals: Buckets,
                ledgerReceivable: Type.String({ description: "The journal's receivable (411) that day" }),
                agrees: Type.Boolean({ description: 'The ageing total equals the journal receivable' }),
              }),
            ),
          }),
          ...problemResponses(403),
        },
      },
    },
    async (request) => {
      const asOf = request.query.asOf ?? deps.clock.now().toISOString().slice(0, 10)
      const report = await service.agingReport(deps, asOf, { currency: request.query.currency })
      const bucketsJson = (b: Buckets) => ({
        current: money(b.current),
        days1to30: money(b.days1to30),
        days31to60: money(b.days31to60),
        days61to90: money(b.days61to90),
        over90: money(b.over90),
        total: money(b.total),
      })
      return {
        asOf,
        currencies: report.currencies.map((c) => ({
          currency: c.currency,
          accounts: c.accounts.map((a) => ({ accountId: a.accountId, invoices: a.invoices, buckets: bucketsJson(a.buckets) })),
          totals: bucketsJson(c.totals),
          ledgerReceivable: money(c.ledgerReceivable),
          agrees: c.agrees,
        })),
      }
    },
  )
}

import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { principalOf } from '../http/auth.js'
import { expectedVersion, setEtag } from '../http/etag.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { DEFAULT_PAGE_LIMIT, PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import { formatMoney } from '../money/money-value.js'
import { ORDER_OPERATORS, SELLING_ROLES } from '../principals/roles.js'
import { FULFILMENT_KINDS, formatQty, KINDS_OF, ORDER_STATUSES } from './order.js'
import * as service from './order.service.js'

const Amount = Type.String({ description: 'A decimal amount in the currency of the order, e.g. "1234.50"' })
const Qty = Type.String({ description: 'A decimal quantity, e.g. "2" or "2.5"' })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const Kind = Type.Union(FULFILMENT_KINDS.map((k) => Type.Literal(k)))

const OrderSummary = {
  id: Type.String(),
  number: Type.String({ description: 'O-YYYY-NNNNNN' }),
  quoteId: Type.String(),
  revision: Type.Integer({ description: 'The accepted revision the order executes' }),
  quoteNumber: Type.String(),
  contractId: Type.String(),
  accountId: Type.String(),
  sellerId: Type.String({ description: 'The legal entity that sells, delivers and invoices' }),
  currency: Type.String(),
  status: Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s))),
  paymentTermsDays: Type.Integer(),
  ruleSetHash: Type.String(),
  priceBookHash: Type.String(),
  net: Amount,
  oneTime: Amount,
  annualRecurring: Amount,
  cancelReason: Nullable(Type.String()),
  billingAlignment: Type.Union(
    service.BILLING_ALIGNMENTS.map((a) => Type.Literal(a)),
    { description: 'Copied from the account when the order was made' },
  ),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
}

export const OrderSchema = Type.Object(
  {
    ...OrderSummary,
    lines: Type.Array(
      Type.Object({
        line: Type.Integer({ description: "The line's index in the accepted quote" }),
        parentLine: Nullable(Type.Integer()),
        sku: Type.String(),
        name: Type.String(),
        productType: Type.String(),
        fulfilment: Type.Union(
          Object.keys(KINDS_OF).map((m) => Type.Literal(m)),
          {
            description: 'shipment (shipped, then delivered), delivery (delivered) or activation (activated)',
          },
        ),
        taxCategory: Type.String(),
        revenueTreatment: Type.String(),
        unit: Type.String(),
        billingPeriod: Nullable(Type.String()),
        quantity: Qty,
        termMonths: Nullable(Type.Integer()),
        startDate: Type.String({ format: 'date' }),
        periods: Type.Integer(),
        listUnitPrice: Amount,
        netAmount: Type.String({ description: 'Per billing period (first year), after every discount' }),
        contractAmount: Type.String({ description: 'The whole term, ramps included' }),
        discountPercent: Type.String(),
        ramp: Nullable(Type.Array(Type.Object({ year: Type.Integer(), periods: Type.Integer(), amountPerPeriod: Amount, amount: Amount }))),
        fulfilled: Type.Object({ shipped: Qty, delivered: Qty, activated: Qty }),
        complete: Type.Boolean({ description: 'Its last kind of fulfilment covers the whole quantity' }),
      }),
    ),
  },
  { $id: 'Order' },
)

export const FulfilmentSchema = Type.Object(
  {
    id: Type.String(),
    orderId: Type.String(),
    occurredOn: Type.String({ format: 'date' }),
    reference: Nullable(Type.String()),
    recordedBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    lines: Type.Array(Type.Object({ line: Type.Integer(), kind: Kind, quantity: Qty })),
  },
  { $id: 'Fulfilment' },
)

export const ScheduleItemSchema = Type.Object(
  {
    line: Type.Integer(),
    seq: Type.Integer({ description: 'The order of the item within its line, from 1' }),
    trigger: Type.Union([Type.Literal('order'), Type.Literal('fulfilment'), Type.Literal('period'), Type.Literal('milestone')], {
      description:
        'order: due on the order day; fulfilment: due as the line is fulfilled; period: a recurring period, due in advance; milestone: a share of the line, due once the milestone is reached',
    }),
    periodStart: Nullable(Type.String({ format: 'date' })),
    periodEnd: Nullable(Type.String({ format: 'date', description: 'Inclusive' })),
    billOn: Nullable(
      Type.String({ format: 'date', description: 'The day it falls due for invoicing; null for fulfilment items, due as the line is fulfilled' }),
    ),
    contractYear: Nullable(Type.Integer({ description: 'The contract year whose price applies (recurring items)' })),
    prorated: Type.Boolean({ description: 'A part period (calendar alignment, or cut at a ramp anniversary): charged by days, or the rest of its year' }),
    amount: Amount,
    milestone: Nullable(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        percent: Type.String({ description: 'Its share of the line, e.g. "30"' }),
        reachedOn: Nullable(Type.String({ format: 'date', description: 'When the order recorded it reached; null until then' })),
      }),
    ),
  },
  { $id: 'BillingScheduleItem' },
)

function scheduleItemJson(item: service.ScheduleItem, reached: ReadonlyMap<string, string>) {
  const { lineNo, amount, milestone, ...rest } = item
  return {
    line: lineNo,
    ...rest,
    amount: formatMoney(amount),
    milestone: milestone && { ...milestone, reachedOn: reached.get(`${lineNo}/${milestone.id}`) ?? null },
  }
}

/** The schedule's cursor: `<line>.<seq>` of the last item seen. */
const SCHEDULE_CURSOR = /^(\d{1,6})\.(\d{1,6})$/

function percent(hundredths: bigint): string {
  const sign = hundredths < 0n ? '-' : ''
  const abs = hundredths < 0n ? -hundredths : hundredths
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`
}

function summaryJson(o: service.Order) {
  const { ownerId: _, ...shown } = o
  return {
    ...shown,
    net: formatMoney(o.net),
    oneTime: formatMoney(o.oneTime),
    annualRecurring: formatMoney(o.annualRecurring),
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  }
}

/** The API form of an order with its lines: decimal strings rendered here, at the edge. */
export function orderJson(o: service.OrderView) {
  return {
    ...summaryJson(o),
    lines: o.lines.map((l) => ({
      line: l.lineNo,
      parentLine: l.parentLineNo,
      sku: l.sku,
      name: l.name,
      productType: l.productType,
      fulfilment: l.fulfilment,
      taxCategory: l.taxCategory,
      revenueTreatment: l.revenueTreatment,
      unit: l.unit,
      billingPeriod: l.billingPeriod,
      quantity: formatQty(l.qtyMilli),
      termMonths: l.termMonths,
      startDate: l.startDate,
      periods: l.periods,
      listUnitPrice: formatMoney(l.listUnitPrice),
      netAmount: formatMoney(l.netAmount),
      contractAmount: formatMoney(l.contractAmount),
      discountPercent: percent(l.discountHundredths),
      ramp: l.ramp?.map((y) => ({ year: y.year, periods: y.periods, amountPerPeriod: formatMoney(y.amountPerPeriod), amount: formatMoney(y.amount) })) ?? null,
      fulfilled: { shipped: formatQty(l.fulfilled.shipped), delivered: formatQty(l.fulfilled.delivered), activated: formatQty(l.fulfilled.activated) },
      complete: service.lineComplete(l),
    })),
  }
}

function fulfilmentJson(f: service.Fulfilment) {
  return {
    ...f,
    createdAt: f.createdAt.toISOString(),
    lines: f.lines.map((l) => ({ line: l.lineNo, kind: l.kind, quantity: formatQty(l.qtyMilli) })),
  }
}

function fulfilmentResultJson(result: { fulfilment: service.Fulfilment; order: service.OrderView }) {
  return { fulfilment: fulfilmentJson(result.fulfilment), order: orderJson(result.order) }
}

function idempotentFulfilment(request: FastifyRequest) {
  const idempotency = idempotencyOf(request)
  return idempotency && { ...idempotency, present: fulfilmentResultJson }
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
const MAX_FULFILMENT_LINES = 500

export const orderRoutes: FastifyPluginAsyncTypebox<{ deps: service.OrderDeps }> = async (app, { deps }) => {
  const readers = { roles: SELLING_ROLES }
  const operators = { roles: ORDER_OPERATORS }
  const tags = ['orders']

  app.get(
    '/v1/orders',
    {
      config: readers,
      schema: {
        tags,
        summary: 'Orders the caller may see (those of the quotes they may see), in creation order',
        querystring: Type.Composite(
          [
            PageQuery,
            Type.Object({
              status: Type.Optional(Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)))),
              accountId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            }),
          ],
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Object(OrderSummary)), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT, starting_after, status, accountId } = request.query
      const rows = await service.listOrders(deps, principalOf(request), { status, accountId }, limit + 1, starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(summaryJson) }
    },
  )

  app.get(
    '/v1/orders/:id',
    {
      config: readers,
      schema: {
        tags,
        summary: 'An order with its lines and what was fulfilled of each',
        params: IdParams,
        response: { 200: Type.Ref('Order'), ...problemResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const order = await service.getOrder(deps, principalOf(request), request.params.id)
      setEtag(reply, order.version)
      return orderJson(order)
    },
  )

  app.get(
    '/v1/orders/:id/billing-schedule',
    {
      config: readers,
      schema: {
        tags,
        summary: 'What each line will invoice and when, as derived when the order was made; in billing order',
        params: IdParams,
        querystring: Type.Object(
          {
            limit: PageQuery.properties.limit,
            starting_after: Type.Optional(
              Type.String({ pattern: SCHEDULE_CURSOR.source, description: 'The cursor (nextCursor) of the previous page: <line>.<seq>' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('BillingScheduleItem')), ...problemResponses(403, 404) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT, starting_after } = request.query
      const cursor = starting_after ? SCHEDULE_CURSOR.exec(starting_after) : null
      const after = cursor ? { lineNo: Number(cursor[1]), seq: Number(cursor[2]) } : undefined
      const { items, reached } = await service.billingScheduleOf(deps, principalOf(request), request.params.id, limit + 1, after)
      const page = pageFrom(items, limit, (item) => `${item.lineNo}.${item.seq}`)
      return { ...page, data: page.data.map((item) => scheduleItemJson(item, reached)) }
    },
  )

  app.get(
    '/v1/quotes/:id/order',
    {
      config: readers,
      schema: { tags, summary: 'The order of an accepted quote', params: IdParams, response: { 200: Type.Ref('Order'), ...problemResponses(403, 404) } },
    },
    async (request, reply) => {
      const order = await service.orderOfQuote(deps, principalOf(request), request.params.id)
      if (!order) throw new AppError('NOT_FOUND', `Quote ${request.params.id} has no order you may see (a quote has one once its buyer signed).`)
      setEtag(reply, order.version)
      return orderJson(order)
    },
  )

  app.post(
    '/v1/orders/:id/milestones',
    {
      config: operators,
      schema: {
        tags,
        summary: 'Record that a line billed on milestones reached one: its share falls due for the next invoice run',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            line: Type.Integer({ minimum: 0, maximum: 100_000 }),
            milestone: Type.String({ minLength: 1, maxLength: 100, description: "The milestone's id, as the billing schedule gives it" }),
            reachedOn: Type.Optional(Type.String({ format: 'date', description: 'The day it was reached; today by default, never later' })),
            note: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'The acceptance record, the sign-off' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            orderId: Type.String(),
            line: Type.Integer(),
            milestone: Type.Object({ id: Type.String(), name: Type.String(), percent: Type.String() }),
            reachedOn: Type.String({ format: 'date' }),
            amount: Amount,
          }),
          ...problemResponses(403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const idempotency = idempotencyOf(request)
      const stored = await service.recordMilestone(
        deps,
        principalOf(request),
        request.params.id,
        request.body,
        idempotency && { ...idempotency, present: (b) => b },
      )
      return sendStored(reply, stored as never)
    },
  )

  app.get(
    '/v1/orders/:id/fulfilments',
    {
      config: readers,
      schema: {
        tags,
        summary: "The order's fulfilments, oldest first",
        params: IdParams,
        querystring: PageQuery,
        response: { 200: PageOf(Type.Ref('Fulfilment')), ...problemResponses(403, 404) },
      },
    },
    async (request) => {
      const { limit = DEFAULT_PAGE_LIMIT, starting_after } = request.query
      const rows = await service.fulfilmentsOf(deps, principalOf(request), request.params.id, limit + 1, starting_after)
      const page = pageFrom(rows, limit)
      return { ...page, data: page.data.map(fulfilmentJson) }
    },
  )

  app.post(
    '/v1/orders/:id/fulfilments',
    {
      config: operators,
      schema: {
        tags,
        summary: 'Record what was shipped, delivered or activated (partially or in full, never more than ordered)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            occurredOn: Type.Optional(Type.String({ format: 'date', description: 'The day it happened; today by default, never later' })),
            reference: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Tracking number, delivery note, activation ticket' })),
            lines: Type.Array(
              Type.Object(
                {
                  line: Type.Integer({ minimum: 0, maximum: 100_000 }),
                  kind: Kind,
                  quantity: Type.Number({ exclusiveMinimum: 0, maximum: 10_000_000 }),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: MAX_FULFILMENT_LINES },
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ fulfilment: Type.Ref('Fulfilment'), order: Type.Ref('Order') }),
          ...problemResponses(403, 404, 409, 412, 422),
        },
      },
    },
    async (request, reply) => {
      const stored = await service.recordFulfilment(deps, principalOf(request), request.params.id, request.body, idempotentFulfilment(request))
      const body = stored.replayed ? stored.body : fulfilmentResultJson(stored.body)
      return sendStored(reply, { ...stored, body: body as never })
    },
  )

  app.post(
    '/v1/orders/:id/cancel',
    {
      config: operators,
      schema: {
        tags,
        summary: 'Cancel an order before anything of it was fulfilled, with a reason; needs If-Match',
        params: IdParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 64 })) }),
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
        response: { 200: Type.Ref('Order'), ...problemResponses(403, 404, 409, 412, 428) },
      },
    },
    async (request, reply) => {
      const order = await service.cancelOrder(deps, principalOf(request), request.params.id, expectedVersion(request), request.body.reason)
      setEtag(reply, order.version)
      return orderJson(order)
    },
  )
}

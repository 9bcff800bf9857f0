import { Type, type TSchema } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IsoDate } from '../catalog/catalog.schema.js'
import { principalOf } from '../http/auth.js'
import { IdempotencyHeaders, idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { PageOf, StartingAfter, limitParam, pageFrom } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import * as service from './approval.service.js'
import { APPROVER_ROLES } from '../principals/roles.js'

/** Page size of the approval queue when the caller names none. */
export const QUEUE_PAGE_LIMIT = 50

const DateTime = Type.String({ format: 'date-time' })
const OrNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const StepStatus = Type.Union(['waiting', 'pending', 'approved', 'rejected', 'skipped', 'withdrawn'].map((s) => Type.Literal(s)))

export const ApprovalStepView = Type.Object(
  {
    id: Type.String(),
    requestId: Type.String(),
    quoteId: Type.String(),
    level: Type.Integer(),
    role: Type.String(),
    mode: Type.Union([Type.Literal('all'), Type.Literal('any')], { description: 'all: every step of the level must approve; any: one suffices' }),
    reasons: Type.Array(Type.Object({ ruleId: OrNull(Type.String()), reason: Type.String() })),
    status: StepStatus,
    boundFacts: Type.Object(
      { facts: Type.Record(Type.String(), Type.Unknown()), upTo: Type.Record(Type.String(), Type.String()) },
      { description: 'What the approval is bound to: a revision that makes one of these worse requests it again' },
    ),
    fingerprintHash: Type.String(),
    rerequestReason: OrNull(Type.String()),
    carriedFrom: OrNull(Type.String({ description: 'The earlier approved step this one carries over' })),
    decidedBy: OrNull(Type.String()),
    actingFor: OrNull(Type.String({ description: 'Set when a delegate decided for this principal' })),
    comment: OrNull(Type.String()),
    decidedAt: OrNull(DateTime),
    createdAt: DateTime,
  },
  { $id: 'ApprovalStep' },
)

export const ApprovalRequestView = Type.Object(
  {
    id: Type.String(),
    quoteId: Type.String(),
    revision: Type.Integer(),
    status: Type.Union(['pending', 'approved', 'rejected', 'withdrawn'].map((s) => Type.Literal(s))),
    createdBy: Type.String(),
    createdAt: DateTime,
    decidedAt: OrNull(DateTime),
    steps: Type.Array(Type.Ref('ApprovalStep'), { description: 'By level, then role' }),
  },
  { $id: 'ApprovalRequest', description: 'An approval request of a quote revision, with its steps' },
)

const QueueItem = Type.Object({
  step: Type.Ref('ApprovalStep'),
  quote: Type.Object({
    id: Type.String(),
    number: Type.String(),
    ownerId: Type.String(),
    revision: Type.Integer(),
    netTotal: Type.String({ description: 'Net total of the current revision, e.g. "1234.50"' }),
    currency: Type.String(),
  }),
  actingFor: OrNull(Type.String({ description: 'Set when you would decide as the delegate of this principal' })),
})

const DelegationView = Type.Object({
  id: Type.String(),
  delegatorId: Type.String(),
  delegateId: Type.String(),
  startsOn: IsoDate,
  endsOn: IsoDate,
  createdAt: DateTime,
  revokedAt: OrNull(DateTime),
})

export const approvalRoutes: FastifyPluginAsyncTypebox<{ deps: service.ApprovalDeps }> = async (app, { deps }) => {
  // Deciding is checked per step (the step's role, or a delegation from one who holds it), so
  // these routes admit any principal: a delegate need not hold an approver role.
  app.get(
    '/v1/approvals',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Your approval queue: open steps you may decide now, directly or as a delegate',
        querystring: Type.Object(
          { assignee: Type.Optional(Type.Literal('me', { default: 'me' })), limit: limitParam(QUEUE_PAGE_LIMIT), starting_after: StartingAfter },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(QueueItem), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = QUEUE_PAGE_LIMIT, starting_after: after } = request.query
      const items = await service.approvalQueue(deps, principalOf(request), limit + 1, after)
      // The cursor is the step's id: the queue is ordered by step.
      return pageFrom(items, limit, (item) => item.step.id)
    },
  )

  // Deciding a step (POST /v1/approvals/:id/approve|reject) moves the quote: its route is the
  // quote use case's, in src/quotes/approval-decision.routes.ts.

  app.post(
    '/v1/delegations',
    {
      config: { roles: APPROVER_ROLES },
      schema: {
        tags: ['approvals'],
        summary: 'Delegate your approvals to another principal for a date range',
        headers: IdempotencyHeaders,
        body: Type.Object({ delegateId: Type.String({ minLength: 1, maxLength: 64 }), startsOn: IsoDate, endsOn: IsoDate }, { additionalProperties: false }),
        response: { 201: DelegationView, 200: DelegationView, ...problemResponses(403, 409, 422) },
      },
    },
    async (request, reply) => sendStored(reply, await service.createDelegation(deps, principalOf(request), request.body, idempotencyOf(request))),
  )

  app.get(
    '/v1/delegations',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Delegations you gave or received',
        response: { 200: Type.Object({ data: Type.Array(DelegationView, { description: 'The latest 100, newest first' }) }), ...problemResponses() },
      },
    },
    async (request) => ({
      data: (await service.listDelegations(deps, principalOf(request))).map((d) => ({
        ...d,
        createdAt: d.createdAt.toISOString(),
        revokedAt: d.revokedAt?.toISOString() ?? null,
      })),
    }),
  )
}

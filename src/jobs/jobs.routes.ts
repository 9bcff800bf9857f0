import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../http/auth.js'
import { idempotencyOf, sendStored } from '../http/idempotency-key.js'
import { problemResponses } from '../http/problem.js'
import { JOB_OPERATORS } from '../principals/roles.js'
import { JOB_STATES } from './job.js'
import { DEFAULT_LAST_RUNS, MAX_LAST_RUNS, getJobRun, listJobs, requestJobRun, type JobServiceDeps } from './job.service.js'

const roles = JOB_OPERATORS

const DateTime = Type.String({ format: 'date-time' })
const NullableDateTime = Type.Union([DateTime, Type.Null()])

const JobRunSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    state: Type.Union(JOB_STATES.map((s) => Type.Literal(s))),
    progress: Type.Union([Type.Object({ done: Type.Integer(), total: Type.Integer() }), Type.Null()], {
      description: 'How far a running job is; null unless active and reporting',
    }),
    outcome: Type.Union([Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])), Type.Null()], {
      description: 'What a completed run returned, e.g. { expired: 3 }',
    }),
    error: Type.Union([Type.Object({ message: Type.String() }), Type.Null()], { description: 'Why the last attempt failed (state retry or failed)' }),
    retryCount: Type.Integer(),
    retryLimit: Type.Integer(),
    createdAt: DateTime,
    startedAt: NullableDateTime,
    completedAt: NullableDateTime,
  },
  { $id: 'JobRun' },
)

const JobQueueSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  queuePolicy: Type.Union([Type.Literal('standard'), Type.Literal('stately')], {
    description: 'stately: at most one run queued and one running (per singleton key)',
  }),
  singletonKey: Type.Union([Type.String(), Type.Null()]),
  retry: Type.Object({ retryLimit: Type.Integer(), retryDelaySeconds: Type.Integer(), retryBackoff: Type.Boolean() }),
  expireInSeconds: Type.Integer(),
  schedule: Type.Object({
    cron: Type.Union([Type.String(), Type.Null()], { description: 'A 5-field cron expression in UTC; null: off' }),
    setting: Type.String({ description: 'The environment variable that sets it' }),
    source: Type.Union([Type.Literal('default'), Type.Literal('setting')]),
  }),
  lastRuns: Type.Array(Type.Ref('JobRun')),
})

const RunRequestedSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  queued: Type.Boolean({ description: 'false: a run of this job was already queued, and it is the one returned' }),
})

const JobName = Type.String({ minLength: 1, maxLength: 100 })

const IdempotencyKeyRequired = Type.String({
  minLength: 1,
  maxLength: 255,
  description: 'Required: the first response is stored for 24 h and replayed, so a retry never queues a second run.',
})

export const jobRoutes: FastifyPluginAsyncTypebox<{ deps: JobServiceDeps }> = async (app, { deps }) => {
  app.addSchema(JobRunSchema)

  app.get(
    '/v1/jobs',
    {
      config: { roles },
      schema: {
        tags: ['jobs'],
        summary: 'The job catalogue: each job with its retry policy, schedule and newest runs',
        querystring: Type.Object(
          { runs: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LAST_RUNS, default: DEFAULT_LAST_RUNS, description: 'Newest runs shown per job' })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ data: Type.Array(JobQueueSchema) }), ...problemResponses(403) },
      },
    },
    async (request) => ({ data: await listJobs(deps, request.query.runs ?? DEFAULT_LAST_RUNS) }),
  )

  app.get(
    '/v1/jobs/:id',
    {
      config: { roles },
      schema: {
        tags: ['jobs'],
        summary: 'One job run: state, progress, outcome or error, timestamps',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: Type.Ref('JobRun'), ...problemResponses(403, 404) },
      },
    },
    async (request) => getJobRun(deps, request.params.id),
  )

  app.post(
    '/v1/jobs/:name/run',
    {
      config: { roles },
      schema: {
        tags: ['jobs'],
        summary: 'Queue a run of a job now; poll the Location for its state. The same Idempotency-Key answers with the same run.',
        headers: Type.Object({ 'idempotency-key': IdempotencyKeyRequired }),
        params: Type.Object({ name: JobName }),
        response: { 202: RunRequestedSchema, ...problemResponses(403, 404, 409, 422) },
      },
      // Set from the body, so a replay answered before the handler (from the stored bytes) carries it too.
      onSend: async (_request, reply, payload) => {
        if (reply.statusCode === 202 && typeof payload === 'string') reply.header('location', `/v1/jobs/${JSON.parse(payload).id}`)
        else if (reply.statusCode === 202 && Buffer.isBuffer(payload)) reply.header('location', `/v1/jobs/${JSON.parse(payload.toString('utf8')).id}`)
        return payload
      },
    },
    async (request, reply) => sendStored(reply, await requestJobRun(deps, principalOf(request), request.params.name, idempotencyOf(request))),
  )
}

import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import helmet from '@fastify/helmet'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Redis } from 'ioredis'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/database.js'
import { healthRoutes, type ReadinessCheck } from './health/health.routes.js'
import { registerAuthentication, registerAuthorization } from './http/auth.js'
import { cartBodyLimit } from './http/body-limit.js'
import { MAX_PARAM_LENGTH, clientErrorHandler, frameworkErrors } from './http/client-errors.js'
import { registerIdempotency } from './http/idempotency-key.js'
import { registerJsonBody } from './http/json-body.js'
import { registerProblemHandling } from './http/problem.js'
import { registerRateLimit } from './http/rate-limit.js'
import { schemaController } from './http/validation.js'
import { registerWellFormedText } from './http/well-formed-text.js'
import { PrincipalView, principalRoutes } from './principals/principal.routes.js'
import { authenticate } from './principals/principal.service.js'
import { AccountView, ContactView, accountRoutes } from './accounts/account.routes.js'
import { ApprovalRequestView, ApprovalStepView, approvalRoutes } from './approvals/approval.routes.js'
import { approvalDecisionRoutes } from './quotes/approval-decision.routes.js'
import { auditRoutes } from './audit/audit.routes.js'
import { catalogRoutes } from './catalog/catalog.routes.js'
import { QuoteRevisionSchema, QuoteSchema, quoteRoutes } from './quotes/quote.routes.js'
import { EvaluationSchema, StoredEvaluationSchema, evaluationRoutes } from './evaluation/evaluation.routes.js'
import { JobEngine } from './jobs/job-engine.js'
import { jobRoutes } from './jobs/jobs.routes.js'
import { ContractSchema, contractRoutes } from './contracts/contract.routes.js'
import { FulfilmentSchema, OrderSchema, orderRoutes, ScheduleItemSchema } from './orders/order.routes.js'
import { InvoiceDraftSchema, invoiceDraftRoutes } from './invoicing/invoice-draft.routes.js'
import { CreditNoteSchema, InvoiceRunSchema, InvoiceSchema, invoiceRoutes } from './invoicing/invoice.routes.js'
import { type EInvoicePlatform, TestPlatform } from './invoicing/invoice.service.js'
import { ledgerRoutes } from './ledger/ledger.routes.js'
import { PaymentSchema, cashRoutes } from './cash/cash.routes.js'
import { loadLegalEntities } from './documents/legal-entities.js'
import { loadTerms } from './documents/terms.js'
import { signingRoutes } from './signing/signing.routes.js'
import { ruleSetRoutes } from './rules/rule-set.routes.js'
import { RuleSetRegistry } from './rules/rule-set.service.js'
import { systemClock, type Clock } from './shared/clock.js'
import { WebhookDeliveryView, WebhookEndpointView, webhookRoutes } from './webhooks/webhook.routes.js'
import { webhookDeps } from './webhooks/webhook.service.js'

export interface AppDeps {
  config: Config
  database: DatabaseHandle
  clock?: Clock
  /** A registry to serve from; by default one loading `config.rulesDir` and `config.priceBooksDir`. */
  ruleSets?: RuleSetRegistry
  /**
   * The job engine the jobs API sends to and reads from; the service passes one with workers.
   * Without it the app makes its own without workers (it sends and reads, never runs), started
   * on first use and stopped with the app, so apps that never touch jobs pay nothing.
   */
  jobs?: JobEngine
  /** The certified e-invoicing platform; by default the one `config.einvoicingPlatform` names (none, or the test platform). */
  einvoicingPlatform?: EInvoicePlatform | null
}

/** `/sign/<token>/…` with the token replaced: what logs keep of a buyer's request. */
export function redactSigningToken(url: string): string {
  return url.replace(/^\/sign\/(?!assets\/)[^/?#]+/, '/sign/[redacted]')
}

/** Log redaction: credentials never reach a log line, wherever they appear. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.password',
  '*.token',
  '*.secret',
]

/**
 * Builds the HTTP application around already-opened dependencies. Nothing here is a
 * module-level singleton, so tests can build as many apps as they like.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database } = deps
  const clock = deps.clock ?? systemClock
  const genReqId = () => `req_${randomUUID().replaceAll('-', '')}`
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // A signing link's token is the buyer's credential: its path is logged without it.
      serializers: {
        req: (request: { method: string; url: string; hostname?: string; ip?: string; socket?: { remotePort?: number }; id?: string }) => ({
          method: request.method,
          url: redactSigningToken(request.url),
          hostname: request.hostname,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        }),
      },
    },
    bodyLimit: config.bodyLimitBytes,
    genReqId,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler: clientErrorHandler(genReqId),
    schemaController,
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  // JSON only: without this, fastify would accept text/plain bodies and fail them as invalid instead of 415.
  app.removeContentTypeParser('text/plain')
  registerJsonBody(app)
  registerProblemHandling(app)
  registerWellFormedText(app)
  app.addSchema(PrincipalView)
  app.addSchema(EvaluationSchema)
  app.addSchema(StoredEvaluationSchema)
  app.addSchema(AccountView)
  app.addSchema(ContactView)
  app.addSchema(ApprovalStepView)
  app.addSchema(ApprovalRequestView)
  app.addSchema(QuoteRevisionSchema)
  app.addSchema(QuoteSchema)
  app.addSchema(PaymentSchema)
  app.addSchema(ContractSchema)
  app.addSchema(OrderSchema)
  app.addSchema(FulfilmentSchema)
  app.addSchema(ScheduleItemSchema)
  app.addSchema(InvoiceSchema)
  app.addSchema(InvoiceRunSchema)
  app.addSchema(CreditNoteSchema)
  app.addSchema(InvoiceDraftSchema)
  app.addSchema(WebhookEndpointView)
  app.addSchema(WebhookDeliveryView)

  await app.register(helmet, {
    // Swagger UI needs inline styles and scripts; the API itself returns JSON only.
    contentSecurityPolicy: {
      directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
    },
  })
  // Authentication, then the rate limit (which needs to know who is asking), then refusals.
  registerAuthentication(app, (key) => authenticate({ db: database.db, clock }, key))
  const redis = config.rateLimitRedisUrl ? sharedStore(app, config.rateLimitRedisUrl) : undefined
  await registerRateLimit(app, { perMinute: config.rateLimitPerMinute, ...(redis ? { redis } : {}) })
  registerAuthorization(app)
  // A retry of a stored idempotent answer is replayed before validation and the handler.
  registerIdempotency(app, { db: database.db, clock })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'QTC quote-to-cash API', version: '0.1.0', description: 'Every error is RFC 9457 application/problem+json.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer qtc_…' } } },
      security: [{ apiKey: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  })
  // Swagger UI registers its own routes: mark them public as they are added.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } })
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true, security: [] } }, async () => app.swagger())

  const ruleSets =
    deps.ruleSets ??
    new RuleSetRegistry({
      db: database.db,
      clock,
      log: app.log as never,
      rulesDir: config.rulesDir,
      priceBooksDir: config.priceBooksDir,
      engine: config.ruleEngine,
    })
  if (!deps.ruleSets) {
    await ruleSets.start()
    // Other instances on the same database may activate a set: follow them until the app closes.
    ruleSets.follow(config.ruleSetPollMs)
    app.addHook('onClose', () => ruleSets.stopFollowing())
  }

  const extraChecks: ReadinessCheck[] = [{ name: 'ruleSet', check: async () => ruleSets.problem() }]
  const serving = () => (ruleSets.isLoaded() ? { ruleSetHash: ruleSets.get().hash, priceBookHash: ruleSets.get().priceBookHash } : undefined)
  await app.register(healthRoutes, { database, extraChecks, serving })
  await app.register(principalRoutes, { deps: { db: database.db, clock } })
  const cartLimits = { maxCartLines: config.maxCartLines, cartBodyLimit: cartBodyLimit(config.maxCartLines, config.bodyLimitBytes) }
  await app.register(evaluationRoutes, { deps: { db: database.db, clock, ruleSets }, ...cartLimits })
  await app.register(catalogRoutes, { ruleSets })
  const signingUrl = (token: string) => `${config.publicUrl}/sign/${token}`
  const documents = { terms: await loadTerms(config.termsDir), sellers: loadLegalEntities(config.legalEntitiesFile) }
  const quoteDeps = { db: database.db, clock, ruleSets, quoteValidityDays: config.quoteValidityDays, documents, signingUrl }
  await app.register(accountRoutes, { deps: quoteDeps })
  await app.register(quoteRoutes, { deps: quoteDeps, ...cartLimits })
  await app.register(contractRoutes, { deps: { db: database.db, clock, signingUrl } })
  await app.register(signingRoutes, { deps: quoteDeps })
  await app.register(orderRoutes, { deps: { db: database.db, clock } })
  await app.register(approvalRoutes, { deps: quoteDeps })
  await app.register(approvalDecisionRoutes, { deps: quoteDeps })
  await app.register(auditRoutes, { deps: { db: database.db, clock, auditKey: config.auditKey } })
  await app.register(ruleSetRoutes, { ruleSets })
  const jobs = deps.jobs ?? new JobEngine({ database, config, clock, log: app.log, workers: false })
  if (!deps.jobs) app.addHook('onClose', () => jobs.stop())
  await app.register(jobRoutes, { deps: { db: database.db, clock, engine: jobs } })
  const platform = deps.einvoicingPlatform !== undefined ? deps.einvoicingPlatform : config.einvoicingPlatform === 'test' ? new TestPlatform() : null
  const invoicing = { db: database.db, clock, ruleSet: () => ruleSets.get(), sellers: documents.sellers, platform }
  jobs.attach({ invoicing })
  const invoiceJob = jobs.definition('invoices.run')
  await app.register(invoiceRoutes, {
    deps: {
      ...invoicing,
      queue: {
        ready: () => jobs.start(),
        send: (trx) => {
          if (!invoiceJob) throw new Error('the job catalogue has no invoices.run')
          return jobs.sendIn(trx, invoiceJob, {})
        },
      },
    },
  })
  await app.register(invoiceDraftRoutes, { deps: invoicing })
  await app.register(ledgerRoutes, { deps: { db: database.db, clock } })
  await app.register(cashRoutes, { deps: { db: database.db, clock } })
  await app.register(webhookRoutes, { deps: webhookDeps(config, database.db, clock) })
  return app
}

/**
 * The Redis client of the shared rate-limit store, closed with the app. A command fails at
 * once while the connection is down (no offline queue, one attempt) so a Redis outage never
 * holds requests up; the client reconnects on its own.
 */
function sharedStore(app: FastifyInstance, url: string): Redis {
  const redis = new Redis(url, { connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: 'qtc-rate-limit' })
  redis.on('error', (error) => app.log.error({ err: error }, 'rate-limit store unreachable: requests are served unlimited'))
  app.addHook('onClose', async () => {
    redis.disconnect()
  })
  return redis
}

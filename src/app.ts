import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/database.js'
import { AppError } from './errors.js'
import { healthRoutes, type ReadinessCheck } from './health/health.routes.js'
import { bearerToken, registerAuth } from './http/auth.js'
import { registerIdempotency } from './http/idempotency-key.js'
import { registerProblemHandling } from './http/problem.js'
import { schemaController } from './http/validation.js'
import { PrincipalView, principalRoutes } from './principals/principal.routes.js'
import { authenticate } from './principals/principal.service.js'
import { AccountView, ContactView, accountRoutes } from './accounts/account.routes.js'
import { approvalRoutes } from './approvals/approval.routes.js'
import { auditRoutes } from './audit/audit.routes.js'
import { catalogRoutes } from './catalog/catalog.routes.js'
import { QuoteSchema, quoteRoutes } from './quotes/quote.routes.js'
import { EvaluationSchema, evaluationRoutes } from './evaluation/evaluation.routes.js'
import { ruleSetRoutes } from './rules/rule-set.routes.js'
import { RuleSetRegistry } from './rules/rule-set.service.js'
import { sha256Hex } from './shared/hash.js'
import { systemClock, type Clock } from './shared/clock.js'

export interface AppDeps {
  config: Config
  database: DatabaseHandle
  clock?: Clock
  /** A registry to serve from; by default one loading `config.rulesDir` and `config.priceBooksDir`. */
  ruleSets?: RuleSetRegistry
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
]

/**
 * Builds the HTTP application around already-opened dependencies. Nothing here is a
 * module-level singleton, so tests can build as many apps as they like.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database } = deps
  const clock = deps.clock ?? systemClock
  const app = Fastify({
    logger: { level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    bodyLimit: config.bodyLimitBytes,
    genReqId: () => `req_${randomUUID().replaceAll('-', '')}`,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    schemaController,
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  // JSON only: without this, fastify would accept text/plain bodies and fail them as invalid instead of 415.
  app.removeContentTypeParser('text/plain')
  registerProblemHandling(app)
  app.addSchema(PrincipalView)
  app.addSchema(EvaluationSchema)
  app.addSchema(AccountView)
  app.addSchema(ContactView)
  app.addSchema(QuoteSchema)

  await app.register(helmet, {
    // Swagger UI needs inline styles and scripts; the API itself returns JSON only.
    contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] } },
  })
  await app.register(rateLimit, {
    // Applied below as the first onRequest hook of every route, before authentication, so
    // failed authentications are counted too.
    global: false,
    max: config.rateLimitPerMinute,
    timeWindow: '1 minute',
    // Per credential when there is one (so one noisy integration does not starve the
    // others), else per address. The token itself is the key, so header spelling variants
    // of one key share a bucket.
    keyGenerator: (request) => {
      const token = bearerToken(request.headers.authorization)
      return token ? `key:${sha256Hex(token)}` : `ip:${request.ip}`
    },
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Too many requests: at most ${context.max} a minute. Retry after ${context.after}.`),
  })
  app.addHook('onRequest', app.rateLimit())

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

  registerAuth(app, (key) => authenticate({ db: database.db, clock }, key))
  registerIdempotency(app, { db: database.db, clock })

  const ruleSets = deps.ruleSets ?? new RuleSetRegistry({ db: database.db, clock, log: app.log as never, rulesDir: config.rulesDir, priceBooksDir: config.priceBooksDir, engine: config.ruleEngine })
  if (!deps.ruleSets) await ruleSets.start()

  const extraChecks: ReadinessCheck[] = [{ name: 'ruleSet', check: async () => (ruleSets.isLoaded() ? null : 'no valid rule set loaded') }]
  await app.register(healthRoutes, { database, extraChecks })
  await app.register(principalRoutes, { deps: { db: database.db, clock } })
  await app.register(evaluationRoutes, { deps: { db: database.db, clock, ruleSets }, maxCartLines: config.maxCartLines })
  await app.register(catalogRoutes, { ruleSets })
  const quoteDeps = { db: database.db, clock, ruleSets, quoteValidityDays: config.quoteValidityDays }
  await app.register(accountRoutes, { deps: quoteDeps })
  await app.register(quoteRoutes, { deps: quoteDeps, maxCartLines: config.maxCartLines })
  await app.register(approvalRoutes, { deps: quoteDeps })
  await app.register(auditRoutes, { deps: { db: database.db, clock, auditKey: config.auditKey } })
  await app.register(ruleSetRoutes, { ruleSets })
  return app
}

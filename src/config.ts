import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import cronParser from 'cron-parser'

/**
 * Every setting QTC reads from its environment, validated once at start-up and frozen.
 * Nothing else in the code reads `process.env`.
 */
const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1, maxLength: 255 }),
  /** Absent: embedded PGlite in `dataDir`. `memory://`: in-memory PGlite. Otherwise a postgres:// URL. */
  databaseUrl: Type.Union([Type.String({ pattern: '^(postgres|postgresql)://' }), Type.Literal('memory://'), Type.Null()]),
  /** Schema (search_path) used on a real PostgreSQL; lets tests and tenants share one database. */
  /** At most 58 characters: the job engine's schema beside it is `<schema>_jobs`, and PostgreSQL names stop at 63. */
  databaseSchema: Type.Union([Type.String({ pattern: '^[a-z_][a-z0-9_]{0,57}$' }), Type.Null()]),
  dataDir: Type.String({ minLength: 1 }),
  rulesDir: Type.String({ minLength: 1 }),
  priceBooksDir: Type.String({ minLength: 1 }),
  /** Terms and conditions, one folder per terms id and version (terms/<id>/<version>/<lang>.md). */
  termsDir: Type.String({ minLength: 1 }),
  /** The seller's legal entities (name, address, SIREN, VAT id, IBAN…) printed on documents. */
  legalEntitiesFile: Type.String({ minLength: 1 }),
  /** The address buyers reach QTC at: signing links are <publicUrl>/sign/<token>. */
  publicUrl: Type.String({ pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$', maxLength: 2048 }),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
  /** An admin key to ensure at start (automation); at least 32 characters so it cannot be a guessable default. */
  bootstrapAdminKey: Type.Union([Type.String({ minLength: 32, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' }), Type.Null()]),
  bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 50 * 1024 * 1024 }),
  rateLimitPerMinute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  /** A Redis shared by every instance for rate-limit buckets; absent: each instance counts alone, in memory. */
  rateLimitRedisUrl: Type.Union([Type.String({ pattern: '^rediss?://', maxLength: 2048 }), Type.Null()]),
  maxCartLines: Type.Integer({ minimum: 1, maximum: 100_000 }),
  /** Days a new quote stays valid when the caller gives no date. */
  quoteValidityDays: Type.Integer({ minimum: 1, maximum: 365 }),
  /** How often each instance checks for a rule set activated by another instance (the bound on serving different prices). */
  ruleSetPollMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
  /** Condition runner: the compiled one, or json-rules-engine (the reference, much slower). */
  ruleEngine: Type.Union([Type.Literal('compiled'), Type.Literal('json-rules-engine')]),
  /** Create one demo principal per role on a fresh embedded database (never with DATABASE_URL). */
  seedDemo: Type.Boolean(),
  /** HMAC key signing audit checkpoints; kept outside the database, so whoever can rewrite the chain cannot re-sign it. */
  auditKey: Type.Union([Type.String({ minLength: 32, maxLength: 1024 }), Type.Null()]),
  /**
   * Schedules set by `QTC_SCHEDULE_<JOB>` (the job's name upper-cased, dots as underscores):
   * a cron expression or `off`, keyed by the variable's name. Jobs without one keep the
   * catalogue's default (src/jobs/job-catalogue.ts); the engine refuses a variable naming no job.
   */
  jobSchedules: Type.Record(Type.String({ pattern: '^QTC_SCHEDULE_[A-Z0-9_]{1,64}$' }), Type.String({ minLength: 1, maxLength: 100 })),
  /** How often each instance's job workers look for work (pg-boss polling; at least 500 ms). */
  jobsPollMs: Type.Integer({ minimum: 500, maximum: 60_000 }),
  /** Webhook URLs may use plain http (tests, a receiver on the same host); otherwise https only. */
  webhookAllowHttp: Type.Boolean(),
  /** Networks (CIDRs or single addresses) webhooks may reach although private, loopback, link-local… (docs/webhooks.md). */
  webhookAllowedNetworks: Type.Array(Type.String({ minLength: 2, maxLength: 64 }), { maxItems: 100 }),
  /** How long one delivery attempt may take, connection to the end of the response. */
  webhookTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
  /** Attempts of one delivery before it is `failed` (the backoff schedule is in docs/webhooks.md). */
  webhookMaxAttempts: Type.Integer({ minimum: 1, maximum: 20 }),
  /** The certified e-invoicing platform invoices are deposited on: none, or the shipped test platform (docs/invoicing.md). */
  einvoicingPlatform: Type.Union([Type.Literal('none'), Type.Literal('test')]),
})

export type Config = Readonly<Static<typeof ConfigSchema>>

/** The environment variable behind each setting, so an error can name what the operator must fix. */
const ENV_NAMES: Record<keyof Static<typeof ConfigSchema>, string> = {
  port: 'PORT',
  host: 'HOST',
  databaseUrl: 'DATABASE_URL',
  databaseSchema: 'DATABASE_SCHEMA',
  dataDir: 'QTC_DATA_DIR',
  rulesDir: 'RULES_DIR',
  priceBooksDir: 'PRICE_BOOKS_DIR',
  termsDir: 'TERMS_DIR',
  legalEntitiesFile: 'LEGAL_ENTITIES_FILE',
  publicUrl: 'QTC_PUBLIC_URL',
  logLevel: 'LOG_LEVEL',
  bootstrapAdminKey: 'QTC_BOOTSTRAP_ADMIN_KEY',
  bodyLimitBytes: 'BODY_LIMIT_BYTES',
  rateLimitPerMinute: 'RATE_LIMIT_PER_MINUTE',
  rateLimitRedisUrl: 'RATE_LIMIT_REDIS_URL',
  maxCartLines: 'MAX_CART_LINES',
  ruleEngine: 'RULE_ENGINE',
  quoteValidityDays: 'QUOTE_VALIDITY_DAYS',
  ruleSetPollMs: 'RULE_SET_POLL_MS',
  seedDemo: 'QTC_SEED_DEMO',
  auditKey: 'QTC_AUDIT_KEY',
  jobSchedules: 'QTC_SCHEDULE_*',
  jobsPollMs: 'QTC_JOBS_POLL_MS',
  webhookAllowHttp: 'QTC_WEBHOOK_ALLOW_HTTP',
  webhookAllowedNetworks: 'QTC_WEBHOOK_ALLOWED_NETWORKS',
  webhookTimeoutMs: 'QTC_WEBHOOK_TIMEOUT_MS',
  webhookMaxAttempts: 'QTC_WEBHOOK_MAX_ATTEMPTS',
  einvoicingPlatform: 'QTC_EINVOICING_PLATFORM',
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number | string {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  return /^-?\d+$/.test(raw) ? Number(raw) : raw
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean | string {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  return raw
}

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return []
  return raw.split(',').map((item) => item.trim())
}

/** `address` or `address/prefix`, IPv4 or IPv6, with a prefix in range. */
export function isNetwork(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

/**
 * Reads and validates the configuration; throws ConfigError naming the variable at fault.
 * Relative directories are resolved against `cwd` so the service behaves the same whoever starts it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const databaseUrl = env.DATABASE_URL ? env.DATABASE_URL : null
  const port = integer(env, 'PORT', 3000)
  const host = env.HOST || '127.0.0.1'
  const candidate = {
    port,
    host,
    // Without a setting, links point at this process as started: right on a laptop, wrong behind a proxy (set QTC_PUBLIC_URL).
    publicUrl: (env.QTC_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, ''),
    databaseUrl,
    databaseSchema: env.DATABASE_SCHEMA || null,
    dataDir: resolve(cwd, env.QTC_DATA_DIR || '.qtc-data'),
    rulesDir: resolve(cwd, env.RULES_DIR || 'rules'),
    priceBooksDir: resolve(cwd, env.PRICE_BOOKS_DIR || 'price-books'),
    termsDir: resolve(cwd, env.TERMS_DIR || 'terms'),
    legalEntitiesFile: resolve(cwd, env.LEGAL_ENTITIES_FILE || 'legal-entities/entities.yaml'),
    logLevel: env.LOG_LEVEL || 'info',
    bootstrapAdminKey: env.QTC_BOOTSTRAP_ADMIN_KEY || null,
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1024 * 1024),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600),
    rateLimitRedisUrl: env.RATE_LIMIT_REDIS_URL || null,
    maxCartLines: integer(env, 'MAX_CART_LINES', 10_000),
    ruleEngine: env.RULE_ENGINE || 'compiled',
    quoteValidityDays: integer(env, 'QUOTE_VALIDITY_DAYS', 30),
    ruleSetPollMs: integer(env, 'RULE_SET_POLL_MS', 2000),
    seedDemo: boolean(env, 'QTC_SEED_DEMO', databaseUrl === null),
    auditKey: env.QTC_AUDIT_KEY || null,
    jobSchedules: schedules(env),
    jobsPollMs: integer(env, 'QTC_JOBS_POLL_MS', 2000),
    webhookAllowHttp: boolean(env, 'QTC_WEBHOOK_ALLOW_HTTP', false),
    webhookAllowedNetworks: list(env, 'QTC_WEBHOOK_ALLOWED_NETWORKS'),
    webhookTimeoutMs: integer(env, 'QTC_WEBHOOK_TIMEOUT_MS', 10_000),
    webhookMaxAttempts: integer(env, 'QTC_WEBHOOK_MAX_ATTEMPTS', 8),
    einvoicingPlatform: (env.QTC_EINVOICING_PLATFORM || 'none') as 'none',
  }
  const first = Value.Errors(ConfigSchema, candidate).First()
  if (first) {
    const key = first.path.split('/')[1] as keyof typeof ENV_NAMES
    const value = (candidate as Record<string, unknown>)[key]
    // Never print a secret: the bootstrap and audit keys at all, a password in a database or Redis URL masked.
    const shown =
      key === 'bootstrapAdminKey' || key === 'auditKey'
        ? '(hidden)'
        : (key === 'databaseUrl' || key === 'rateLimitRedisUrl') && typeof value === 'string'
          ? JSON.stringify(value.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@'))
          : JSON.stringify(value)
    throw new ConfigError(`Invalid ${ENV_NAMES[key] ?? key}=${shown}: ${first.message}`)
  }
  const badNetwork = candidate.webhookAllowedNetworks.find((n) => !isNetwork(n))
  if (badNetwork !== undefined) {
    throw new ConfigError(`Invalid QTC_WEBHOOK_ALLOWED_NETWORKS: ${JSON.stringify(badNetwork)} is not an IP address or CIDR (10.0.0.0/8, fd00::/8)`)
  }
  if (candidate.seedDemo === true && databaseUrl !== null && databaseUrl !== 'memory://') {
    throw new ConfigError('Invalid QTC_SEED_DEMO=true: demo principals are only created on the embedded database')
  }
  return Object.freeze(candidate as Static<typeof ConfigSchema>)
}

/** The prefix of the per-job schedule settings. */
export const SCHEDULE_PREFIX = 'QTC_SCHEDULE_'

/**
 * Every `QTC_SCHEDULE_*` variable, each a cron expression (5 fields, UTC) or
 * `off`; a value cron-parser refuses stops the start naming the variable.
 */
function schedules(env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {}
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(SCHEDULE_PREFIX) || raw === undefined || raw === '') continue
    const value = raw.trim()
    if (!/^QTC_SCHEDULE_[A-Z0-9_]{1,64}$/.test(name)) throw new ConfigError(`Invalid ${name}: a schedule variable is QTC_SCHEDULE_ and a job's name`)
    if (value !== 'off') {
      const fields = value.split(/\s+/).length
      // pg-boss fires a schedule at most once a minute, so a seconds field would promise what it cannot keep.
      let problem = fields === 5 ? null : `has ${fields} fields; a cron expression here has 5: minute hour day-of-month month day-of-week`
      if (!problem && value.length > 100) problem = 'is longer than 100 characters'
      if (!problem) {
        try {
          cronParser.parseExpression(value, { tz: 'UTC' })
        } catch (error) {
          problem = error instanceof Error ? error.message : String(error)
        }
      }
      if (problem) throw new ConfigError(`Invalid ${name}=${JSON.stringify(raw)}: not a cron expression or "off" (${problem})`)
    }
    found[name] = value
  }
  return found
}

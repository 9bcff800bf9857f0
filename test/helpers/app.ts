import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { dropSchema, openDatabase, type DatabaseHandle } from '../../src/db/database.js'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js'
import { JobEngine, jobsSchemaOf } from '../../src/jobs/job-engine.js'
import type { JobDefinition } from '../../src/jobs/job.js'
import type { EInvoicePlatform } from '../../src/invoicing/invoice.service.js'
import { sha256Hex } from '../../src/shared/hash.js'
import { createPrincipal } from '../../src/principals/principal.service.js'
import { ROLES, type Role } from '../../src/principals/roles.js'
import type { Clock } from '../../src/shared/clock.js'

/** The tap test object, as far as the harness needs it. */
export interface Teardown {
  teardown(fn: () => unknown): void
}

/** A clock tests can move. */
export class TestClock implements Clock {
  constructor(private current: Date = new Date('2026-12-01T09:00:00Z')) {}
  now(): Date {
    return new Date(this.current)
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms)
  }
}

/** True when the suite runs against a real PostgreSQL (DATABASE_URL set), false on PGlite. */
export const onPostgres = Boolean(process.env.DATABASE_URL && process.env.DATABASE_URL !== 'memory://')

/**
 * Configuration for a test: PGlite in memory, or, when DATABASE_URL names a server, a schema
 * of its own on that server so test files running in parallel never see each other's rows.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({
    DATABASE_URL: onPostgres ? process.env.DATABASE_URL : 'memory://',
    DATABASE_SCHEMA: onPostgres ? `test_${randomBytes(6).toString('hex')}` : undefined,
    LOG_LEVEL: 'silent',
    QTC_SEED_DEMO: 'false',
    RATE_LIMIT_PER_MINUTE: '100000',
  })
  return Object.freeze({ ...base, ...overrides })
}

let template: Promise<Blob> | undefined

/**
 * A dump of a freshly migrated PGlite database, shared by every test process through a file
 * named after the migrations' content: opening from it skips initdb and the migrations.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const migrations = readdirSync(MIGRATIONS_DIR)
      .sort()
      .map((f) => f + readFileSync(join(MIGRATIONS_DIR, f), 'utf8'))
    const file = join(tmpdir(), `qtc-pglite-template-${sha256Hex(migrations.join('\0')).slice(0, 16)}.tar`)
    if (existsSync(file)) return new Blob([readFileSync(file)])
    const fresh = await openDatabase({ databaseUrl: 'memory://', databaseSchema: null, dataDir: 'memory://' })
    await migrateToLatest(fresh)
    const dump = await fresh.dump!()
    await fresh.close()
    const partial = `${file}.${process.pid}`
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()))
    renameSync(partial, file) // atomic: a parallel test process sees the whole file or none
    return dump
  })()
  return template
}

/** Opens and migrates a fresh database, closed (and its schema dropped) at teardown. */
export async function testDatabase(t: Teardown, config: Config = testConfig()): Promise<DatabaseHandle> {
  const database = await openDatabase(config, onPostgres ? {} : { pgliteTemplate: await pgliteTemplate() })
  t.teardown(async () => {
    await database.close()
    if (config.databaseUrl && config.databaseSchema) {
      await dropSchema(config.databaseUrl, config.databaseSchema)
      await dropSchema(config.databaseUrl, jobsSchemaOf(database))
    }
  })
  await migrateToLatest(database)
  return database
}

export interface TestApp {
  app: FastifyInstance
  database: DatabaseHandle
  config: Config
  clock: TestClock
  /** The app's job engine: without workers unless asked for (`jobWorkers`). */
  jobs: JobEngine
  /** The e-invoicing platform the app deposits invoices on, when the test gave one. */
  platform: EInvoicePlatform | null
  /** An API key per role, each for its own principal. */
  keys: Record<Role, string>
  principalIds: Record<Role, string>
  /** Headers authenticating as the principal holding `role`. */
  as(role: Role): { authorization: string }
  /** Another principal, beside the one per role: its id and the headers authenticating as it. */
  principal(name: string, roles: Role[], managerId?: string | null): Promise<{ id: string; headers: { authorization: string } }>
  /** Creates an account over HTTP as the principal of `headers` and returns its id; anything but 201 throws. */
  createAccount(headers: { authorization: string }, account: object): Promise<string>
  /** Makes the helper's principal of `role` report to `managerId` (a team for visibility and approvals). */
  reportTo(role: Role, managerId: string): Promise<void>
}

export interface TestAppOptions {
  /** Run job workers (and schedules) in this app, as the service does. */
  jobWorkers?: boolean
  /** Jobs other than the catalogue's. */
  jobDefinitions?: readonly JobDefinition[]
  /** The certified e-invoicing platform invoices are deposited on (none by default). */
  einvoicingPlatform?: EInvoicePlatform
}

const silentLog = { info() {}, warn() {}, error() {} }

/** Builds an app on a fresh database with one principal per role; everything closes at teardown. */
export async function buildTestApp(t: Teardown, overrides: Partial<Config> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const config = testConfig(overrides)
  const database = await testDatabase(t, config)
  const clock = new TestClock()
  const jobs = new JobEngine({
    database,
    config,
    clock,
    log: silentLog,
    workers: options.jobWorkers ?? false,
    ...(options.jobDefinitions ? { definitions: options.jobDefinitions } : {}),
  })
  const platform = options.einvoicingPlatform ?? null
  const app = await buildApp({ config, database, clock, jobs, einvoicingPlatform: platform })
  // Jobs stop before the app and the database go: a worker mid-run still needs them.
  t.teardown(async () => {
    await jobs.stop()
    await app.close()
  })
  const keys = {} as Record<Role, string>
  const principalIds = {} as Record<Role, string>
  for (const role of ROLES) {
    const created = await createPrincipal({ db: database.db, clock }, { name: `Test ${role}`, roles: [role] }, null)
    keys[role] = created.body.apiKey!
    principalIds[role] = created.body.principal.id
  }
  return {
    app,
    database,
    config,
    clock,
    jobs,
    platform,
    keys,
    principalIds,
    as: (role) => ({ authorization: `Bearer ${keys[role]}` }),
    principal: async (name, roles, managerId = null) => {
      const created = await createPrincipal({ db: database.db, clock }, { name, roles, managerId }, null)
      return { id: created.body.principal.id, headers: { authorization: `Bearer ${created.body.apiKey}` } }
    },
    createAccount: async (headers, account) => {
      const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers, payload: account })
      if (res.statusCode !== 201) throw new Error(res.body)
      return res.json().id
    },
    reportTo: async (role, managerId) => {
      await database.db.updateTable('principals').set({ manager_id: managerId }).where('id', '=', principalIds[role]).execute()
    },
  }
}

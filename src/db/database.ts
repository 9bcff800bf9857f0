import { mkdirSync } from 'node:fs'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { createPgConfig } from '@electric-sql/pglite/node-postgres'
import type { Config } from '../config.js'
import { lockDataDir } from './data-dir-lock.js'
import { pgTypes } from './pg-types.js'
import type { Database } from './schema.js'
import { OwnSchemaPostgresDialect } from './schema-introspector.js'

export type Db = Kysely<Database>

export interface DatabaseHandle {
  db: Db
  /** `postgres` for a real server, `pglite` for the embedded one. */
  kind: 'postgres' | 'pglite'
  /** The PostgreSQL schema in use when one was configured (search_path), else null. */
  schema: string | null
  close(): Promise<void>
  /** PGlite only: the whole database as a tarball, usable as a template for another. */
  dump?: () => Promise<Blob>
}

/**
 * Opens the database the configuration names. Both kinds go through kysely's own
 * PostgresDialect over a `pg.Pool`, so the SQL, the value types and the code path are the
 * same; only the pool's transport differs (a socket, or PGlite's in-process adapter).
 */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'databaseSchema' | 'dataDir'>,
  options: { pgliteTemplate?: Blob; purpose?: string } = {},
): Promise<DatabaseHandle> {
  if (config.databaseUrl && config.databaseUrl !== 'memory://') {
    const schema = config.databaseSchema
    if (schema) await ensureSchema(config.databaseUrl, schema)
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      types: pgTypes,
      max: 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    })
    const db = new Kysely<Database>({ dialect: schema ? new OwnSchemaPostgresDialect({ pool }, schema) : new PostgresDialect({ pool }) })
    return { db, kind: 'postgres', schema: schema ?? null, close: () => db.destroy() }
  }

  const dataDir = config.databaseUrl === 'memory://' ? 'memory://' : config.dataDir
  if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true })
  // PGlite's files are safe in one process only: two writers corrupt them. Whoever opens the
  // folder holds it until close (or exit); a second opener is refused, naming the first.
  const lock = dataDir === 'memory://' ? null : lockDataDir(dataDir, options.purpose ?? 'qtc')
  let pglite: PGlite
  try {
    // A template (a dump of an already-initialised database) skips initdb: four times faster to open.
    pglite = await PGlite.create({
      ...(dataDir === 'memory://' ? {} : { dataDir: `${dataDir}/pgdata` }),
      ...(options.pgliteTemplate ? { loadDataDir: options.pgliteTemplate } : {}),
    })
  } catch (error) {
    lock?.release()
    throw error
  }
  // PGlite is a single connection: a pool of one makes concurrent callers queue instead of interleave.
  const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1, types: pgTypes })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  let closing: Promise<void> | undefined
  return {
    db,
    kind: 'pglite',
    schema: null,
    dump: () => pglite.dumpDataDir('none'),
    // Once only: a second close (a teardown after a test closed it early) has nothing left to do.
    close: () =>
      (closing ??= (async () => {
        try {
          await db.destroy()
          await pglite.close()
        } finally {
          lock?.release()
        }
      })()),
  }
}

async function ensureSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    // The schema name is validated by the config pattern, so quoting it is enough.
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
  } finally {
    await client.end()
  }
}

/** Drops a schema made for a test run; used by the test harness on a real server. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

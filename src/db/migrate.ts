import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely'
import type { DatabaseHandle } from './database.js'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

/**
 * Migrations are plain `.sql` files, run in name order, so the SQL is literally the same on
 * PGlite and PostgreSQL. Each file runs as one multi-statement simple query inside the
 * migrator's transaction. A data migration that converts stored documents is a `.ts` module
 * exporting `up(db)`, run in the same order and transaction.
 */
class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.sql') || f.endsWith('.ts')).sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      if (file.endsWith('.ts')) {
        // A data migration that SQL cannot express well (converting stored documents): a module exporting up(db).
        const module = (await import(pathToFileURL(`${this.dir}/${file}`).href)) as Migration
        migrations[file.replace(/\.ts$/, '')] = { up: module.up }
        continue
      }
      const text = await readFile(`${this.dir}/${file}`, 'utf8')
      migrations[file.replace(/\.sql$/, '')] = { up: async (db) => void (await sql.raw(text).execute(db)) }
    }
    return migrations
  }
}

/**
 * The migrator for a database. Its bookkeeping tables live in the database's own schema:
 * without saying so, kysely would see another schema's tables (tests share one server,
 * a schema each) and skip creating its own.
 */
function migratorFor(database: DatabaseHandle, dir: string): Migrator {
  return new Migrator({
    db: database.db,
    provider: new SqlFileMigrationProvider(dir),
    ...(database.schema ? { migrationTableSchema: database.schema } : {}),
  })
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(database: DatabaseHandle, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const migrator = migratorFor(database, dir)
  const { error, results } = await migrator.migrateToLatest()
  throwOnFailure(error, results)
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** Names of migrations not yet applied; empty when the schema is current. */
export async function pendingMigrations(database: DatabaseHandle, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const migrator = migratorFor(database, dir)
  const all = await migrator.getMigrations()
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name)
}

function throwOnFailure(error: unknown, results: MigrationResultSet['results']): void {
  if (!error) return
  const failed = results?.find((r) => r.status === 'Error')
  const message = error instanceof Error ? error.message : String(error)
  throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${message}`, { cause: error })
}

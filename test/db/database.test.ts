import t from 'tap'
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import { dropSchema } from '../../src/db/database.js'
import { migrateToLatest, pendingMigrations } from '../../src/db/migrate.js'
import { onPostgres, testDatabase } from '../helpers/app.js'

t.test('migrations apply once and leave nothing pending', async (t) => {
  const database = await testDatabase(t)
  t.equal(database.kind, onPostgres ? 'postgres' : 'pglite')
  t.same(await pendingMigrations(database), [])
  t.same(await migrateToLatest(database), [], 'a second run applies nothing')
})

t.test('both dialects return the same JavaScript types', async (t) => {
  const { db } = await testDatabase(t)
  const { rows } = await sql<{ big: bigint; dec: string; day: string; at: Date; n: number; arr: string[] }>`
    select 9007199254740993::int8 as big, 12.345::numeric(14, 3) as dec, '2026-12-31'::date as day,
           '2026-01-02T03:04:05Z'::timestamptz as at, 7::int4 as n, array['a','b']::text[] as arr`.execute(db)
  const row = rows[0]!
  t.equal(row.big, 9007199254740993n, 'int8 is an exact bigint, beyond 2^53')
  t.equal(row.dec, '12.345', 'numeric stays an exact string')
  t.equal(row.day, '2026-12-31', 'date is a calendar string, never shifted by a time zone')
  t.same(row.at, new Date('2026-01-02T03:04:05Z'))
  t.equal(row.n, 7)
  t.same(row.arr, ['a', 'b'])
})

t.test('principals reject roles outside the catalogue at the database too', async (t) => {
  const { db } = await testDatabase(t)
  await t.rejects(
    db
      .insertInto('principals')
      .values({ id: 'prn_x', name: 'x', roles: ['emperor'], manager_id: null, created_at: new Date(), updated_at: new Date() })
      .execute(),
    /check constraint/,
  )
})

t.test('on a server, introspection (what the migrator asks) reads the own schema only, while other sessions drop theirs', async (t) => {
  if (!onPostgres) return t.pass('PostgreSQL only: PGlite is one database of its own')
  const database = await testDatabase(t)
  const url = process.env.DATABASE_URL!
  const other = `test_other_${randomBytes(4).toString('hex')}`
  await sql`create schema ${sql.id(other)}`.execute(database.db)
  await sql`create table ${sql.id(other, 'quotes')} (id int)`.execute(database.db)
  t.teardown(() => dropSchema(url, other))

  const tables = await database.db.introspection.getTables()
  t.ok(tables.length > 10, `${tables.length} tables`)
  t.same(new Set(tables.map((table) => table.schema)), new Set([database.schema]), 'only the own schema, not another with a quotes table')
  t.notOk(
    tables.some((table) => table.name === 'kysely_migration'),
    "kysely's own tables only when asked",
  )
  t.ok((await database.db.introspection.getTables({ withInternalKyselyTables: true })).some((table) => table.name === 'kysely_migration'))
  const quotes = tables.find((table) => table.name === 'quotes')
  t.match(
    quotes?.columns.find((c) => c.name === 'id'),
    { dataType: 'text', isNullable: false },
  )

  // Schemas created and dropped by other sessions meanwhile: the default introspector can fail with "schema … does not exist".
  let churning = true
  const churn = (async () => {
    while (churning) {
      const name = `test_churn_${randomBytes(4).toString('hex')}`
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(`create schema "${name}"; create table "${name}".t (id serial primary key, v text)`)
      await client.end()
      await dropSchema(url, name)
    }
  })()
  try {
    for (let i = 0; i < 40; i++) await database.db.introspection.getTables({ withInternalKyselyTables: true })
    t.same(await migrateToLatest(database), [], 'and the migrator runs through it')
  } finally {
    churning = false
    await churn
  }
})

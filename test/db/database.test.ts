import t from 'tap'
import { sql } from 'kysely'
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

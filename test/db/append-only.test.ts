import t from 'tap'
import { sql } from 'kysely'
import { appendAudit } from '../../src/audit/audit.service.js'
import { testDatabase } from '../helpers/app.js'

/** The append-only tables refuse UPDATE, DELETE and TRUNCATE, on PGlite and on PostgreSQL. */

const APPEND_ONLY = ['audit_log', 'decisions', 'rule_set_versions', 'rule_set_activations', 'contract_events'] as const

t.test('TRUNCATE is refused on every append-only table, directly or by CASCADE', async (t) => {
  const { db } = await testDatabase(t)
  const at = new Date('2026-12-01T09:00:00Z')
  await db
    .insertInto('principals')
    .values({ id: 'prn_t', name: 'T', roles: ['admin'], manager_id: null, created_at: at, updated_at: at })
    .execute()
  await db.transaction().execute((trx) => appendAudit(trx, at, { actorId: 'prn_t', action: 'test.entry', entityType: 'test', entityId: 't_1' }))

  for (const table of APPEND_ONLY) {
    // CASCADE, or the foreign keys into decisions and rule_set_versions would refuse first.
    await t.rejects(sql`truncate table ${sql.table(table)} cascade`.execute(db), { message: /table \w+ is append-only/ }, `TRUNCATE ${table} CASCADE`)
  }
  await t.rejects(sql`truncate table audit_log`.execute(db), { message: 'table audit_log is append-only' }, 'TRUNCATE audit_log')
  await t.rejects(sql`truncate table principals cascade`.execute(db), /is append-only/, 'a CASCADE from a referenced table reaches the audit log')
  await t.rejects(
    sql`truncate table audit_log, webhook_delivery_attempts, webhook_deliveries, outbox_events`.execute(db),
    /table audit_log is append-only/,
    'in a list of tables',
  )
  const rows = await db.selectFrom('audit_log').select('seq').execute()
  t.same(rows, [{ seq: 1n }], 'the entry is still there')
  t.equal((await db.selectFrom('principals').select('id').execute()).length, 1, 'and nothing else was emptied')
  await sql`truncate table webhook_delivery_attempts, webhook_deliveries, outbox_events`.execute(db)
  t.pass('other tables may still be truncated')
})

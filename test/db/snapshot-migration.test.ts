import t from 'tap'
import { cp, mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { dropSchema, openDatabase } from '../../src/db/database.js'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js'
import { evaluateQuote } from '../../src/evaluation/evaluate.js'
import { renderEvaluation } from '../../src/evaluation/render.js'
import { findRevision } from '../../src/quotes/quote.repository.js'
import { loadRuleSet } from '../../src/rules/rule-set.js'
import { testConfig } from '../helpers/app.js'

const ROOT = new URL('../../', import.meta.url).pathname

t.test('migrations 0007 and 0008 convert revisions that stored the API rendering into version 1 snapshots, to the cent', async (t) => {
  const config = testConfig()
  const database = await openDatabase(config)
  t.teardown(async () => {
    await database.close()
    if (config.databaseUrl && config.databaseSchema) await dropSchema(config.databaseUrl, config.databaseSchema)
  })
  // The schema as it was before snapshots: every migration before 0007.
  const before = await mkdtemp(join(tmpdir(), 'qtc-migrations-'))
  for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f < '0007')) await cp(join(MIGRATIONS_DIR, file), join(before, file))
  await migrateToLatest(database, before)

  // A revision as version 0 stored it: the rendered evaluation of a real cart, priced with trace=fired.
  const { ruleSet } = await loadRuleSet(join(ROOT, 'rules'), join(ROOT, 'price-books'))
  const cart = {
    currency: 'EUR',
    date: '2026-12-01',
    channel: 'direct',
    account: { id: 'acc_1', segment: 'enterprise', country: 'FR' },
    lines: [
      { sku: 'PLAT-ENT-SEAT', quantity: 120, termMonths: 36 },
      { sku: 'GW-200', quantity: 10, manualDiscountPercent: '25' },
    ],
    paymentTermsDays: 45,
  }
  const { costCoveragePercent: _, ...legacyTotals } = renderEvaluation(await evaluateQuote(ruleSet!, cart, { trace: 'fired' }), 'fired').totals
  const legacy = { ...renderEvaluation(await evaluateQuote(ruleSet!, cart, { trace: 'fired' }), 'fired'), totals: legacyTotals }
  const { db } = database
  await sql`INSERT INTO principals (id, name, roles) VALUES ('prn_1', 'Rep', ARRAY['sales_rep'])`.execute(db)
  await sql`INSERT INTO rule_set_versions (rule_set_hash, price_book_hash, sources, summary) VALUES (${legacy.ruleSetHash}, ${legacy.priceBookHash}, '{}', '{}')`.execute(
    db,
  )
  await sql`INSERT INTO decisions (id, kind, rule_set_hash, price_book_hash, principal_id, input, output, created_at) VALUES ('dec_1', 'evaluation', ${legacy.ruleSetHash}, ${legacy.priceBookHash}, 'prn_1', ${JSON.stringify(cart)}, ${JSON.stringify(legacy)}, now())`.execute(
    db,
  )
  await sql`INSERT INTO accounts (id, name, billing_address, country, currency, segment, owner_id, created_at, updated_at) VALUES ('acc_1', 'A', '{}', 'FR', 'EUR', 'enterprise', 'prn_1', now(), now())`.execute(
    db,
  )
  await sql`INSERT INTO quotes (id, number, account_id, owner_id, currency, status, current_revision, valid_until, payment_terms_days, created_at, updated_at) VALUES ('qt_1', 'Q-1', 'acc_1', 'prn_1', 'EUR', 'draft', 1, '2026-12-31', 45, now(), now())`.execute(
    db,
  )
  await sql`INSERT INTO quote_revisions (quote_id, revision, cart, evaluation, decision_id, fingerprint, fingerprint_hash, created_by, created_at) VALUES ('qt_1', 1, ${JSON.stringify(cart)}, ${JSON.stringify(legacy)}, 'dec_1', '{}', 'h', 'prn_1', now())`.execute(
    db,
  )

  await sql`INSERT INTO approval_requests (id, quote_id, revision, status, created_by, created_at) VALUES ('apr_1', 'qt_1', 1, 'pending', 'prn_1', now())`.execute(
    db,
  )

  await migrateToLatest(database)
  // Migration 0008: the request keeps what it decides about, read from the quote and the converted snapshot.
  const { rows } = await sql<{ subject: unknown }>`SELECT subject FROM approval_requests WHERE id = 'apr_1'`.execute(db)
  t.same(rows[0]?.subject, {
    number: 'Q-1',
    ownerId: 'prn_1',
    involved: ['prn_1'],
    netTotal: { minor: BigInt(legacy.totals.net.replace('.', '')).toString(), currency: 'EUR' },
  })
  const revision = await findRevision(db, 'qt_1', 1)
  t.ok(revision, 'the converted row decodes as a version 1 snapshot')
  const snapshot = revision!.evaluation
  t.equal(snapshot.version, 1)
  t.same(snapshot.totals.net, { minor: BigInt(legacy.totals.net.replace('.', '')), currency: 'EUR' }, 'amounts are Money')
  // Rendered again, it is what the API showed (the share of revenue with a known cost was not recorded then).
  t.same(renderEvaluation(snapshot, 'fired'), { ...legacy, totals: { ...legacy.totals, costCoveragePercent: null } })
  // Approval steps are bound to the facts version 0 kept in the trace.
  t.ok(snapshot.approvals.steps.length > 0, 'the cart needs approval')
  for (const step of snapshot.approvals.steps) t.ok(Object.keys(step.facts).length > 0, `${step.role} is bound to facts`)
  const fresh = await evaluateQuote(ruleSet!, cart, { trace: 'none' })
  t.same(
    snapshot.approvals.steps.map((s) => s.facts),
    fresh.approvals.steps.map((s) => s.facts),
    'the same facts as a new evaluation binds, without any trace',
  )
  await t.rejects(sql`UPDATE quote_revisions SET snapshot_version = 0`.execute(db), 'no row may be left unconverted')
})

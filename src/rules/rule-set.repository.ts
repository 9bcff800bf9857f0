import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { RuleSetSources } from './rule-set.js'

type Executor = Kysely<Database>

/** Stores a rule set once per (rules hash, price-book hash); publishing the same set again changes nothing. */
export async function insertRuleSetVersion(
  db: Executor,
  values: { ruleSetHash: string; priceBookHash: string; sources: RuleSetSources; summary: unknown; publishedBy: string | null; now: Date },
): Promise<boolean> {
  const result = await db
    .insertInto('rule_set_versions')
    .values({
      rule_set_hash: values.ruleSetHash,
      price_book_hash: values.priceBookHash,
      sources: JSON.stringify(values.sources),
      summary: JSON.stringify(values.summary),
      published_by: values.publishedBy,
      published_at: values.now,
    })
    .onConflict((oc) => oc.columns(['rule_set_hash', 'price_book_hash']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

export async function findRuleSetSources(db: Executor, ruleSetHash: string, priceBookHash: string): Promise<RuleSetSources | undefined> {
  const row = await db
    .selectFrom('rule_set_versions')
    .select('sources')
    .where('rule_set_hash', '=', ruleSetHash)
    .where('price_book_hash', '=', priceBookHash)
    .executeTakeFirst()
  return row?.sources as RuleSetSources | undefined
}

/** The latest activation: the set every instance must serve. */
export interface Activation {
  id: bigint
  ruleSetHash: string
  priceBookHash: string
}

/**
 * Serialises activations between instances until the transaction ends. SHARE ROW EXCLUSIVE
 * conflicts with itself and with inserts, but not with the plain reads of the poll, so
 * serving instances never wait on a reload.
 */
export async function lockActivations(trx: Executor): Promise<void> {
  await sql`LOCK TABLE rule_set_activations IN SHARE ROW EXCLUSIVE MODE`.execute(trx)
}

/** Records that a set was put into service; returns the activation's id. */
export async function insertActivation(
  db: Executor,
  values: { ruleSetHash: string; priceBookHash: string; activatedBy: string | null; now: Date },
): Promise<bigint> {
  const row = await db
    .insertInto('rule_set_activations')
    .values({ rule_set_hash: values.ruleSetHash, price_book_hash: values.priceBookHash, activated_by: values.activatedBy, activated_at: values.now })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

/** The set put into service last (one primary-key lookup: cheap enough to poll). */
export async function findLatestActivation(db: Executor): Promise<Activation | undefined> {
  const row = await db.selectFrom('rule_set_activations').select(['id', 'rule_set_hash', 'price_book_hash']).orderBy('id', 'desc').limit(1).executeTakeFirst()
  return row && { id: row.id, ruleSetHash: row.rule_set_hash, priceBookHash: row.price_book_hash }
}

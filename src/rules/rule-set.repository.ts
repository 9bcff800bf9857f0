import type { Kysely } from 'kysely'
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

/** Records that a set was put into service. */
export async function insertActivation(db: Executor, values: { ruleSetHash: string; priceBookHash: string; activatedBy: string | null; now: Date }): Promise<void> {
  await db
    .insertInto('rule_set_activations')
    .values({ rule_set_hash: values.ruleSetHash, price_book_hash: values.priceBookHash, activated_by: values.activatedBy, activated_at: values.now })
    .execute()
}

/** The sources of the set that was put into service last. */
export async function findLastActiveRuleSetSources(db: Executor): Promise<RuleSetSources | undefined> {
  const row = await db
    .selectFrom('rule_set_activations')
    .innerJoin('rule_set_versions', (join) =>
      join.onRef('rule_set_versions.rule_set_hash', '=', 'rule_set_activations.rule_set_hash').onRef('rule_set_versions.price_book_hash', '=', 'rule_set_activations.price_book_hash'),
    )
    .select('rule_set_versions.sources')
    .orderBy('rule_set_activations.id', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row?.sources as RuleSetSources | undefined
}

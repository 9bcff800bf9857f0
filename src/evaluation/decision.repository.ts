import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

export async function insertDecision(
  db: Kysely<Database>,
  values: { id: string; ruleSetHash: string; priceBookHash: string; principalId: string; input: unknown; output: unknown; now: Date },
): Promise<void> {
  await db
    .insertInto('decisions')
    .values({
      id: values.id,
      kind: 'evaluation',
      rule_set_hash: values.ruleSetHash,
      price_book_hash: values.priceBookHash,
      principal_id: values.principalId,
      input: JSON.stringify(values.input),
      output: JSON.stringify(values.output),
      created_at: values.now,
    })
    .execute()
}

export async function findDecision(db: Kysely<Database>, id: string) {
  return db.selectFrom('decisions').selectAll().where('id', '=', id).executeTakeFirst()
}

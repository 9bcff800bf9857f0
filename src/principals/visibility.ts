import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../db/schema.js'
import type { Principal } from './principal.repository.js'

/**
 * Object-level authorization for owned records (accounts, quotes): deal desk, finance and
 * admin see everything; a sales manager sees their own and their team's (principals whose
 * manager they are); anyone else only their own. Callers answer 404 for the rest, so
 * existence is not revealed.
 */
export function seesAll(principal: Principal): boolean {
  return principal.roles.some((r) => r === 'deal_desk' || r === 'finance' || r === 'admin')
}

/** A condition on the `owner_id` column of `table`, limiting rows to what the principal may see. */
export function visibleOwners(principal: Principal, table: 'accounts' | 'quotes'): RawBuilder<boolean> {
  const owner = sql.ref(`${table}.owner_id`)
  if (seesAll(principal)) return sql<boolean>`true`
  if (principal.roles.includes('sales_manager')) {
    return sql<boolean>`(${owner} = ${principal.id} or ${owner} in (select id from principals where manager_id = ${principal.id}))`
  }
  return sql<boolean>`${owner} = ${principal.id}`
}

/** Whether the principal may see a record owned by `ownerId`. */
export async function canSeeOwned(db: Kysely<Database>, principal: Principal, ownerId: string): Promise<boolean> {
  if (seesAll(principal) || ownerId === principal.id) return true
  if (!principal.roles.includes('sales_manager')) return false
  const owner = await db.selectFrom('principals').select('manager_id').where('id', '=', ownerId).executeTakeFirst()
  return owner?.manager_id === principal.id
}

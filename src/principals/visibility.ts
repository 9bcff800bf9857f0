import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { Principal } from './principal.js'
import { SEE_ALL_ROLES } from './roles.js'
import * as repo from './principal.repository.js'

/**
 * Object-level authorization for owned records (accounts, quotes): deal desk, finance and
 * admin see everything; a sales manager sees their own and their team's (principals whose
 * manager they are); anyone else only their own. Callers answer 404 for the rest, so
 * existence is not revealed. Other modules ask here, never the principals table.
 */
export function seesAll(principal: Principal): boolean {
  return principal.roles.some((r) => SEE_ALL_ROLES.includes(r))
}

/** The owners whose records the principal may see, for a list query; null when they may see all. */
export async function visibleOwnerIds(db: Kysely<Database>, principal: Principal): Promise<string[] | null> {
  if (seesAll(principal)) return null
  if (!principal.roles.includes('sales_manager')) return [principal.id]
  return [principal.id, ...(await repo.teamOf(db, principal.id))]
}

/** Whether the principal may see a record owned by `ownerId`. */
export async function canSeeOwned(db: Kysely<Database>, principal: Principal, ownerId: string): Promise<boolean> {
  if (seesAll(principal) || ownerId === principal.id) return true
  if (!principal.roles.includes('sales_manager')) return false
  return (await repo.findPrincipal(db, ownerId))?.managerId === principal.id
}

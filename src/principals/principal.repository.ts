import type { Kysely, Selectable } from 'kysely'
import type { Database, PrincipalsTable } from '../db/schema.js'
import { givenColumns } from '../db/columns.js'
import type { Principal } from './principal.js'
import type { Role } from './roles.js'

type Executor = Kysely<Database>

function toPrincipal(row: Selectable<PrincipalsTable>): Principal {
  return {
    id: row.id,
    name: row.name,
    roles: row.roles as Role[],
    status: row.status,
    managerId: row.manager_id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export async function findPrincipal(db: Executor, id: string): Promise<Principal | undefined> {
  const row = await db.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toPrincipal(row)
}

/** The active principal owning an active key with this digest. */
export async function findPrincipalByKeyHash(db: Executor, keyHash: string): Promise<Principal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('principals', 'principals.id', 'api_keys.principal_id')
    .selectAll('principals')
    .where('api_keys.key_hash', '=', keyHash)
    .where('api_keys.revoked_at', 'is', null)
    .where('principals.status', '=', 'active')
    .executeTakeFirst()
  return row && toPrincipal(row)
}

/** Ids of the principals `managerId` manages (their team). */
export async function teamOf(db: Executor, managerId: string): Promise<string[]> {
  return (await db.selectFrom('principals').select('id').where('manager_id', '=', managerId).execute()).map((r) => r.id)
}

export async function countPrincipals(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('principals')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function insertPrincipal(
  db: Executor,
  values: { id: string; name: string; roles: Role[]; managerId: string | null; now: Date },
): Promise<Principal> {
  const row = await db
    .insertInto('principals')
    .values({ id: values.id, name: values.name, roles: values.roles, manager_id: values.managerId, created_at: values.now, updated_at: values.now })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toPrincipal(row)
}

export async function insertApiKey(db: Executor, values: { id: string; principalId: string; keyHash: string; keyPrefix: string; now: Date }): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({ id: values.id, principal_id: values.principalId, key_hash: values.keyHash, key_prefix: values.keyPrefix, created_at: values.now })
    .execute()
}

export async function findApiKeyOwner(db: Executor, keyHash: string): Promise<string | undefined> {
  const row = await db.selectFrom('api_keys').select('principal_id').where('key_hash', '=', keyHash).executeTakeFirst()
  return row?.principal_id
}

/** Compare-and-swap update: returns undefined when the version moved (or the row is gone). */
export async function updatePrincipal(
  db: Executor,
  id: string,
  expectedVersion: number,
  patch: { name?: string; roles?: Role[]; managerId?: string | null; status?: 'active' | 'revoked' },
  now: Date,
): Promise<Principal | undefined> {
  const row = await db
    .updateTable('principals')
    .set((eb) => ({
      ...givenColumns(patch, { name: 'name', roles: 'roles', managerId: 'manager_id', status: 'status' }),
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .returningAll()
    .executeTakeFirst()
  return row && toPrincipal(row)
}

export async function revokeApiKeysOf(db: Executor, principalId: string, now: Date): Promise<void> {
  await db.updateTable('api_keys').set({ revoked_at: now }).where('principal_id', '=', principalId).where('revoked_at', 'is', null).execute()
}

export async function listPrincipals(db: Executor, limit: number, startingAfter: string | undefined): Promise<Principal[]> {
  let query = db.selectFrom('principals').selectAll().orderBy('id').limit(limit)
  if (startingAfter) query = query.where('id', '>', startingAfter)
  return (await query.execute()).map(toPrincipal)
}

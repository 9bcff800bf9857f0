import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { appendAudit } from '../audit/audit.service.js'
import type { Db } from '../db/database.js'
import { AppError } from '../errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { generateApiKey, hashApiKey, keyPrefix } from './api-key.js'
import * as repo from './principal.repository.js'
import type { Principal } from './principal.js'
import { ROLES, type Role } from './roles.js'

export type { Principal }

export interface PrincipalDeps {
  db: Db
  clock: Clock
}

export interface NewPrincipal {
  name: string
  roles: Role[]
  managerId?: string | null
}

export interface CreatedPrincipal {
  principal: Principal
  /** The API key in clear: returned once, never stored. Absent on an idempotent replay. */
  apiKey?: string
}

async function createWithKey(
  db: Parameters<typeof repo.insertPrincipal>[0],
  input: NewPrincipal,
  now: Date,
  key: string = generateApiKey(),
): Promise<{ principal: Principal; apiKey: string }> {
  if (input.managerId) {
    const manager = await repo.findPrincipal(db, input.managerId)
    if (!manager) {
      throw new AppError('VALIDATION_FAILED', 'The manager does not exist.', {
        errors: [{ pointer: '/managerId', detail: 'no principal with this id' }],
      })
    }
  }
  const principal = await repo.insertPrincipal(db, {
    id: newId('prn'),
    name: input.name,
    roles: [...new Set(input.roles)].sort(),
    managerId: input.managerId ?? null,
    now,
  })
  await repo.insertApiKey(db, { id: newId('key'), principalId: principal.id, keyHash: hashApiKey(key), keyPrefix: keyPrefix(key), now })
  return { principal, apiKey: key }
}

/** Creates a principal and its first API key in one transaction; the key is shown only in the first response. */
export async function createPrincipal(
  deps: PrincipalDeps,
  input: NewPrincipal,
  idempotency: IdempotencyRequest | null,
  actorId: string | null = null,
): Promise<StoredResponse<CreatedPrincipal>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const created = await createWithKey(trx, input, now)
      // Role grants are audited: who may approve what is part of every approval's evidence.
      await appendAudit(trx, now, {
        actorId,
        action: 'principal.created',
        entityType: 'principal',
        entityId: created.principal.id,
        after: { name: created.principal.name, roles: created.principal.roles, managerId: created.principal.managerId },
      })
      return { status: 201, body: created, replayBody: { principal: created.principal } }
    },
  )
}

/** The active principal holding this key, or undefined for an unknown, revoked or malformed key. */
export async function authenticate(deps: PrincipalDeps, key: string): Promise<Principal | undefined> {
  // Every valid key (generated or bootstrap) is 32 to 256 characters: skip the lookup otherwise.
  if (key.length < 32 || key.length > 256) return undefined
  return repo.findPrincipalByKeyHash(deps.db, hashApiKey(key))
}

/** A principal by id, or undefined: for other modules, which never read the principals table themselves. */
export function findPrincipal(db: Db, id: string): Promise<Principal | undefined> {
  return repo.findPrincipal(db, id)
}

export async function getPrincipal(deps: PrincipalDeps, id: string): Promise<Principal> {
  const principal = await repo.findPrincipal(deps.db, id)
  if (!principal) throw new AppError('NOT_FOUND', `No principal ${id}.`)
  return principal
}

export async function listPrincipals(deps: PrincipalDeps, limit: number, startingAfter?: string): Promise<Principal[]> {
  return repo.listPrincipals(deps.db, limit, startingAfter)
}

/** Updates name, roles or manager if the caller's version is still current (else 412). */
export async function updatePrincipal(
  deps: PrincipalDeps,
  id: string,
  expectedVersion: number,
  patch: { name?: string; roles?: Role[]; managerId?: string | null },
  actorId: string | null = null,
): Promise<Principal> {
  return deps.db.transaction().execute(async (trx) => {
    const current = await repo.findPrincipal(trx, id)
    if (!current) throw new AppError('NOT_FOUND', `No principal ${id}.`)
    if (patch.managerId === id) {
      throw new AppError('VALIDATION_FAILED', 'A principal cannot manage itself.', {
        errors: [{ pointer: '/managerId', detail: 'must differ from the principal' }],
      })
    }
    if (patch.managerId && !(await repo.findPrincipal(trx, patch.managerId))) {
      throw new AppError('VALIDATION_FAILED', 'The manager does not exist.', { errors: [{ pointer: '/managerId', detail: 'no principal with this id' }] })
    }
    const updated = await repo.updatePrincipal(
      trx,
      id,
      expectedVersion,
      { ...patch, ...(patch.roles ? { roles: [...new Set(patch.roles)].sort() } : {}) },
      deps.clock.now(),
    )
    if (!updated) {
      throw new AppError('PRECONDITION_FAILED', `Principal ${id} changed since you read it (now version ${current.version}).`)
    }
    await appendAudit(trx, deps.clock.now(), {
      actorId,
      action: 'principal.updated',
      entityType: 'principal',
      entityId: id,
      before: { name: current.name, roles: current.roles, managerId: current.managerId },
      after: { name: updated.name, roles: updated.roles, managerId: updated.managerId },
    })
    return updated
  })
}

/** Revokes a principal and every key it holds; a principal cannot revoke itself. */
export async function revokePrincipal(deps: PrincipalDeps, actor: Principal, id: string): Promise<Principal> {
  if (actor.id === id) throw new AppError('FORBIDDEN', 'You cannot revoke your own principal.')
  return deps.db.transaction().execute(async (trx) => {
    const current = await repo.findPrincipal(trx, id)
    if (!current) throw new AppError('NOT_FOUND', `No principal ${id}.`)
    const now = deps.clock.now()
    await repo.revokeApiKeysOf(trx, id, now)
    if (current.status === 'revoked') return current
    const updated = await repo.updatePrincipal(trx, id, current.version, { status: 'revoked' }, now)
    await appendAudit(trx, now, {
      actorId: actor.id,
      action: 'principal.revoked',
      entityType: 'principal',
      entityId: id,
      before: { status: current.status },
      after: { status: 'revoked' },
    })
    return updated ?? current
  })
}

/**
 * Makes sure the bootstrap key (QTC_BOOTSTRAP_ADMIN_KEY) belongs to an admin, creating the
 * principal on first start. Idempotent across restarts and across instances starting at once
 * (the unique key digest makes a racing second insert fail, and we then re-read).
 */
export async function ensureBootstrapAdmin(deps: PrincipalDeps, key: string): Promise<string> {
  const existing = await repo.findApiKeyOwner(deps.db, hashApiKey(key))
  if (existing) return existing
  try {
    return await deps.db.transaction().execute(async (trx) => {
      const { principal } = await createWithKey(trx, { name: 'bootstrap-admin', roles: ['admin'] }, deps.clock.now(), key)
      return principal.id
    })
  } catch (error) {
    const owner = await repo.findApiKeyOwner(deps.db, hashApiKey(key))
    if (owner) return owner
    throw error
  }
}

/**
 * On a fresh embedded database, creates one demo principal per role and writes their keys
 * (readable by the owner only) to `<dataDir>/demo-keys.json`. Does nothing once any principal
 * exists, so restarts keep the same keys.
 */
export async function seedDemoPrincipals(deps: PrincipalDeps & { log: Logger }, dataDir: string): Promise<boolean> {
  const file = join(dataDir, 'demo-keys.json')
  const keys = await deps.db.transaction().execute(async (trx) => {
    if ((await repo.countPrincipals(trx)) > 0) return undefined
    const now = deps.clock.now()
    const byRole: Record<string, { principalId: string; name: string; apiKey: string }> = {}
    const manager = await createWithKey(trx, { name: 'Demo sales manager', roles: ['sales_manager'] }, now)
    byRole.sales_manager = { principalId: manager.principal.id, name: manager.principal.name, apiKey: manager.apiKey }
    for (const role of ROLES.filter((r) => r !== 'sales_manager')) {
      const managerId = role === 'sales_rep' ? manager.principal.id : null
      const created = await createWithKey(trx, { name: `Demo ${role.replaceAll('_', ' ')}`, roles: [role], managerId }, now)
      byRole[role] = { principalId: created.principal.id, name: created.principal.name, apiKey: created.apiKey }
    }
    // Written before the commit: if the file cannot be written, no principal is created either.
    await writeFile(file, JSON.stringify(byRole, null, 2) + '\n', { mode: 0o600 })
    await chmod(file, 0o600)
    return byRole
  })
  if (!keys) return false
  deps.log.info({ file }, 'created demo principals, one per role; their API keys are in this file')
  return true
}

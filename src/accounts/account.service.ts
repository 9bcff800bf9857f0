import type { Transaction } from 'kysely'
import type { Database } from '../db/schema.js'
import type { Db } from '../db/database.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { findPrincipal } from '../principals/principal.service.js'
import { BILLING_SETTERS } from '../principals/roles.js'
import { canSeeOwned, seesAll, visibleOwnerIds } from '../principals/visibility.js'
import type { LegalEntities } from '../documents/legal-entities.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import * as repo from './account.repository.js'
import type { RuleSetRegistry } from '../rules/rule-set.service.js'
import { isCurrency } from '../money/currency.js'
import { isCountry } from '../shared/countries.js'
import type { FieldError } from '../errors.js'
import type { BillingAlignment } from '../orders/order.service.js'
import type { Account, BillingAddress, Contact } from './account.repository.js'

export type { Account, BillingAlignment, Contact }

export interface AccountDeps {
  db: Db
  clock: Clock
  /** The serving rule set: its catalog declares the segments, its price books the currencies offered. */
  ruleSets: RuleSetRegistry
  /** The seller legal entities an account may name. */
  documents: { sellers: LegalEntities }
}

export interface NewAccount {
  name: string
  billingAddress: BillingAddress
  country: string
  currency: string
  vatId?: string | null
  segment: string
  /** Defaults to the caller; only managers and above may assign another owner. */
  ownerId?: string
  /** Defaults to anniversary. */
  billingAlignment?: BillingAlignment
  /** A seller legal entity's id; null or absent: chosen by each quote's currency. */
  sellerId?: string | null
}

/**
 * Segments are the catalog's closed list, countries ISO 3166-1, currencies ISO 4217 and offered
 * by some price book: an account with segment "pubic_sector" would silently lose its discounts.
 */
function assertKnownValues(deps: AccountDeps, input: Partial<NewAccount>): void {
  const { catalog, books } = deps.ruleSets.get().priceBooks
  const errors: FieldError[] = []
  if (input.segment !== undefined && !catalog.segments.has(input.segment))
    errors.push({ pointer: '/segment', detail: `unknown segment; one of ${[...catalog.segments].join(', ')}` })
  if (input.country !== undefined && !isCountry(input.country)) errors.push({ pointer: '/country', detail: 'not an ISO 3166-1 country code' })
  if (input.billingAddress !== undefined && !isCountry(input.billingAddress.country))
    errors.push({ pointer: '/billingAddress/country', detail: 'not an ISO 3166-1 country code' })
  if (input.currency !== undefined) {
    const offered = [...new Set(books.map((b) => b.currency))].sort()
    if (!isCurrency(input.currency)) errors.push({ pointer: '/currency', detail: 'not an ISO 4217 currency' })
    else if (!offered.includes(input.currency)) errors.push({ pointer: '/currency', detail: `no price book is in this currency; one of ${offered.join(', ')}` })
  }
  if (input.sellerId && !deps.documents.sellers.byId(input.sellerId))
    errors.push({ pointer: '/sellerId', detail: `no seller legal entity ${input.sellerId}; one of ${deps.documents.sellers.all.map((e) => e.id).join(', ')}` })
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', 'The account names a segment, country, currency or seller QTC does not know.', { errors })
}

/** Billing fields are finance's: a seller may keep an account but not choose how it is invoiced. */
function assertMaySetBilling(actor: Principal, input: Partial<NewAccount>): void {
  const fields = (['billingAlignment', 'sellerId'] as const).filter((f) => input[f] !== undefined)
  if (fields.length > 0 && !actor.roles.some((r) => BILLING_SETTERS.includes(r)))
    throw new AppError('FORBIDDEN', `Only ${BILLING_SETTERS.join(' or ')} may set ${fields.join(' and ')}: how an account is billed is finance's decision.`)
}

async function assertOwnerAllowed(deps: AccountDeps, actor: Principal, ownerId: string): Promise<void> {
  if (ownerId === actor.id) return
  const owner = await findPrincipal(deps.db, ownerId)
  if (owner?.status !== 'active') {
    throw new AppError('VALIDATION_FAILED', 'The owner is not an active principal.', {
      errors: [{ pointer: '/ownerId', detail: 'no active principal with this id' }],
    })
  }
  if (!seesAll(actor) && !(await canSeeOwned(deps.db, actor, ownerId))) {
    throw new AppError('FORBIDDEN', 'You can only give accounts to yourself or your team.')
  }
}

/** Creates an account owned by the caller (or a principal of their team); audited; idempotent. */
export async function createAccount(
  deps: AccountDeps,
  actor: Principal,
  input: NewAccount,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<Account>> {
  const ownerId = input.ownerId ?? actor.id
  assertKnownValues(deps, input)
  assertMaySetBilling(actor, input)
  await assertOwnerAllowed(deps, actor, ownerId)
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const account = await repo.insertAccount(trx, {
        id: newId('acc'),
        name: input.name,
        billingAddress: input.billingAddress,
        country: input.country,
        currency: input.currency,
        vatId: input.vatId ?? null,
        segment: input.segment,
        ownerId,
        billingAlignment: input.billingAlignment ?? 'anniversary',
        sellerId: input.sellerId ?? null,
        createdAt: now,
        updatedAt: now,
      })
      await appendAudit(trx, now, { actorId: actor.id, action: 'account.created', entityType: 'account', entityId: account.id, after: account })
      await appendEvent(trx, now, { type: 'account.created', aggregateType: 'account', aggregateId: account.id, payload: { accountId: account.id } })
      return { status: 201, body: account }
    },
  )
}

/** The account if the principal may see it; 404 otherwise (existence is not revealed). */
export async function getAccount(deps: Pick<AccountDeps, 'db'>, actor: Principal, id: string): Promise<Account> {
  const account = await repo.findAccount(deps.db, id)
  if (!account || !(await canSeeOwned(deps.db, actor, account.ownerId))) throw new AppError('NOT_FOUND', `No account ${id}.`)
  return account
}

export async function listAccounts(deps: AccountDeps, actor: Principal, limit: number, startingAfter?: string): Promise<Account[]> {
  return repo.listAccounts(deps.db, await visibleOwnerIds(deps.db, actor), limit, startingAfter)
}

/** Updates an account if the caller's version is current (412 otherwise); audited. */
export async function updateAccount(deps: AccountDeps, actor: Principal, id: string, expectedVersion: number, patch: Partial<NewAccount>): Promise<Account> {
  const current = await getAccount(deps, actor, id)
  assertKnownValues(deps, patch)
  assertMaySetBilling(actor, patch)
  if (patch.ownerId !== undefined) await assertOwnerAllowed(deps, actor, patch.ownerId)
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const updated = await repo.updateAccount(trx, id, expectedVersion, patch, now)
    if (!updated) throw new AppError('PRECONDITION_FAILED', `Account ${id} changed since you read it.`)
    await appendAudit(trx, now, { actorId: actor.id, action: 'account.updated', entityType: 'account', entityId: id, before: current, after: updated })
    return updated
  })
}

export async function addContact(
  deps: AccountDeps,
  actor: Principal,
  accountId: string,
  input: { name: string; email: string; role?: string | null },
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<Contact>> {
  await getAccount(deps, actor, accountId)
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const contact = await repo.insertContact(trx, {
        id: newId('con'),
        accountId,
        name: input.name,
        email: input.email,
        role: input.role ?? null,
        createdAt: now,
        updatedAt: now,
      })
      await appendAudit(trx, now, { actorId: actor.id, action: 'contact.created', entityType: 'contact', entityId: contact.id, after: contact })
      return { status: 201, body: contact }
    },
  )
}

export async function listContacts(deps: AccountDeps, actor: Principal, accountId: string, limit: number, startingAfter?: string): Promise<Contact[]> {
  await getAccount(deps, actor, accountId)
  return repo.listContacts(deps.db, accountId, limit, startingAfter)
}

/** A contact of an account the principal may see; undefined when the account has no such contact. */
export async function findContact(deps: AccountDeps, actor: Principal, accountId: string, contactId: string): Promise<Contact | undefined> {
  await getAccount(deps, actor, accountId)
  return repo.findContact(deps.db, accountId, contactId)
}

/**
 * An account read without a principal, for a buyer holding a signing link (the link is their
 * credential, checked by the caller): only what the buyer's page shows of it.
 */
export async function accountNameForBuyer(deps: Pick<AccountDeps, 'db'>, id: string): Promise<string> {
  const account = await repo.findAccount(deps.db, id)
  if (!account) throw new AppError('NOT_FOUND', `No account ${id}.`)
  return account.name
}

/**
 * How an account's orders are billed, read without a principal when its buyer signs (the
 * signing link is the credential, checked by the caller), inside the signing transaction.
 */
export async function billingAlignmentOf(db: AccountDeps['db'] | Transaction<Database>, id: string): Promise<BillingAlignment> {
  const account = await repo.findAccount(db, id)
  if (!account) throw new AppError('NOT_FOUND', `No account ${id}.`)
  return account.billingAlignment
}

/** An account read without a principal by an invoice run (a system job, not a person), inside its transaction: the buyer as the invoice prints it. */
export async function accountForInvoicing(db: AccountDeps['db'] | Transaction<Database>, id: string): Promise<Account> {
  const account = await repo.findAccount(db, id)
  if (!account) throw new AppError('NOT_FOUND', `No account ${id}.`)
  return account
}

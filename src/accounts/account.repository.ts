import type { Kysely, Selectable } from 'kysely'
import { givenColumns } from '../db/columns.js'
import type { AccountsTable, ContactsTable, Database } from '../db/schema.js'
import type { BillingAlignment } from '../orders/order.service.js'

type Executor = Kysely<Database>

export interface BillingAddress {
  line1: string
  line2?: string
  city: string
  postalCode: string
  region?: string
  country: string
}

export interface Account {
  id: string
  name: string
  billingAddress: BillingAddress
  country: string
  currency: string
  vatId: string | null
  segment: string
  ownerId: string
  /** Where the recurring periods of its orders fall: on the service start's day (anniversary) or on calendar months. */
  billingAlignment: BillingAlignment
  /** The seller legal entity it buys from; null: the one chosen by the quote's currency (docs/documents.md). */
  sellerId: string | null
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface Contact {
  id: string
  accountId: string
  name: string
  email: string
  role: string | null
  version: number
  createdAt: Date
  updatedAt: Date
}

function toAccount(r: Selectable<AccountsTable>): Account {
  return {
    id: r.id,
    name: r.name,
    billingAddress: r.billing_address as BillingAddress,
    country: r.country,
    currency: r.currency,
    vatId: r.vat_id,
    segment: r.segment,
    ownerId: r.owner_id,
    billingAlignment: r.billing_alignment as BillingAlignment,
    sellerId: r.seller_id,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

function toContact(r: Selectable<ContactsTable>): Contact {
  return { id: r.id, accountId: r.account_id, name: r.name, email: r.email, role: r.role, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at }
}

export async function insertAccount(db: Executor, a: Omit<Account, 'version'>): Promise<Account> {
  const row = await db
    .insertInto('accounts')
    .values({
      id: a.id,
      name: a.name,
      billing_address: JSON.stringify(a.billingAddress),
      country: a.country,
      currency: a.currency,
      vat_id: a.vatId,
      segment: a.segment,
      owner_id: a.ownerId,
      billing_alignment: a.billingAlignment,
      seller_id: a.sellerId,
      created_at: a.createdAt,
      updated_at: a.updatedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toAccount(row)
}

export async function findAccount(db: Executor, id: string): Promise<Account | undefined> {
  const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toAccount(row)
}

/** Accounts of the given owners (null: of anyone), by id. */
export async function listAccounts(db: Executor, owners: string[] | null, limit: number, startingAfter?: string): Promise<Account[]> {
  let q = db.selectFrom('accounts').selectAll().orderBy('id').limit(limit)
  if (owners) q = q.where('owner_id', 'in', owners)
  if (startingAfter) q = q.where('id', '>', startingAfter)
  return (await q.execute()).map(toAccount)
}

/** Compare-and-swap on version; undefined when someone changed it first. */
export async function updateAccount(
  db: Executor,
  id: string,
  expectedVersion: number,
  patch: Partial<Pick<Account, 'name' | 'billingAddress' | 'country' | 'currency' | 'vatId' | 'segment' | 'ownerId' | 'billingAlignment' | 'sellerId'>>,
  now: Date,
): Promise<Account | undefined> {
  const row = await db
    .updateTable('accounts')
    .set((eb) => ({
      ...givenColumns(
        patch,
        {
          name: 'name',
          billingAddress: 'billing_address',
          country: 'country',
          currency: 'currency',
          vatId: 'vat_id',
          segment: 'segment',
          ownerId: 'owner_id',
          billingAlignment: 'billing_alignment',
          sellerId: 'seller_id',
        },
        { billingAddress: (address) => JSON.stringify(address) },
      ),
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .returningAll()
    .executeTakeFirst()
  return row && toAccount(row)
}

export async function insertContact(db: Executor, c: Omit<Contact, 'version'>): Promise<Contact> {
  const row = await db
    .insertInto('contacts')
    .values({ id: c.id, account_id: c.accountId, name: c.name, email: c.email, role: c.role, created_at: c.createdAt, updated_at: c.updatedAt })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toContact(row)
}

export async function findContact(db: Executor, accountId: string, id: string): Promise<Contact | undefined> {
  const row = await db.selectFrom('contacts').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst()
  return row && toContact(row)
}

export async function listContacts(db: Executor, accountId: string, limit: number, startingAfter?: string): Promise<Contact[]> {
  let q = db.selectFrom('contacts').selectAll().where('account_id', '=', accountId).orderBy('id').limit(limit)
  if (startingAfter) q = q.where('id', '>', startingAfter)
  return (await q.execute()).map(toContact)
}

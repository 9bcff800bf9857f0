import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../db/schema.js'
import { assert } from '../errors.js'
import { newId } from '../shared/ids.js'
import { CHART, accountName, type LedgerAccount } from './chart.js'

/**
 * The journal: double entry, one currency per entry, posted in the transaction of the business
 * event it records, never edited (a correction is a reversing entry). Balanced twice: here,
 * before writing, and by the database at commit (a deferred constraint trigger).
 */

export interface JournalLineInput {
  account: LedgerAccount
  debit?: bigint
  credit?: bigint
  /** The buyer's account id, on receivable and customer-credit lines. */
  partyId?: string | null
}

export interface JournalEntryInput {
  date: string
  currency: string
  /** The business document the entry records (`invoice`, later `payment`…) and its id: one entry each. */
  sourceType: string
  sourceId: string
  memo: string
  lines: JournalLineInput[]
}

export interface JournalEntry {
  id: string
  seq: bigint
  date: string
  currency: string
  sourceType: string
  sourceId: string
  memo: string
  lines: Array<{ accountCode: string; accountName: string | null; debit: bigint; credit: bigint; partyId: string | null }>
  createdAt: Date
}

/** Posts a balanced entry in the caller's transaction; lines of zero are left out. */
export async function postEntry(trx: Transaction<Database>, entry: JournalEntryInput, now: Date): Promise<string> {
  const lines = entry.lines.filter((l) => (l.debit ?? 0n) !== 0n || (l.credit ?? 0n) !== 0n)
  for (const l of lines)
    assert((l.debit ?? 0n) >= 0n && (l.credit ?? 0n) >= 0n && !(l.debit && l.credit), `a journal line is a debit or a credit, never negative`)
  const debits = lines.reduce((s, l) => s + (l.debit ?? 0n), 0n)
  const credits = lines.reduce((s, l) => s + (l.credit ?? 0n), 0n)
  assert(debits === credits, `journal entry for ${entry.sourceType} ${entry.sourceId} balances: debits ${debits}, credits ${credits}`)
  const id = newId('je')
  await trx
    .insertInto('journal_entries')
    .values({
      id,
      entry_date: entry.date,
      currency: entry.currency,
      source_type: entry.sourceType,
      source_id: entry.sourceId,
      memo: entry.memo,
      created_at: now,
    })
    .execute()
  await trx
    .insertInto('journal_lines')
    .values(
      lines.map((l, i) => ({
        entry_id: id,
        line_no: i + 1,
        account_code: CHART[l.account].code,
        debit_minor: l.debit ?? 0n,
        credit_minor: l.credit ?? 0n,
        party_id: l.partyId ?? null,
      })),
    )
    .execute()
  return id
}

/** A page of the journal in posting order, resumed after an entry's `seq`. */
export async function listJournal(db: Kysely<Database>, limit: number, afterSeq?: bigint): Promise<JournalEntry[]> {
  let query = db.selectFrom('journal_entries').selectAll().orderBy('seq').limit(limit)
  if (afterSeq !== undefined) query = query.where('seq', '>', afterSeq)
  const entries = await query.execute()
  if (entries.length === 0) return []
  const lines = await db
    .selectFrom('journal_lines')
    .selectAll()
    .where(
      'entry_id',
      'in',
      entries.map((e) => e.id),
    )
    .orderBy('entry_id')
    .orderBy('line_no')
    .execute()
  return entries.map((e) => ({
    id: e.id,
    seq: e.seq,
    date: e.entry_date,
    currency: e.currency,
    sourceType: e.source_type,
    sourceId: e.source_id,
    memo: e.memo,
    lines: lines
      .filter((l) => l.entry_id === e.id)
      .map((l) => ({
        accountCode: l.account_code,
        accountName: accountName(l.account_code),
        debit: l.debit_minor,
        credit: l.credit_minor,
        partyId: l.party_id,
      })),
    createdAt: e.created_at,
  }))
}

export interface TrialBalanceRow {
  currency: string
  accountCode: string
  accountName: string | null
  debit: bigint
  credit: bigint
  /** Debit minus credit: positive for a debit balance. */
  balance: bigint
}

/** Per currency and account, the debits and credits of every entry dated on or before `asOf`. */
export async function trialBalance(db: Kysely<Database>, asOf: string): Promise<TrialBalanceRow[]> {
  const rows = await db
    .selectFrom('journal_lines as l')
    .innerJoin('journal_entries as e', 'e.id', 'l.entry_id')
    .select(['e.currency', 'l.account_code', sql<string>`sum(l.debit_minor)`.as('debit'), sql<string>`sum(l.credit_minor)`.as('credit')])
    .where('e.entry_date', '<=', asOf)
    .groupBy(['e.currency', 'l.account_code'])
    .orderBy('e.currency')
    .orderBy('l.account_code')
    .execute()
  return rows.map((r) => {
    const debit = BigInt(r.debit)
    const credit = BigInt(r.credit)
    return { currency: r.currency, accountCode: r.account_code, accountName: accountName(r.account_code), debit, credit, balance: debit - credit }
  })
}

/**
 * A party's balance on ledger accounts (a buyer's receivable, their customer credit), per
 * currency, from every entry posted: debit minus credit, so a credit balance is negative.
 */
export async function partyBalances(
  db: Kysely<Database>,
  partyId: string,
  accounts: readonly LedgerAccount[],
  currency?: string,
): Promise<Array<{ currency: string; account: LedgerAccount; balance: bigint }>> {
  const codes = new Map(accounts.map((a) => [CHART[a].code as string, a]))
  let query = db
    .selectFrom('journal_lines as l')
    .innerJoin('journal_entries as e', 'e.id', 'l.entry_id')
    .select(['e.currency', 'l.account_code', sql<string>`sum(l.debit_minor) - sum(l.credit_minor)`.as('balance')])
    .where('l.party_id', '=', partyId)
    .where('l.account_code', 'in', [...codes.keys()])
    .groupBy(['e.currency', 'l.account_code'])
    .orderBy('e.currency')
    .orderBy('l.account_code')
  if (currency) query = query.where('e.currency', '=', currency)
  return (await query.execute()).map((r) => ({ currency: r.currency, account: codes.get(r.account_code)!, balance: BigInt(r.balance) }))
}

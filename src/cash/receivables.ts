import { Temporal } from 'temporal-polyfill'
import { openInvoicesAsOf, type OpenInvoiceRow } from '../invoicing/invoice.service.js'
import { CHART } from '../ledger/chart.js'
import { trialBalance } from '../ledger/journal.js'
import { moneyOf, type Money } from '../money/money-value.js'
import type { CashDeps } from './payment.js'

/** Days past due, in the buckets finance reads: not yet due, then 1–30, 31–60, 61–90 and over 90 days late. */
export const AGING_BUCKETS = ['current', 'days1to30', 'days31to60', 'days61to90', 'over90'] as const
export type AgingBucket = (typeof AGING_BUCKETS)[number]

/** The bucket of an amount due on `dueDate`, seen at the end of `asOf`: due that day is still current. */
export function bucketOf(dueDate: string, asOf: string): AgingBucket {
  const late = Temporal.PlainDate.from(dueDate).until(Temporal.PlainDate.from(asOf), { largestUnit: 'days' }).days
  if (late <= 0) return 'current'
  if (late <= 30) return 'days1to30'
  if (late <= 60) return 'days31to60'
  if (late <= 90) return 'days61to90'
  return 'over90'
}

export type Buckets = Record<AgingBucket, Money> & { total: Money }

export interface AgingReport {
  asOf: string
  currencies: Array<{
    currency: string
    accounts: Array<{ accountId: string; buckets: Buckets; invoices: number }>
    totals: Buckets
    /** The journal's receivable (411) as of the same day: equal to the total, or the books and the invoices disagree. */
    ledgerReceivable: Money
    agrees: boolean
  }>
}

function emptyBuckets(currency: string): Buckets {
  const zero = moneyOf(0n, currency)
  return { current: zero, days1to30: zero, days31to60: zero, days61to90: zero, over90: zero, total: zero }
}

function add(b: Buckets, bucket: AgingBucket, minor: bigint): Buckets {
  const currency = b.total.currency
  return { ...b, [bucket]: moneyOf(b[bucket].minor + minor, currency), total: moneyOf(b.total.minor + minor, currency) }
}

/** Ages open invoices into buckets per account and in total, per currency (pure: the rows as of a day in, the report out). */
export function ageInvoices(rows: readonly OpenInvoiceRow[], asOf: string): Omit<AgingReport['currencies'][number], 'ledgerReceivable' | 'agrees'>[] {
  const currencies = [...new Set(rows.map((r) => r.currency))].sort()
  return currencies.map((currency) => {
    const own = rows.filter((r) => r.currency === currency)
    const accounts = new Map<string, { buckets: Buckets; invoices: number }>()
    let totals = emptyBuckets(currency)
    for (const r of own) {
      const bucket = bucketOf(r.dueDate, asOf)
      const a = accounts.get(r.accountId) ?? { buckets: emptyBuckets(currency), invoices: 0 }
      accounts.set(r.accountId, { buckets: add(a.buckets, bucket, r.openMinor), invoices: a.invoices + 1 })
      totals = add(totals, bucket, r.openMinor)
    }
    return { currency, accounts: [...accounts].map(([accountId, a]) => ({ accountId, ...a })), totals }
  })
}

/**
 * Receivables ageing at the end of a day: each invoice's amount open then (its total less the
 * credit notes and allocations dated by that day), by days past due, per account and in
 * total, per currency — beside the journal's receivable balance of that day, which must be
 * the same amount.
 */
export async function agingReport(deps: CashDeps, asOf: string, filter: { currency?: string } = {}): Promise<AgingReport> {
  const aged = ageInvoices(await openInvoicesAsOf(deps.db, asOf, filter), asOf)
  const ledger = (await trialBalance(deps.db, asOf)).filter((r) => r.accountCode === CHART.receivable.code)
  const currencies = filter.currency ? [filter.currency] : [...new Set([...aged.map((a) => a.currency), ...ledger.map((l) => l.currency)])].sort()
  return {
    asOf,
    currencies: currencies.map((currency) => {
      const a = aged.find((x) => x.currency === currency) ?? { currency, accounts: [], totals: emptyBuckets(currency) }
      const ledgerMinor = ledger.find((l) => l.currency === currency)?.balance ?? 0n
      return { ...a, ledgerReceivable: moneyOf(ledgerMinor, currency), agrees: ledgerMinor === a.totals.total.minor }
    }),
  }
}

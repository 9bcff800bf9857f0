/**
 * The accounts QTC posts to, numbered after the French chart of accounts (plan comptable
 * général), so an accountant reads the journal and the trial balance as they are.
 */
export const CHART = {
  receivable: { code: '411', name: 'Clients' },
  cash: { code: '512', name: 'Banque' },
  bankFees: { code: '627', name: 'Services bancaires et assimilés' },
  customerCredit: { code: '4191', name: 'Clients – avances et acomptes reçus' },
  vatCollected: { code: '44571', name: 'TVA collectée' },
  deferredRevenue: { code: '487', name: 'Produits constatés d’avance' },
  servicesRevenue: { code: '706', name: 'Prestations de services' },
  goodsRevenue: { code: '707', name: 'Ventes de marchandises' },
} as const

export type LedgerAccount = keyof typeof CHART

/** An account's name by its code, for the trial balance; unknown codes have none. */
export function accountName(code: string): string | null {
  return Object.values(CHART).find((a) => a.code === code)?.name ?? null
}

/**
 * Where an invoice line's revenue goes: a subscription (ratable) is billed in advance, so it is
 * deferred until its period is served; goods and services delivered are revenue when invoiced.
 */
export function revenueAccountOf(line: { revenueTreatment: 'point_in_time' | 'ratable'; productTaxCategory: string }): LedgerAccount {
  if (line.revenueTreatment === 'ratable') return 'deferredRevenue'
  return line.productTaxCategory === 'goods' ? 'goodsRevenue' : 'servicesRevenue'
}

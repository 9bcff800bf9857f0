import { roundDiv } from '../money/money.js'

/**
 * The VAT of an invoice: per VAT category and rate, the taxable base is the sum of its lines'
 * net amounts and the tax is computed once on that base, rounded half-up to the currency's
 * minor unit — EN 16931 (BR-CO-17) wants the tax per rate from the base, not a sum of rounded
 * line taxes, and half-up is the rounding French invoices use.
 */

export interface TaxedLine {
  net: bigint
  vatCategory: string
  /** Hundredths of a percent: 20 % = 2000. */
  vatRateBp: number
  vatMention: string | null
  vatExemptionCode: string | null
}

export interface VatBreakdownLine {
  vatCategory: string
  vatRateBp: number
  base: bigint
  tax: bigint
  mention: string | null
  exemptionCode: string | null
}

export function vatBreakdown(lines: readonly TaxedLine[]): VatBreakdownLine[] {
  const groups = new Map<string, VatBreakdownLine>()
  for (const line of lines) {
    const key = `${line.vatCategory}/${line.vatRateBp}`
    const group = groups.get(key) ?? {
      vatCategory: line.vatCategory,
      vatRateBp: line.vatRateBp,
      base: 0n,
      tax: 0n,
      mention: line.vatMention,
      exemptionCode: line.vatExemptionCode,
    }
    group.base += line.net
    groups.set(key, group)
  }
  const out = [...groups.values()].sort((a, b) => a.vatCategory.localeCompare(b.vatCategory) || b.vatRateBp - a.vatRateBp)
  for (const group of out) group.tax = roundDiv(group.base * BigInt(group.vatRateBp), 10_000n, 'half_up')
  return out
}

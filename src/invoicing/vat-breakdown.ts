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

/** A rate of an invoice's breakdown, in minor units. */
export interface InvoiceRate {
  category: string
  rateBp: number
  base: bigint
  tax: bigint
  mention: string | null
  exemptionCode: string | null
}

/**
 * The VAT a credit note reverses, per rate of the invoice: computed once on the credited base
 * (half-up), never more than the rate's tax not yet reversed, and exactly that remainder for
 * the credit that completes the rate's base — so the credit notes of an invoice reverse its
 * VAT to the cent, whatever the steps. `before` is what earlier credit notes reversed, by
 * `category/rateBp`.
 */
export function creditedVat(
  rates: readonly InvoiceRate[],
  before: ReadonlyMap<string, { base: bigint; tax: bigint }>,
  lines: ReadonlyArray<{ net: bigint; vatCategory: string; vatRateBp: number }>,
): InvoiceRate[] {
  const out: InvoiceRate[] = []
  for (const rate of rates) {
    const key = `${rate.category}/${rate.rateBp}`
    const base = lines.filter((l) => `${l.vatCategory}/${l.vatRateBp}` === key).reduce((s, l) => s + l.net, 0n)
    if (base === 0n) continue
    const earlier = before.get(key) ?? { base: 0n, tax: 0n }
    const taxLeft = rate.tax - earlier.tax
    const computed = roundDiv(base * BigInt(rate.rateBp), 10_000n, 'half_up')
    const tax = earlier.base + base === rate.base ? taxLeft : computed < taxLeft ? computed : taxLeft
    out.push({ ...rate, base, tax })
  }
  return out
}

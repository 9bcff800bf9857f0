import { currencyExponent } from '../money/currency.js'
import type { Money } from '../money/money-value.js'
import { DEFAULT_PAYMENT_TERMS_DAYS } from './cart.schema.js'
import type { Context, WorkLine } from './context.js'
import type { GuardrailOutcome, PricedLine, Totals } from './evaluation.js'
import { percentNumber } from './pricing.js'

/**
 * The facts rules see — `line`, `quote` — built from the work lines, then from the priced
 * ones. Facts are numbers in major units for comparisons only: no amount is computed from them
 * (see rules/facts.ts for which set sees which facts).
 */

/** A fact number in major units (39.9 for 39.90 EUR). */
function majorNumber(money: Money): number {
  return Number(money.minor) / 10 ** currencyExponent(money.currency)
}

/**
 * The `line` fact. Built as one object literal with every property (priced ones undefined
 * before pricing): a stable shape, and no object spread, which is slow on hot paths.
 */
export function lineFacts(line: WorkLine, index: number, lines: WorkLine[], scale: number, priced?: PricedLine): Record<string, unknown> {
  return {
    index,
    sku: line.product.sku,
    name: line.product.name,
    family: line.product.family,
    category: line.product.category,
    type: line.product.type,
    unit: line.product.unit,
    billingPeriod: line.product.billingPeriod ?? null,
    quantity: line.quantity,
    termMonths: line.termMonths,
    startDate: line.startDate,
    options: line.options,
    source: line.source,
    parentSku: line.parentIndex === null ? null : lines[line.parentIndex]!.product.sku,
    manualDiscountPercent: line.manualDiscount ? Number(line.manualDiscount.text) : 0,
    listUnitPrice: Number(line.entry.listMinor) / scale,
    unitCost: line.entry.costMinor === null ? null : Number(line.entry.costMinor) / scale,
    netUnitPrice: priced ? Number(priced.netUnitPrice.units) / 10 ** priced.netUnitPrice.decimals : undefined,
    netAmount: priced ? Number(priced.netAmount.minor) / scale : undefined,
    contractAmount: priced ? Number(priced.contractAmount.minor) / scale : undefined,
    discountPercent: priced ? percentNumber(priced.discountHundredths) : undefined,
    offListPercent: priced ? percentNumber(priced.offListHundredths) : undefined,
    marginPercent: priced ? (priced.marginHundredths === null ? null : percentNumber(priced.marginHundredths)) : undefined,
  }
}

/** The `quote` fact before pricing: what the cart holds. */
export function quoteFacts(ctx: Context, lines: WorkLine[]): Record<string, unknown> {
  const quantityBySku: Record<string, number> = {}
  const quantityByCategory: Record<string, number> = {}
  for (const l of lines) {
    quantityBySku[l.product.sku] = (quantityBySku[l.product.sku] ?? 0) + l.quantity
    quantityByCategory[l.product.category] = (quantityByCategory[l.product.category] ?? 0) + l.quantity
  }
  const unique = (values: string[]) => [...new Set(values)].sort()
  return {
    currency: ctx.cart.currency,
    date: ctx.cart.date,
    channel: ctx.channel,
    promoCodes: ctx.cart.promoCodes ?? [],
    paymentTermsDays: ctx.cart.paymentTermsDays ?? DEFAULT_PAYMENT_TERMS_DAYS,
    priceBookId: ctx.book.id,
    skus: unique(lines.map((l) => l.product.sku)),
    families: unique(lines.map((l) => l.product.family)),
    categories: unique(lines.map((l) => l.product.category)),
    lineCount: lines.length,
    hasRecurring: lines.some((l) => l.product.type === 'recurring'),
    maxTermMonths: lines.reduce((max, l) => Math.max(max, l.termMonths ?? 0), 0),
    quantityBySku,
    quantityByCategory,
  }
}

/** The `quote` fact after pricing: totals and extremes, and the guardrail outcome once guarded. */
export function pricedQuoteFacts(base: Record<string, unknown>, lines: PricedLine[], totals: Totals, outcome?: GuardrailOutcome): Record<string, unknown> {
  const margins = lines.filter((l) => l.marginHundredths !== null).map((l) => percentNumber(l.marginHundredths!))
  return {
    ...base,
    listTotal: majorNumber(totals.list),
    netTotal: majorNumber(totals.net),
    oneTimeTotal: majorNumber(totals.oneTime),
    annualRecurringTotal: majorNumber(totals.annualRecurring),
    discountPercent: percentNumber(totals.discountHundredths),
    // reduce, not Math.max(...spread): a spread of 100,000+ values overflows the call stack.
    maxLineDiscountPercent: lines.reduce((max, l) => Math.max(max, percentNumber(l.discountHundredths)), 0),
    minLineMarginPercent: margins.length ? margins.reduce((min, m) => Math.min(min, m)) : null,
    ...(outcome ? { guardrailOutcome: outcome } : {}),
  }
}

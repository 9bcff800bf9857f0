import Big from 'big.js'
import type { Tiering } from '../catalog/catalog.js'
import { formatScaled, roundDiv } from '../money/money.js'
import { percentOfRate, type Rate } from './rate.js'

/**
 * Pure pricing arithmetic. Quantities are carried in thousandths (`qtyMilli`) so services
 * sold in fractions of a day stay exact; every division rounds half-even to the minor unit,
 * once, at the line level (never per unit then multiplied, which would compound rounding).
 */
export const MILLI = 1000n

/** Whole-number quantity in thousandths, or null when it has more than 3 decimals. */
export function toQtyMilli(quantity: number): bigint | null {
  if (Number.isSafeInteger(quantity)) return BigInt(quantity) * MILLI
  const milli = new Big(String(quantity)).times(1000)
  return milli.round(0, Big.roundDown).eq(milli) ? BigInt(milli.toFixed(0)) : null
}

/** unit price × quantity, rounded half-even to the minor unit. */
export function extend(unitMinor: bigint, qtyMilli: bigint): bigint {
  return roundDiv(unitMinor * qtyMilli, MILLI, 'half_even')
}

/**
 * A tiered amount for a quantity. `range`: the whole quantity at the unit price of the tier
 * it falls in. `slab`: each tier prices the slice of the quantity inside it (like tax brackets).
 * Tiers ascend and the last is open (checked at load time).
 */
export function tieredAmount(tiering: Tiering, qtyMilli: bigint): { amountMinor: bigint; tierIndex: number } {
  const { tiers } = tiering
  if (tiering.mode === 'range') {
    const index = tiers.findIndex((t) => t.upTo === null || qtyMilli <= BigInt(t.upTo) * MILLI)
    const tier = tiers[index]!
    return { amountMinor: extend(tier.unitMinor, qtyMilli), tierIndex: index }
  }
  let exact = 0n
  let previous = 0n
  let lastIndex = 0
  for (const [i, tier] of tiers.entries()) {
    const upper = tier.upTo === null ? qtyMilli : BigInt(tier.upTo) * MILLI
    const slice = (qtyMilli < upper ? qtyMilli : upper) - previous
    if (slice <= 0n) break
    exact += tier.unitMinor * slice
    lastIndex = i
    previous = upper
  }
  return { amountMinor: roundDiv(exact, MILLI, 'half_even'), tierIndex: lastIndex }
}

/** The discount of `percent` off an amount, as a negative adjustment; never takes the amount below zero. */
export function percentOff(runningMinor: bigint, percent: Rate): bigint {
  const off = percentOfRate(runningMinor, percent)
  return clampAdjustment(runningMinor, -off)
}

/** An adjustment limited so the running amount stays at or above zero. */
export function clampAdjustment(runningMinor: bigint, adjustmentMinor: bigint): bigint {
  return runningMinor + adjustmentMinor < 0n ? -runningMinor : adjustmentMinor
}

export interface RampYear {
  /** Contract year, 1-based. */
  year: number
  /** Billing periods in this year (the last year of an 18-month term has 6 monthly periods). */
  periods: number
  amountPerPeriodMinor: bigint
  amountMinor: bigint
}

/**
 * Year-by-year amounts of a recurring line. Each year's per-period amount is the previous
 * year's raised by `upliftPercent`, rounded half-even, so every figure on the schedule is
 * the exact amount that will be invoiced.
 */
export function rampSchedule(perPeriodMinor: bigint, termMonths: number, periodMonths: number, upliftPercent: Rate | null): RampYear[] {
  const years: RampYear[] = []
  let amount = perPeriodMinor
  for (let start = 0, year = 1; start < termMonths; start += 12, year++) {
    if (year > 1 && upliftPercent) amount = amount + percentOfRate(amount, upliftPercent)
    const months = Math.min(12, termMonths - start)
    const periods = Math.ceil(months / periodMonths)
    years.push({ year, periods, amountPerPeriodMinor: amount, amountMinor: amount * BigInt(periods) })
  }
  return years
}

/**
 * Percentages (discount, margin, cost coverage) are computed once, from the amounts actually
 * charged, as hundredths of a percent rounded half-even: "10.00" is 1000n. That one figure is
 * what the response shows, what rule facts compare (10) and what guardrails check, so a rep
 * who sees 10.00 % is never sent to a manager for 10.001 %.
 */
export const PERCENT_DECIMALS = 2

/** part/whole in hundredths of a percent, rounded half-even; null when the whole is zero. */
export function percentHundredths(part: bigint, whole: bigint): bigint | null {
  if (whole === 0n) return null
  return roundDiv(part * 10_000n, whole, 'half_even')
}

/** A percentage in hundredths as shown: 1000n → "10.00". */
export function formatPercent(hundredths: bigint): string {
  return formatScaled(hundredths, PERCENT_DECIMALS)
}

/** A percentage in hundredths as the plain number rule facts compare (1000n → 10). */
export function percentNumber(hundredths: bigint): number {
  return Number(hundredths) / 100
}

/** At most this many decimals beyond the currency's are needed for any quantity QTC accepts (≤ 10^7, in thousandths). */
const MAX_EXTRA_UNIT_DECIMALS = 8

/**
 * The net unit price of a line with just enough decimals that `unit × quantity`, rounded
 * half-even to the minor unit, gives back the line's net amount exactly: 6,334.20 for 120
 * seats is 52.785, not 52.78 (which would give 6,333.60). Most lines need no extra decimal.
 * The value is `units × 10^-decimals` in major units.
 */
export function netUnitPrice(netMinor: bigint, qtyMilli: bigint, exponent: number): { units: bigint; decimals: number } {
  for (let extra = 0; extra <= MAX_EXTRA_UNIT_DECIMALS; extra++) {
    const scale = 10n ** BigInt(extra)
    const units = roundDiv(netMinor * MILLI * scale, qtyMilli, 'half_even')
    if (roundDiv(units * qtyMilli, MILLI * scale, 'half_even') === netMinor) return { units, decimals: exponent + extra }
  }
  // Unreachable for quantities below 10^7 (the cart limit): the error of the last candidate is below half a minor unit.
  throw new Error(`Assertion failed: no unit price with ${MAX_EXTRA_UNIT_DECIMALS} extra decimals reproduces ${netMinor} for ${qtyMilli} thousandths`)
}

import Big from 'big.js'
import type { Tiering } from '../catalog/catalog.js'
import { roundDiv } from '../money/money.js'
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

/** (part / whole) in percent as a JS number for rule facts (comparisons only, never stored). */
export function ratioPercent(part: bigint, whole: bigint): number {
  if (whole === 0n) return 0
  return Number(roundDiv(part * 1_000_000n, whole, 'half_even')) / 10_000
}

import { MoneyError, parseFraction, roundDiv, type Fraction } from '../money/money.js'

/**
 * Percentages and other decimal factors from rules and carts, held as exact fractions.
 * Rule sets repeat the same few values ("10", "5") on thousands of lines, so parsing is
 * memoised (bounded): pricing a line is then integer arithmetic only.
 */
export interface Rate extends Fraction {
  /** The decimal as written, for the explanation ("12.5"). */
  text: string
}

const MAX_CACHED = 10_000
const cache = new Map<string, Rate>()

/** The exact rate of a decimal string or finite number; throws MoneyError for anything else. */
export function rateOf(value: string | number): Rate {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new MoneyError('INVALID_AMOUNT', `not a finite number: ${value}`)
  // A JS number goes through its shortest decimal form, so 0.1 stays 0.1; exponent forms are refused by the parser.
  const text = typeof value === 'number' ? String(value) : value
  let rate = cache.get(text)
  if (!rate) {
    rate = { ...parseFraction(text, { maxFractionDigits: 30 }), text }
    if (cache.size >= MAX_CACHED) cache.clear()
    cache.set(text, rate)
  }
  return rate
}

/** percent % of an amount, rounded half-even: the discount a rate takes off. */
export function percentOfRate(minor: bigint, percent: Rate): bigint {
  return roundDiv(minor * percent.num, percent.den * 100n, 'half_even')
}

/** Compares a/b (with b > 0) with a rate: -1, 0 or 1. Exact. */
export function compareRatio(part: bigint, whole: bigint, rate: Rate): number {
  const left = part * rate.den
  const right = rate.num * whole
  return left < right ? -1 : left > right ? 1 : 0
}

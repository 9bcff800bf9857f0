import Big from 'big.js'
import { currencyExponent, MoneyError } from './currency.js'

export { MoneyError } from './currency.js'
export type { MoneyErrorCode } from './currency.js'

/** Rounding direction for a value that falls between two integers; 'down'/'up' are toward/away from zero. */
export type RoundingMode = 'half_even' | 'half_up' | 'down' | 'up' | 'floor' | 'ceil'

// 15 integer digits keeps |minor| < 10^18 even for 3-decimal currencies, which fits a
// Postgres bigint (~9.22e18) and leaves headroom for summing many lines.
const MAX_INTEGER_DIGITS = 15
const DEFAULT_MAX_FRACTION_DIGITS = 10

// Deliberately narrower than what Big or Number accept: no exponent, no '+', no
// whitespace, no bare '.' — so one amount has exactly one spelling in an API payload.
const DECIMAL_RE = /^(-?)([0-9]+)(?:\.([0-9]+))?$/

/** An exact decimal as num/den (den a power of ten). */
export interface Fraction {
  num: bigint
  den: bigint
}

interface ParsedDecimal {
  negative: boolean
  intDigits: string
  fracDigits: string
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n)
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x
}

function assertMinor(value: unknown, what: string): asserts value is bigint {
  // pg hands back int8 columns as strings and JSON has no bigint, so a plain number or
  // string arriving here is a real bug path that would otherwise coerce silently.
  if (typeof value !== 'bigint') {
    throw new MoneyError('INVALID_AMOUNT', `${what} must be a bigint of minor units, got ${typeof value}`)
  }
}

function assertDigitLimit(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${String(value)}`)
  }
}

function parseStrict(value: unknown, maxIntegerDigits: number, maxFractionDigits: number): ParsedDecimal {
  if (typeof value !== 'string') {
    throw new MoneyError('INVALID_AMOUNT', `amount must be a decimal string, got ${typeof value}`)
  }
  const m = DECIMAL_RE.exec(value)
  if (m === null) {
    throw new MoneyError('INVALID_AMOUNT', `not a plain decimal number: ${JSON.stringify(value.slice(0, 64))}`)
  }
  const fracDigits = m[3] ?? ''
  if (fracDigits.length > maxFractionDigits) {
    throw new MoneyError('TOO_MANY_DECIMALS', `at most ${maxFractionDigits} decimal places allowed, got ${fracDigits.length}`)
  }
  // Leading zeros are harmless padding; the limit is about magnitude, not spelling.
  const intDigits = (m[2] as string).replace(/^0+/, '') // group 2 is mandatory in DECIMAL_RE
  if (intDigits.length > maxIntegerDigits) {
    throw new MoneyError('OUT_OF_RANGE', `at most ${maxIntegerDigits} integer digits allowed, got ${intDigits.length}`)
  }
  return { negative: m[1] === '-', intDigits, fracDigits }
}

function parsedToFraction(p: ParsedDecimal): Fraction {
  const magnitude = BigInt((p.intDigits || '0') + p.fracDigits)
  return { num: p.negative ? -magnitude : magnitude, den: pow10(p.fracDigits.length) }
}

function bigToFraction(b: Big): Fraction {
  // toFixed() with no argument is exact and never uses exponent notation, unlike toString().
  const p = parseStrict(b.toFixed(), Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
  return parsedToFraction(p)
}

/** Format an integer scaled by 10^digits; invariant: exactly `digits` fractional digits, '-' only when value < 0. */
export function formatScaled(value: bigint, digits: number): string {
  const sign = value < 0n ? '-' : ''
  const s = abs(value).toString()
  if (digits === 0) return sign + s
  const padded = s.padStart(digits + 1, '0')
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}`
}

function toBigFactor(value: unknown): Big {
  if (value instanceof Big) return value
  if (typeof value === 'string') return parseDecimal(value)
  throw new MoneyError('INVALID_AMOUNT', `expected a Big or decimal string, got ${typeof value}`)
}

/** Invariant: returns the integer nearest to numerator/denominator in the direction `mode` prescribes; exact for any bigint sizes. */
export function roundDiv(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  if (denominator === 0n) {
    // A zero divisor is a caller bug (e.g. an unguarded empty total), not bad user data, so no MoneyError.
    throw new RangeError('roundDiv: division by zero')
  }
  // Normalising the divisor to positive leaves one sign to reason about.
  const n = denominator < 0n ? -numerator : numerator
  const d = abs(denominator)
  const q = n / d // bigint division truncates toward zero
  const r = n % d // carries the sign of n
  if (r === 0n) return q
  const away = n < 0n ? q - 1n : q + 1n
  const twiceRem = 2n * abs(r)
  switch (mode) {
    case 'down':
      return q
    case 'up':
      return away
    case 'floor':
      return n < 0n ? away : q
    case 'ceil':
      return n > 0n ? away : q
    case 'half_up':
      return twiceRem >= d ? away : q
    case 'half_even':
      if (twiceRem > d) return away
      if (twiceRem < d) return q
      return q % 2n === 0n ? q : away
    default: {
      // Reached only from untyped callers; a config typo must fail loudly rather than round silently.
      const unknownMode: never = mode
      throw new TypeError(`unknown rounding mode ${JSON.stringify(unknownMode)}`)
    }
  }
}

/** Invariant: returns the exact minor-unit bigint for a plain decimal string with ≤ exponent decimals and ≤ 15 integer digits, else throws MoneyError. */
export function parseAmount(decimal: string, currency: string): bigint {
  const exponent = currencyExponent(currency)
  const p = parseStrict(decimal, MAX_INTEGER_DIGITS, exponent)
  // Right-pad instead of scaling a Big: "1.5" EUR is 150n by construction, no rounding possible.
  const magnitude = BigInt((p.intDigits || '0') + p.fracDigits.padEnd(exponent, '0'))
  return p.negative ? -magnitude : magnitude
}

/** Invariant: output has exactly `exponent` fractional digits and parseAmount(formatAmount(x, c), c) === x for in-range x. */
export function formatAmount(minor: bigint, currency: string): string {
  assertMinor(minor, 'amount')
  return formatScaled(minor, currencyExponent(currency))
}

/** Invariant: returns an exact Big for a plain decimal string within the digit limits (defaults 15 integer / 10 fraction), else throws MoneyError. */
export function parseDecimal(value: string, opts?: { maxIntegerDigits?: number; maxFractionDigits?: number }): Big {
  const maxInt = opts?.maxIntegerDigits ?? MAX_INTEGER_DIGITS
  const maxFrac = opts?.maxFractionDigits ?? DEFAULT_MAX_FRACTION_DIGITS
  assertDigitLimit(maxInt, 'maxIntegerDigits')
  assertDigitLimit(maxFrac, 'maxFractionDigits')
  const p = parseStrict(value, maxInt, maxFrac)
  // Rebuild from the validated parts so "-0.0" becomes a plain zero rather than Big's signed zero.
  const { num } = parsedToFraction(p)
  if (num === 0n) return new Big(0)
  return new Big(formatScaled(num, p.fracDigits.length))
}

/** Invariant: the exact value of a decimal string as num/10^k; same syntax and limits as parseDecimal. */
export function parseFraction(value: string, opts?: { maxIntegerDigits?: number; maxFractionDigits?: number }): Fraction {
  return parsedToFraction(parseStrict(value, opts?.maxIntegerDigits ?? MAX_INTEGER_DIGITS, opts?.maxFractionDigits ?? DEFAULT_MAX_FRACTION_DIGITS))
}

/** Invariant: returns the major-unit value rounded to an integer of minor units with `mode`, no float step; |result| < 10^(15+exponent). */
export function toMinorUnits(value: Big | number | string, currency: string, mode: RoundingMode): bigint {
  const exponent = currencyExponent(currency)
  let big: Big
  if (value instanceof Big) {
    big = value
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new MoneyError('INVALID_AMOUNT', `amount must be a finite number, got ${String(value)}`)
    }
    // String(n) is the shortest round-tripping decimal, so 0.1 stays 0.1 rather than
    // 0.1000000000000000055511151231257827...; rounding then happens only once, below.
    big = new Big(String(value))
  } else if (typeof value === 'string') {
    // Computed values (rule outputs) may carry any number of decimals; only the integer part is capped.
    const p = parseStrict(value, MAX_INTEGER_DIGITS, Number.MAX_SAFE_INTEGER)
    const f = parsedToFraction(p)
    return finishMinor(f, exponent, mode)
  } else {
    throw new MoneyError('INVALID_AMOUNT', `amount must be a Big, number or decimal string, got ${typeof value}`)
  }
  // Checked before expanding digits so a Big like 1e+1000000 cannot allocate a huge string.
  if (big.abs().gte(new Big(10).pow(MAX_INTEGER_DIGITS))) {
    throw new MoneyError('OUT_OF_RANGE', `amount exceeds ${MAX_INTEGER_DIGITS} integer digits`)
  }
  return finishMinor(bigToFraction(big), exponent, mode)
}

function finishMinor(f: Fraction, exponent: number, mode: RoundingMode): bigint {
  const minor = roundDiv(f.num * pow10(exponent), f.den, mode)
  // Re-checked after rounding: 999999999999999.999 EUR rounds up to 16 integer digits.
  if (abs(minor) >= pow10(MAX_INTEGER_DIGITS + exponent)) {
    throw new MoneyError('OUT_OF_RANGE', `amount exceeds ${MAX_INTEGER_DIGITS} integer digits`)
  }
  return minor
}

/** Invariant: returns minor × percent / 100 computed exactly and rounded once with `mode`. */
export function percentOf(minor: bigint, percent: Big | string, mode: RoundingMode): bigint {
  assertMinor(minor, 'amount')
  const f = bigToFraction(toBigFactor(percent))
  return roundDiv(minor * f.num, f.den * 100n, mode)
}

/** Invariant: returns minor × factor computed exactly and rounded once with `mode`. */
export function multiplyDecimal(minor: bigint, factor: Big | string, mode: RoundingMode): bigint {
  assertMinor(minor, 'amount')
  const f = bigToFraction(toBigFactor(factor))
  return roundDiv(minor * f.num, f.den, mode)
}

/** Invariant: shares sum exactly to total, each is the floor or ceil of total×wᵢ/Σw, leftovers go to largest remainders then lowest index. */
export function allocate(total: bigint, weights: readonly bigint[]): bigint[] {
  assertMinor(total, 'total')
  if (weights.length === 0) {
    throw new MoneyError('INVALID_AMOUNT', 'allocate: weights must not be empty')
  }
  for (const w of weights) {
    assertMinor(w, 'weight')
    if (w < 0n) throw new MoneyError('INVALID_AMOUNT', 'allocate: weights must be non-negative')
  }
  // Mirroring keeps the tie-break identical for credits and debits: allocate(-t) === -allocate(t).
  if (total < 0n) return allocate(-total, weights).map((x) => -x)

  let sumW = sumMinor(weights)
  // All-zero weights (e.g. every line free) still need a deterministic split, so treat them as equal.
  const ws = sumW === 0n ? weights.map(() => 1n) : weights
  if (sumW === 0n) sumW = BigInt(ws.length)

  const shares: bigint[] = []
  const remainders: bigint[] = []
  let assigned = 0n
  for (const w of ws) {
    const exact = total * w
    const share = exact / sumW
    shares.push(share)
    remainders.push(exact % sumW)
    assigned += share
  }
  let leftover = total - assigned // always < ws.length, and never more than the non-zero remainders

  const order = ws.map((_, i) => i)
  order.sort((a, b) => {
    const ra = remainders[a] as bigint
    const rb = remainders[b] as bigint
    if (ra !== rb) return ra > rb ? -1 : 1
    return a - b
  })
  for (const i of order) {
    if (leftover === 0n) break
    shares[i] = (shares[i] as bigint) + 1n
    leftover -= 1n
  }
  return shares
}

/** Invariant: returns the exact bigint sum (0n for an empty list). */
export function sumMinor(values: readonly bigint[]): bigint {
  let sum = 0n
  for (const v of values) {
    assertMinor(v, 'value')
    sum += v
  }
  return sum
}

/** Invariant: returns part/whole×100 rounded half-even to exactly `fractionDigits` decimals; a zero whole yields zero, not an error. */
export function percentFromRatio(part: bigint, whole: bigint, fractionDigits: number): string {
  assertMinor(part, 'part')
  assertMinor(whole, 'whole')
  assertDigitLimit(fractionDigits, 'fractionDigits')
  // A 0% share of a zero total is the useful answer for reports (e.g. discount on a free quote).
  if (whole === 0n) return formatScaled(0n, fractionDigits)
  return formatScaled(roundDiv(part * 100n * pow10(fractionDigits), whole, 'half_even'), fractionDigits)
}

/** The smaller of amounts in minor units (Math.min takes no bigint). */
export function minMinor(first: bigint, ...rest: readonly bigint[]): bigint {
  // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint
  return rest.reduce((m, v) => (v < m ? v : m), first)
}

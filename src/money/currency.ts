import currencyCodes from 'currency-codes'

/** Machine-readable reason for a MoneyError; every code means "the caller sent bad data" (HTTP 422). */
export type MoneyErrorCode = 'UNKNOWN_CURRENCY' | 'INVALID_AMOUNT' | 'TOO_MANY_DECIMALS' | 'OUT_OF_RANGE'

/** Invariant: thrown only for bad input data, never for internal bugs, so it is always safe to map to HTTP 422. */
export class MoneyError extends Error {
  readonly code: MoneyErrorCode

  constructor(code: MoneyErrorCode, message: string) {
    super(message)
    this.name = 'MoneyError'
    this.code = code
  }
}

interface CurrencyInfo {
  readonly exponent: number
  readonly name: string
}

// Codes a seller cannot invoice in: funds codes (BOV, CLF, COU…), precious metals, special
// drawing rights, testing and "no currency" codes. They are in ISO 4217 but not money here.
const NOT_INVOICEABLE = new Set([
  'BOV',
  'CHE',
  'CHW',
  'CLF',
  'COU',
  'MXV',
  'USN',
  'UYI',
  'UYW',
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
])

// Exponents are the ISO 4217 "minor unit" column, from a maintained copy of the standard
// (currency-codes), not what a country uses in practice (e.g. HUF and ISK coins): amounts must
// round-trip with banks and tax authorities, which follow ISO.
const TABLE: Record<string, CurrencyInfo> = Object.fromEntries(
  currencyCodes.data.filter((c) => !NOT_INVOICEABLE.has(c.code) && [0, 2, 3].includes(c.digits)).map((c) => [c.code, { exponent: c.digits, name: c.currency }]),
)

for (const info of Object.values(TABLE)) Object.freeze(info)

/** Invariant: frozen; keys are upper-case ISO 4217 alphabetic codes, exponent is the ISO minor-unit count (0, 2 or 3). */
export const CURRENCIES: Readonly<Record<string, { exponent: number; name: string }>> = Object.freeze(TABLE)

/** Invariant: true only for an exact (case-sensitive) key of CURRENCIES, never for inherited names like "toString". */
export function isCurrency(code: string): boolean {
  // Object.hasOwn, not `in`: a request body saying currency "constructor" must not pass.
  return typeof code === 'string' && Object.hasOwn(CURRENCIES, code)
}

/** Invariant: returns CURRENCIES[code].exponent, or throws MoneyError UNKNOWN_CURRENCY. */
export function currencyExponent(code: string): number {
  if (!isCurrency(code)) {
    throw new MoneyError('UNKNOWN_CURRENCY', `unknown currency ${JSON.stringify(String(code))}`)
  }
  return (CURRENCIES[code] as CurrencyInfo).exponent
}

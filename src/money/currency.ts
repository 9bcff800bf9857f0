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

// Exponents are the ISO 4217 "minor unit" column, not what a country uses in practice
// (e.g. HUF and ISK coins): amounts must round-trip with banks and tax authorities,
// which follow ISO. Codes slated for withdrawal or that are funds/units of account
// (CLF, UYI, XDR...) are left out because a seller cannot invoice in them.
const TABLE: Record<string, CurrencyInfo> = {
  AED: { exponent: 2, name: 'UAE Dirham' },
  ARS: { exponent: 2, name: 'Argentine Peso' },
  AUD: { exponent: 2, name: 'Australian Dollar' },
  BGN: { exponent: 2, name: 'Bulgarian Lev' },
  BHD: { exponent: 3, name: 'Bahraini Dinar' },
  BRL: { exponent: 2, name: 'Brazilian Real' },
  CAD: { exponent: 2, name: 'Canadian Dollar' },
  CHF: { exponent: 2, name: 'Swiss Franc' },
  CLP: { exponent: 0, name: 'Chilean Peso' },
  CNY: { exponent: 2, name: 'Yuan Renminbi' },
  COP: { exponent: 2, name: 'Colombian Peso' },
  CZK: { exponent: 2, name: 'Czech Koruna' },
  DKK: { exponent: 2, name: 'Danish Krone' },
  EGP: { exponent: 2, name: 'Egyptian Pound' },
  EUR: { exponent: 2, name: 'Euro' },
  GBP: { exponent: 2, name: 'Pound Sterling' },
  HKD: { exponent: 2, name: 'Hong Kong Dollar' },
  HUF: { exponent: 2, name: 'Forint' },
  IDR: { exponent: 2, name: 'Rupiah' },
  ILS: { exponent: 2, name: 'New Israeli Sheqel' },
  INR: { exponent: 2, name: 'Indian Rupee' },
  IQD: { exponent: 3, name: 'Iraqi Dinar' },
  ISK: { exponent: 0, name: 'Iceland Krona' },
  JOD: { exponent: 3, name: 'Jordanian Dinar' },
  JPY: { exponent: 0, name: 'Yen' },
  KES: { exponent: 2, name: 'Kenyan Shilling' },
  KRW: { exponent: 0, name: 'Won' },
  KWD: { exponent: 3, name: 'Kuwaiti Dinar' },
  LYD: { exponent: 3, name: 'Libyan Dinar' },
  MAD: { exponent: 2, name: 'Moroccan Dirham' },
  MXN: { exponent: 2, name: 'Mexican Peso' },
  MYR: { exponent: 2, name: 'Malaysian Ringgit' },
  NGN: { exponent: 2, name: 'Naira' },
  NOK: { exponent: 2, name: 'Norwegian Krone' },
  NZD: { exponent: 2, name: 'New Zealand Dollar' },
  OMR: { exponent: 3, name: 'Rial Omani' },
  PEN: { exponent: 2, name: 'Sol' },
  PHP: { exponent: 2, name: 'Philippine Peso' },
  PLN: { exponent: 2, name: 'Zloty' },
  PYG: { exponent: 0, name: 'Guarani' },
  QAR: { exponent: 2, name: 'Qatari Rial' },
  RON: { exponent: 2, name: 'Romanian Leu' },
  RSD: { exponent: 2, name: 'Serbian Dinar' },
  SAR: { exponent: 2, name: 'Saudi Riyal' },
  SEK: { exponent: 2, name: 'Swedish Krona' },
  SGD: { exponent: 2, name: 'Singapore Dollar' },
  THB: { exponent: 2, name: 'Baht' },
  TND: { exponent: 3, name: 'Tunisian Dinar' },
  TRY: { exponent: 2, name: 'Turkish Lira' },
  TWD: { exponent: 2, name: 'New Taiwan Dollar' },
  UAH: { exponent: 2, name: 'Hryvnia' },
  UGX: { exponent: 0, name: 'Uganda Shilling' },
  USD: { exponent: 2, name: 'US Dollar' },
  UYU: { exponent: 2, name: 'Peso Uruguayo' },
  VND: { exponent: 0, name: 'Dong' },
  XAF: { exponent: 0, name: 'CFA Franc BEAC' },
  XOF: { exponent: 0, name: 'CFA Franc BCEAO' },
  XPF: { exponent: 0, name: 'CFP Franc' },
  ZAR: { exponent: 2, name: 'Rand' },
}

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

import jsvat from 'jsvat-next'

// A CommonJS package whose named exports Node cannot detect: read them off the module object.
const { checkVAT, countries } = jsvat

/** The 27 member states of the European Union (ISO 3166-1 alpha-2), for the VAT rules' `account.inEu`. */
export const EU_MEMBER_STATES: ReadonlySet<string> = new Set([
  'AT',
  'BE',
  'BG',
  'CY',
  'CZ',
  'DE',
  'DK',
  'EE',
  'ES',
  'FI',
  'FR',
  'GR',
  'HR',
  'HU',
  'IE',
  'IT',
  'LT',
  'LU',
  'LV',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SE',
  'SI',
  'SK',
])

/**
 * What a VAT id says by its form: well formed for its country, check digits included
 * (jsvat-next), and the ISO country it belongs to (Greece's prefix EL is GR). A format check,
 * not a VIES lookup: it catches a mistyped number, not a deregistered one.
 */
export function vatIdFacts(vatId: string | null): { wellFormed: boolean; country: string | null } {
  if (!vatId) return { wellFormed: false, country: null }
  const result = checkVAT(vatId, countries)
  return { wellFormed: result.isValid, country: result.isValid ? (result.country?.isoCode.short ?? null) : null }
}

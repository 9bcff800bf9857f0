import countries from 'i18n-iso-countries'

/** ISO 3166-1 alpha-2 codes, from a maintained list (it also names countries, for documents later). */
const ALPHA2 = new Set(Object.keys(countries.getAlpha2Codes()))

/** Whether `code` is an assigned ISO 3166-1 alpha-2 country code, upper case ("FR"; not "fr", not "XX"). */
export function isCountry(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && ALPHA2.has(code)
}

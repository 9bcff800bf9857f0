/**
 * Checks of the French and banking identifiers a seller prints on quotes and invoices. A
 * mistyped digit in a SIREN, a VAT number or an IBAN makes an invoice non-compliant or sends a
 * payment astray, so each is checked by its own check digits when the legal-entity file loads.
 */

/** Luhn (mod 10) check of a string of digits: the key of SIREN and SIRET numbers. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** A SIREN: 9 digits whose last is a Luhn key. */
export function isSiren(value: string): boolean {
  return /^\d{9}$/.test(value) && luhnValid(value)
}

/**
 * A SIRET: the SIREN and a 5-digit establishment number, the 14 digits with a Luhn key. (La
 * Poste's establishments use another key; QTC sells as a software company, not as La Poste.)
 */
export function isSiret(value: string): boolean {
  return /^\d{14}$/.test(value) && luhnValid(value)
}

/** The 2-digit key of a French VAT number for a SIREN: (12 + 3 × (SIREN mod 97)) mod 97. */
export function frenchVatKey(siren: string): string {
  const key = (12n + 3n * (BigInt(siren) % 97n)) % 97n
  return key.toString().padStart(2, '0')
}

/** A French VAT number, `FR` + key + SIREN, whose key matches its SIREN. */
export function isFrenchVatId(value: string): boolean {
  const m = /^FR(\d{2})(\d{9})$/.exec(value)
  return m !== null && isSiren(m[2]!) && frenchVatKey(m[2]!) === m[1]
}

const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  FR: 27,
  DE: 22,
  BE: 16,
  ES: 24,
  IT: 27,
  NL: 18,
  LU: 20,
  CH: 21,
  GB: 22,
  IE: 22,
  PT: 25,
  AT: 20,
  MC: 27,
}

/**
 * An IBAN (ISO 13616) without spaces: country, 2 check digits, then the account; valid when the
 * number formed by moving the first four characters to the end, letters as 10–35, is 1 mod 97.
 * Countries with a known length are held to it.
 */
export function isIban(value: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(value)) return false
  const length = IBAN_LENGTHS[value.slice(0, 2)]
  if (length !== undefined && value.length !== length) return false
  const rearranged = value.slice(4) + value.slice(0, 4)
  const digits = rearranged.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55))
  return BigInt(digits) % 97n === 1n
}

/** A BIC (ISO 9362): bank, country, location, optional branch. */
export function isBic(value: string): boolean {
  return /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(value)
}

import { readFileSync, statSync } from 'node:fs'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { parse as parseYaml } from 'yaml'
import { isCurrency } from '../money/currency.js'
import { isCountry } from '../shared/countries.js'
import { isBic, isFrenchVatId, isIban, isSiren, isSiret } from './identifiers.js'
import { LegalEntitiesFileSchema, type LegalEntity } from './legal-entity.schema.js'

export type { LegalEntity } from './legal-entity.schema.js'

export interface LegalEntities {
  all: LegalEntity[]
  byId(id: string): LegalEntity | undefined
  /** The entity marked `default: true` (the file has exactly one). */
  default(): LegalEntity
  /**
   * Who sells a quote: the account's chosen entity if it names one, else the default entity,
   * else the first in the file — each only if it sells in the quote's currency; undefined
   * when none does (or the account's choice does not).
   */
  forSale(sale: { currency: string; sellerId: string | null }): LegalEntity | undefined
}

/** The currencies an entity sells in: its list, or its default currency alone. */
export function currenciesOf(entity: LegalEntity): readonly string[] {
  return entity.currencies ?? [entity.defaultCurrency]
}

/** Raised by `loadLegalEntities` with every problem found, each as `file /json/pointer: message`. */
export class LegalEntitiesError extends Error {
  constructor(readonly problems: string[]) {
    super(`legal entities: ${problems.join('; ')}`)
    this.name = 'LegalEntitiesError'
  }
}

const fileCheck = TypeCompiler.Compile(LegalEntitiesFileSchema)
const MAX_FILE_BYTES = 256 * 1024

/** The problems of one entity's identifiers, checked by their check digits, as `[pointer, message]`. */
export function identifierProblems(entity: LegalEntity): Array<[string, string]> {
  const problems: Array<[string, string]> = []
  if (entity.siren !== undefined && !isSiren(entity.siren)) problems.push(['/siren', `${entity.siren} fails the SIREN Luhn key`])
  if (entity.siret !== undefined) {
    if (!isSiret(entity.siret)) problems.push(['/siret', `${entity.siret} fails the SIRET Luhn key`])
    else if (entity.siren !== undefined && !entity.siret.startsWith(entity.siren)) problems.push(['/siret', `does not start with the SIREN ${entity.siren}`])
  }
  if (entity.vatId?.startsWith('FR')) {
    if (!isFrenchVatId(entity.vatId)) problems.push(['/vatId', `${entity.vatId}: the key does not match the SIREN it contains`])
    else if (entity.siren !== undefined && entity.vatId.slice(4) !== entity.siren) problems.push(['/vatId', `is not the VAT number of SIREN ${entity.siren}`])
  }
  if (entity.iban !== undefined && !isIban(entity.iban)) problems.push(['/iban', `${entity.iban} fails the IBAN mod-97 check`])
  if (entity.bic !== undefined && !isBic(entity.bic)) problems.push(['/bic', `${entity.bic} is not a BIC`])
  if (!isCountry(entity.address.country)) problems.push(['/address/country', `${entity.address.country} is not an ISO 3166-1 country code`])
  if (!isCurrency(entity.defaultCurrency)) problems.push(['/defaultCurrency', `${entity.defaultCurrency} is not an ISO 4217 currency`])
  entity.currencies?.forEach((currency, i) => {
    if (!isCurrency(currency)) problems.push([`/currencies/${i}`, `${currency} is not an ISO 4217 currency`])
  })
  if (entity.currencies && !entity.currencies.includes(entity.defaultCurrency))
    problems.push(['/currencies', `does not include the default currency ${entity.defaultCurrency}`])
  return problems
}

/**
 * Reads the sellers' file synchronously (once, at start-up): schema, identifier check digits,
 * unique ids and exactly one default. Every problem is reported at once, naming the file and
 * the JSON pointer.
 */
export function loadLegalEntities(file: string): LegalEntities {
  let content: unknown
  try {
    if (statSync(file).size > MAX_FILE_BYTES) throw new LegalEntitiesError([`${file}: larger than ${MAX_FILE_BYTES} bytes`])
    content = parseYaml(readFileSync(file, 'utf8'))
  } catch (error) {
    if (error instanceof LegalEntitiesError) throw error
    throw new LegalEntitiesError([`${file}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`])
  }
  if (!fileCheck.Check(content)) {
    throw new LegalEntitiesError([...fileCheck.Errors(content)].slice(0, 20).map((e) => `${file} ${e.path || '/'}: ${e.message}`))
  }
  const problems: string[] = []
  const ids = new Set<string>()
  // Document numbers are unique across sellers: no two sequences may share a prefix.
  const prefixes = new Map<string, string>()
  content.entities.forEach((entity, i) => {
    if (ids.has(entity.id)) problems.push(`${file} /entities/${i}/id: duplicate id ${entity.id}`)
    ids.add(entity.id)
    const own: Array<[string, string]> = [
      ['invoicePrefix', entity.invoicePrefix],
      ['creditNotePrefix', entity.creditNotePrefix ?? `${entity.invoicePrefix}-CN`],
    ]
    for (const [field, prefix] of own) {
      const taken = prefixes.get(prefix)
      if (taken) problems.push(`${file} /entities/${i}/${field}: prefix ${prefix} is already the ${taken}`)
      else prefixes.set(prefix, `${field} of ${entity.id}`)
    }
    for (const [pointer, message] of identifierProblems(entity)) problems.push(`${file} /entities/${i}${pointer}: ${message}`)
  })
  const defaults = content.entities.filter((e) => e.default === true)
  if (defaults.length !== 1) problems.push(`${file} /entities: exactly one entity must have default: true (found ${defaults.length})`)
  if (problems.length > 0) throw new LegalEntitiesError(problems)

  const all = content.entities
  const byId = new Map(all.map((e) => [e.id, e]))
  const theDefault = defaults[0]!
  const sells = (entity: LegalEntity | undefined, currency: string) => (entity && currenciesOf(entity).includes(currency) ? entity : undefined)
  return {
    all,
    byId: (id) => byId.get(id),
    default: () => theDefault,
    forSale: ({ currency, sellerId }) =>
      sellerId !== null ? sells(byId.get(sellerId), currency) : (sells(theDefault, currency) ?? all.find((e) => sells(e, currency))),
  }
}

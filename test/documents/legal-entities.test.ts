import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { frenchVatKey, isFrenchVatId, isIban, isSiren, isSiret, luhnValid } from '../../src/documents/identifiers.js'
import { type LegalEntitiesError, loadLegalEntities } from '../../src/documents/legal-entities.js'
import { ROOT } from '../helpers/documents.js'

const SHIPPED = `${ROOT}legal-entities/entities.yaml`

t.test('the shipped seller loads, with valid identifiers', async (t) => {
  const entities = loadLegalEntities(SHIPPED)
  const qtc = entities.default()
  t.equal(qtc.name, 'QTC SAS')
  t.equal(entities.byId('qtc-sas'), qtc)
  t.equal(entities.byId('nope'), undefined)
  t.equal(qtc.invoicePrefix, 'INV')
  t.equal(qtc.defaultCurrency, 'EUR')
  t.ok(isSiren(qtc.siren!))
  t.ok(isSiret(qtc.siret!) && qtc.siret!.startsWith(qtc.siren!))
  t.equal(qtc.vatId, `FR${frenchVatKey(qtc.siren!)}${qtc.siren}`)
  t.ok(isIban(qtc.iban!) && qtc.iban!.startsWith('FR76'))
})

t.test("who sells a quote: the account's choice, else by the quote's currency, the default entity first", async (t) => {
  const entities = loadLegalEntities(SHIPPED)
  t.equal(entities.forSale({ currency: 'EUR', sellerId: null })?.id, 'qtc-sas', 'the default sells in euros')
  t.equal(entities.forSale({ currency: 'USD', sellerId: null })?.id, 'qtc-inc', 'the default does not sell in dollars: the entity that does')
  t.equal(entities.forSale({ currency: 'GBP', sellerId: null }), undefined, 'nobody sells in pounds')
  t.equal(entities.forSale({ currency: 'USD', sellerId: 'qtc-inc' })?.id, 'qtc-inc')
  t.equal(entities.forSale({ currency: 'EUR', sellerId: 'qtc-inc' }), undefined, "the account's choice does not sell in euros: no fallback")
  t.equal(entities.forSale({ currency: 'EUR', sellerId: 'nope' }), undefined)
})

t.test('identifier checks, on known good and bad values', async (t) => {
  t.ok(luhnValid('732829320'), 'a real SIREN')
  t.notOk(isSiren('732829321'), 'wrong SIREN key')
  t.notOk(isSiren('73282932'), 'too short')
  t.ok(isSiret('73282932000074'), 'a real SIRET')
  t.notOk(isSiret('73282932000075'))
  t.equal(frenchVatKey('732829320'), '44', 'FR44732829320, from the public VIES record')
  t.ok(isFrenchVatId('FR44732829320'))
  t.notOk(isFrenchVatId('FR45732829320'), 'wrong VAT key')
  t.ok(isIban('FR7630006000011234567890189'), 'the ECBS example French IBAN')
  t.ok(isIban('DE89370400440532013000'))
  t.notOk(isIban('FR7630006000011234567890188'), 'one digit off')
  t.notOk(isIban('FR763000600001123456789018'), 'wrong length for FR')
})

t.test('a wrong identifier is refused naming the file and the JSON pointer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qtc-entities-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'entities.yaml')
  const shipped = readFileSync(SHIPPED, 'utf8')
  const broken = (from: string, to: string) => {
    t.ok(shipped.includes(from), `fixture has ${from}`)
    writeFileSync(file, shipped.replace(from, to))
    return t.throws(() => loadLegalEntities(file)) as LegalEntitiesError
  }
  t.match(broken('siren: "912345675"', 'siren: "912345676"').message, `${file} /entities/0/siren: 912345676 fails the SIREN Luhn key`)
  t.match(broken('vatId: "FR65912345675"', 'vatId: "FR66912345675"').message, `${file} /entities/0/vatId: FR66912345675: the key does not match the SIREN`)
  t.match(
    broken('FR7630004008250001234567886', 'FR7630004008250001234567887').message,
    `${file} /entities/0/iban: FR7630004008250001234567887 fails the IBAN mod-97 check`,
  )
  t.match(broken('siret: "91234567500017"', 'siret: "91234567500018"').message, '/entities/0/siret')
  t.match(broken('default: true', 'default: false').message, 'exactly one entity must have default: true (found 0)')
  t.match(broken('invoicePrefix: INV', 'invoicePrefix: inv').message, `${file} /entities/0/invoicePrefix`)
  t.match(
    broken('creditNotePrefix: USCN', 'creditNotePrefix: INV').message,
    `${file} /entities/1/creditNotePrefix: prefix INV is already the invoicePrefix of qtc-sas`,
    'two sequences never share a prefix',
  )
  t.match(
    broken('creditNotePrefix: AV', 'creditNotePrefix: USINV').message,
    `${file} /entities/1/invoicePrefix: prefix USINV is already the creditNotePrefix of qtc-sas`,
  )
  t.match(broken('country: FR', 'country: XX').message, '/entities/0/address/country: XX is not an ISO 3166-1 country code')
  t.match(broken('currencies: [EUR]', 'currencies: [USD]').message, `${file} /entities/0/currencies: does not include the default currency EUR`)
  t.match(broken('currencies: [EUR]', 'currencies: [EUR, XXX]').message, `${file} /entities/0/currencies/1: XXX is not an ISO 4217 currency`)
  t.throws(() => loadLegalEntities(join(dir, 'missing.yaml')), /missing\.yaml: ENOENT/)
})

import t from 'tap'
import { formatDate, formatDateTime, formatMoney, formatPercentHundredths, LABELS, negotiateLang } from '../../src/documents/locale.js'

t.test('money is formatted exactly, with each language separators', async (t) => {
  t.equal(formatMoney({ minor: 1234567n, currency: 'EUR' }, 'fr'), '12\u202f345,67\u00a0€')
  t.equal(formatMoney({ minor: 1234567n, currency: 'EUR' }, 'en'), '€12,345.67')
  t.equal(formatMoney({ minor: -5n, currency: 'EUR' }, 'fr'), '-0,05\u00a0€')
  t.equal(formatMoney({ minor: 1500n, currency: 'JPY' }, 'en'), 'JP¥1,500', 'no decimals for yen')
  t.equal(formatMoney({ minor: 1234n, currency: 'KWD' }, 'en'), 'KWD\u00a01.234', 'three decimals for dinars')
  // Beyond 2^53 a Number would round: 9 007 199 254 740 993,01 keeps its last cent.
  t.equal(formatMoney({ minor: 900719925474099301n, currency: 'EUR' }, 'fr'), '9\u202f007\u202f199\u202f254\u202f740\u202f993,01\u00a0€')
})

t.test('percentages and dates', async (t) => {
  t.equal(formatPercentHundredths(1250n, 'fr'), '12,50\u202f%')
  t.equal(formatPercentHundredths(1250n, 'en'), '12.50\u00a0%')
  t.equal(formatPercentHundredths(-5n, 'en'), '-0.05\u00a0%')
  t.equal(formatDate('2026-07-01', 'fr'), '1 juillet 2026')
  t.equal(formatDate('2026-07-01', 'en'), '1 July 2026')
  t.equal(formatDate(new Date('2026-12-31T23:30:00Z'), 'en'), '31 December 2026', 'in UTC, whatever the server zone')
  t.equal(formatDateTime(new Date('2026-07-03T09:30:05Z'), 'fr'), '3 juillet 2026 à 09:30:05 UTC')
  t.throws(() => formatDate('not a date', 'en'), /not a date/)
})

t.test('the language: explicit choice, then Accept-Language by weight, then English', async (t) => {
  t.equal(negotiateLang(undefined), 'en')
  t.equal(negotiateLang('fr-FR,fr;q=0.9,en;q=0.8'), 'fr')
  t.equal(negotiateLang('de-DE,en;q=0.5,fr;q=0.7'), 'fr', 'by weight')
  t.equal(negotiateLang('de, it'), 'en', 'none we write')
  t.equal(negotiateLang('fr;q=0, en;q=0.1'), 'en', 'q=0 means not acceptable')
  t.equal(negotiateLang('en', 'FR'), 'fr', 'the explicit choice wins')
  t.equal(negotiateLang('fr', 'xx'), 'fr', 'an unknown explicit choice is ignored')
  t.equal(negotiateLang(`${'x,'.repeat(5000)}fr`), 'en', 'only the start of a huge header is read')
})

t.test('both languages have every label', async (t) => {
  t.same(Object.keys(LABELS.fr).sort(), Object.keys(LABELS.en).sort())
  t.equal(LABELS.fr.taxes, 'Hors taxes\u202f; TVA calculée sur facture.')
})

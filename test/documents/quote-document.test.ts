import t from 'tap'
import type { Cart } from '../../src/evaluation/cart.schema.js'
import { formatMoney, formatPercentHundredths, LABELS } from '../../src/documents/locale.js'
import { renderQuoteDocument } from '../../src/documents/quote-document.js'
import { documentInput, evaluate } from '../helpers/documents.js'
import { pdfGlyphText, pdfText } from '../helpers/pdf-text.js'

/** The quote PDF, read back with pdf.js: what the buyer sees is what the evaluation says, to the cent. */

t.test('the French quote carries the parties, every line, the exact totals and the terms', async (t) => {
  const evaluation = await evaluate()
  const input = documentInput(evaluation, 'fr')
  const pdf = await renderQuoteDocument(input)
  // The drawn characters, exactly: French amounts have U+202F and U+00A0 in them.
  const pages = await pdfGlyphText(pdf)
  const all = pages.join('\n')
  t.ok(pages.length >= 2, `several pages (${pages.length})`)
  t.match(pages[0], 'Devis')
  t.match(pages[0], 'Q-2026-000123')
  t.match(pages[0], 'QTC SAS')
  t.match(pages[0], 'SIREN 912345675')
  t.match(pages[0], 'FR65912345675')
  t.match(pages[0], 'Société Générale d’Équipements Çà et Là SA')
  t.match(pages[0], '1 juillet 2026')
  for (const line of evaluation.lines) t.match(all, line.sku, `line ${line.sku}`)
  // The cart's lines, the bundle's options and the rules' lines are all there.
  t.ok(
    evaluation.lines.some((l) => l.source === 'option'),
    'the fixture has bundle options',
  )
  t.ok(
    evaluation.lines.some((l) => l.source === 'rule'),
    'the fixture has lines added by rules',
  )
  const ramped = evaluation.lines.find((l) => l.ramp && l.ramp.length === 3)
  t.ok(ramped, 'the fixture has a 3-year ramp')
  for (const year of ramped!.ramp!) t.match(all, formatMoney(year.amount, 'fr'), `ramp year ${year.year}`)
  t.match(all, `Année 3 · 12 périodes`)
  t.match(all, formatMoney(ramped!.contractAmount, 'fr'))
  t.match(all, formatPercentHundredths(ramped!.discountHundredths, 'fr'))
  t.match(all, 'Ajustements\u202f:')

  const net = formatMoney(evaluation.totals.net, 'fr')
  t.match(net, /^\d{1,3}(\u202f\d{3})+,\d{2}\u00a0€$/, 'the net total has U+202F between thousands')
  t.match(all, `Total net du contrat ${net}`)
  t.match(all, `Total récurrent annuel ${formatMoney(evaluation.totals.annualRecurring, 'fr')}`)
  t.match(all, `Total ponctuel ${formatMoney(evaluation.totals.oneTime, 'fr')}`)
  t.match(all, 'Hors taxes\u202f; TVA calculée sur facture.')
  t.match(all, '45 jours nets')
  t.match(all, 'Livraison prévue en septembre.')
  t.ok(all.includes('\u202f'), 'narrow no-break spaces survive into the PDF')
  for (const char of ['é', 'ç', '€', '«', '»']) t.ok(all.includes(char), `prints ${char}`)

  t.match(all, input.terms.title)
  t.match(all, `version ${input.terms.version}`)
  t.match(all, input.terms.sha256)
  t.match(all, 'trois (3) fois le taux d’intérêt légal')
  t.match(all, '40\u202f€')
  t.match(pages[0], `1 / ${pages.length}`)
  t.match(pages.at(-1), `${pages.length} / ${pages.length}`)
  // The text layer a viewer searches and copies has the same words (with plain spaces).
  const layer = (await pdfText(pdf)).join('\n')
  t.match(layer, `Total net du contrat ${net.replace(/[\u202f\u00a0]/g, ' ')}`)
})

t.test('the English quote uses English labels and formats', async (t) => {
  const evaluation = await evaluate()
  const pages = await pdfGlyphText(await renderQuoteDocument(documentInput(evaluation, 'en')))
  const all = pages.join('\n')
  const L = LABELS.en
  for (const label of [L.quoteTitle, L.seller, L.buyer, L.oneTimeSection, L.recurringSection, L.totalNet, L.paymentTerms]) t.match(all, label)
  t.match(all, `${L.totalNet} ${formatMoney(evaluation.totals.net, 'en')}`)
  t.match(formatMoney(evaluation.totals.net, 'en'), /^€\d{1,3}(,\d{3})+\.\d{2}$/)
  t.match(all, 'Taxes not included; computed on invoice.')
  t.match(all, '1 July 2026')
  t.match(all, 'General Terms and Conditions of Sale')
  t.notMatch(all, 'Devis')
})

t.test('a 200-line quote breaks across pages and repeats the table header', async (t) => {
  const skus = ['PS-TRAIN', 'GW-200', 'SEN-TEMP', 'MNT-DIN', 'PSU-24V']
  const cart: Cart = {
    currency: 'EUR',
    date: '2026-07-01',
    account: { id: 'ACC-BIG', segment: 'mid_market', country: 'FR' },
    lines: Array.from({ length: 200 }, (_, i) => ({ sku: skus[i % skus.length]!, quantity: 1 + i })),
  }
  const evaluation = await evaluate(cart)
  t.ok(evaluation.lines.length >= 200)
  const pages = await pdfGlyphText(await renderQuoteDocument(documentInput(evaluation, 'fr')))
  const header = 'Référence Désignation Qté Prix unitaire catalogue Remise Net'
  const withHeader = pages.filter((p) => p.includes(header))
  t.ok(pages.length > 3, `many pages (${pages.length})`)
  t.ok(withHeader.length >= 3, `the header row is repeated (${withHeader.length} pages)`)
  t.match(pages.join('\n'), `Total net du contrat ${formatMoney(evaluation.totals.net, 'fr')}`)
})

t.test('the same input renders the same bytes', async (t) => {
  const input = documentInput(await evaluate(), 'fr')
  const a = await renderQuoteDocument(input)
  const b = await renderQuoteDocument(input)
  t.ok(a.equals(b), 'byte for byte')
  t.match(a.subarray(0, 8).toString('latin1'), /^%PDF-1\./)
})

t.test('user text prints as text, and over-long text is refused', async (t) => {
  const input = documentInput(await evaluate(), 'en')
  input.buyer.name = '<script>alert(1)</script>'
  const pages = await pdfText(await renderQuoteDocument(input))
  t.match(pages[0], '<script>alert(1)</')
  input.quote.notes = 'x'.repeat(4001)
  await t.rejects(renderQuoteDocument(input), /notes is longer than 4000 characters/)
})

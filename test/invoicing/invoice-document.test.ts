import t from 'tap'
import { invoiced } from '../helpers/invoicing.js'
import { pdfText } from '../helpers/pdf-text.js'
import { sirenOfVatId } from '../../src/documents/invoice-document.js'

/** The invoice PDF as a reader sees it (pdf.js text layer): the mentions French law requires. */

async function pdfOf(ctx: Awaited<ReturnType<typeof invoiced>>['ctx'], id: string, query = '') {
  const res = await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${id}/document.pdf${query}`, headers: ctx.as('sales_rep') })
  return { res, text: (await pdfText(res.rawPayload)).join('\n') }
}

t.test('a French invoice: parties with SIREN and VAT numbers, dates, lines with their references, VAT per rate, totals and the legal mentions', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const { res, text } = await pdfOf(ctx, invoice.id)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/pdf')
  t.match(res.headers['content-disposition'], `inline; filename="${invoice.number}.pdf"`)
  for (const expected of [
    'Facture',
    invoice.number,
    'QTC SAS',
    'SIREN 912345675',
    'SIRET 91234567500017',
    'N° TVA intracommunautaire FR65912345675',
    'Acme Industrie SA',
    'N° TVA intracommunautaire FR11123456782',
    'SIREN 123456782',
    '1 décembre 2026',
    'Échéance',
    '31 décembre 2026',
    'Devis / commande',
    invoice.lines[0].quoteNumber,
    invoice.lines[0].orderNumber,
    'Récapitulatif de la TVA',
    'Total HT',
    'Total TTC',
    'Catégorie de l’opération : livraison de biens et prestation de services.',
    'Option pour le paiement de la taxe d’après les débits.',
    'Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €',
    'Pas d’escompte pour paiement anticipé.',
    'FR7630004008250001234567886',
  ]) {
    t.ok(text.includes(expected), `prints ${expected}`)
  }
  t.match(text, /S · 20,00 %/, 'the VAT rate of the breakdown')
  const again = await pdfOf(ctx, invoice.id)
  t.same(again.res.rawPayload, res.rawPayload, 'the same invoice gives the same bytes')
  const english = await pdfOf(ctx, invoice.id, '?lang=en')
  t.ok(english.text.includes('Total including VAT'), 'in English when asked')
  const other = await ctx.principal('Another rep', ['sales_rep'])
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${invoice.id}/document.pdf`, headers: other.headers })).statusCode, 404)
})

t.test('reverse charge: a German business buyer, the mention printed, no French SIREN', async (t) => {
  const { ctx, invoice } = await invoiced(t, {
    name: 'Hanse Logistik GmbH',
    country: 'DE',
    vatId: 'DE136695976',
    billingAddress: { line1: 'Hafenstraße 1', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  })
  t.same(
    invoice.vat.map((v: { category: string; mention: string | null }) => [v.category, v.mention]),
    [
      ['AE', 'Autoliquidation'],
      ['K', 'Exonération de TVA, article 262 ter I du CGI'],
    ],
  )
  t.equal(invoice.tax, '0.00')
  const { text } = await pdfOf(ctx, invoice.id)
  t.ok(text.includes('Autoliquidation'))
  t.ok(text.includes('Exonération de TVA, article 262 ter I du CGI'))
  t.notOk(text.includes('SIREN 136695976'), 'a German VAT number gives no SIREN')
})

t.test('the SIREN of a French VAT number', async (t) => {
  t.equal(sirenOfVatId('FR11123456782'), '123456782')
  t.equal(sirenOfVatId('DE136695976'), null)
  t.equal(sirenOfVatId(null), null)
})

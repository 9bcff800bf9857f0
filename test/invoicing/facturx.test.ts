import t from 'tap'
import { ciiSchemaErrors, en16931Failures, type RuleFailure } from '../helpers/einvoice-validation.js'
import { invoiced, invoicedGroup } from '../helpers/invoicing.js'
import { pdfEmbedded, pdfText } from '../helpers/pdf-text.js'
import { ciiInvoiceXml, EInvoiceError } from '../../src/documents/cii-invoice.js'
import type { InvoiceDocumentInput } from '../../src/documents/invoice-document.js'
import { loadLegalEntities } from '../../src/documents/legal-entities.js'
import { moneyOf } from '../../src/money/money-value.js'

/**
 * The e-invoice of real invoices, checked with the official artefacts: the CII D16B schema and
 * the EN 16931 Schematron (every BR-* rule). Warnings of the Schematron are reported too, and
 * none is expected.
 */

const ROOT = new URL('../../', import.meta.url).pathname
type Ctx = Awaited<ReturnType<typeof invoiced>>['ctx']

async function xmlOf(ctx: Ctx, id: string) {
  const res = await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${id}/invoice.xml`, headers: ctx.as('sales_rep') })
  return { res, xml: res.body }
}

/** Schema errors and rule failures of one document, as one list a failing test prints. */
async function problemsOf(xml: string): Promise<string[]> {
  const schema = await ciiSchemaErrors(xml)
  const rules = await en16931Failures(xml)
  return [...schema, ...rules.map((f: RuleFailure) => `${f.id} (${f.flag}) at ${f.location}: ${f.text}`)]
}

/** The text of the first element named `name` (a prefixed CII name such as ram:GrandTotalAmount). */
const firstValue = (xml: string, name: string) => new RegExp(`<${name}(?: [^>]*)?>([^<]*)</${name}>`).exec(xml)?.[1]
const valuesOf = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name}(?: [^>]*)?>([^<]*)</${name}>`, 'g'))].map((m) => m[1])

t.test('a French invoice at 20 %: valid CII D16B, no EN 16931 rule broken, its figures those of the invoice', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const { res, xml } = await xmlOf(ctx, invoice.id)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/xml/)
  t.equal(res.headers['content-disposition'], `inline; filename="${invoice.number}.xml"`)
  t.same(await problemsOf(xml), [])
  t.same(valuesOf(xml, 'ram:ID').slice(0, 3), ['M1', 'urn:cen.eu:en16931:2017', invoice.number], 'goods and services (M1), the EN 16931 profile, the number')
  t.equal(firstValue(xml, 'ram:TypeCode'), '380')
  t.equal(firstValue(xml, 'udt:DateTimeString'), invoice.issueDate.replaceAll('-', ''))
  t.same(valuesOf(xml, 'ram:LineTotalAmount'), [...invoice.lines.map((l: { net: string }) => l.net), invoice.net], 'each line net, then their sum')
  t.equal(firstValue(xml, 'ram:TaxTotalAmount'), invoice.tax)
  t.equal(firstValue(xml, 'ram:GrandTotalAmount'), invoice.total)
  t.equal(firstValue(xml, 'ram:DuePayableAmount'), invoice.total)
  t.same(
    valuesOf(xml, 'ram:CalculatedAmount'),
    invoice.vat.map((v: { tax: string }) => v.tax),
  )
  t.same(
    valuesOf(xml, 'ram:BasisAmount'),
    invoice.vat.map((v: { base: string }) => v.base),
  )
  t.ok(xml.includes('<ram:ID schemeID="0002">912345675</ram:ID>'), "the seller's SIREN")
  t.ok(xml.includes('<ram:ID schemeID="0002">123456782</ram:ID>'), "the French buyer's SIREN")
  t.ok(xml.includes('<ram:ID schemeID="VA">FR11123456782</ram:ID>'), "the buyer's VAT number")
  t.ok(xml.includes('<ram:DueDateTypeCode>5</ram:DueDateTypeCode>'), 'VAT on debits: due at the invoice date')
  t.same(valuesOf(xml, 'ram:SubjectCode'), ['PMD', 'PMT', 'AAB'], 'the penalties, the 40 EUR indemnity, no early-payment discount')
  t.same(valuesOf(xml, 'ram:IBANID'), ['FR7630004008250001234567886'])
  t.equal((await xmlOf(ctx, invoice.id)).xml, xml, 'the same invoice gives the same XML')
  const other = await ctx.principal('Another rep', ['sales_rep'])
  t.equal(
    (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${invoice.id}/invoice.xml`, headers: other.headers })).statusCode,
    404,
    'visible as the invoice is',
  )
})

t.test('Factur-X: a PDF/A-3 whose embedded factur-x.xml is the invoice XML, declared in its XMP metadata', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const res = await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${invoice.id}/facturx.pdf`, headers: ctx.as('sales_rep') })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/pdf')
  t.equal(res.headers['content-disposition'], `inline; filename="${invoice.number}.facturx.pdf"`)
  const { files, xmp } = await pdfEmbedded(res.rawPayload)
  t.same(Object.keys(files), ['factur-x.xml'])
  t.equal(files['factur-x.xml']!.toString('utf8'), (await xmlOf(ctx, invoice.id)).xml, 'the embedded XML is the invoice XML')
  t.match(xmp, /<pdfaid:part>3<\/pdfaid:part>/)
  t.match(xmp, /<pdfaid:conformance>B<\/pdfaid:conformance>/)
  t.match(xmp, /<fx:DocumentFileName>factur-x.xml<\/fx:DocumentFileName>/)
  t.match(xmp, /<fx:ConformanceLevel>EN 16931<\/fx:ConformanceLevel>/)
  t.match(
    xmp,
    /<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#<\/pdfaSchema:namespaceURI>/,
    'the extension schema declares the fx properties',
  )
  const raw = res.rawPayload.toString('latin1')
  t.match(raw, /\/AFRelationship \/Alternative/)
  t.match(raw, /\/OutputIntents/, 'an sRGB output intent')
  t.match(raw, /%PDF-1\.7/)
  t.ok((await pdfText(res.rawPayload)).join('\n').includes(invoice.number), 'the same invoice for people')
  const again = await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${invoice.id}/facturx.pdf`, headers: ctx.as('sales_rep') })
  t.same(again.rawPayload, res.rawPayload, 'reproducible')
})

t.test('a credit note, partial then full: type 381, the credited invoice referenced, its own amounts, valid; its PDF and Factur-X say the same', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const finance = ctx.as('finance')
  const first = invoice.lines[0] as { line: number; net: string }
  const partial = await ctx.app.inject({
    method: 'POST',
    url: `/v1/invoices/${invoice.id}/credit-notes`,
    headers: finance,
    payload: { reason: 'Remise commerciale accordée après livraison', lines: [{ line: first.line, amount: '10.01' }] },
  })
  t.equal(partial.statusCode, 201, partial.body)
  const full = await ctx.app.inject({
    method: 'POST',
    url: `/v1/invoices/${invoice.id}/credit-notes`,
    headers: finance,
    payload: { reason: 'Annulation du solde' },
  })
  t.equal(full.statusCode, 201, full.body)
  for (const note of [partial.json(), full.json()]) {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${note.id}/credit-note.xml`, headers: ctx.as('sales_rep') })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-disposition'], `inline; filename="${note.number}.xml"`)
    const xml = res.body
    t.same(await problemsOf(xml), [], `credit note ${note.number} is valid`)
    t.equal(valuesOf(xml, 'ram:ID')[2], note.number)
    t.equal(firstValue(xml, 'ram:TypeCode'), '381', 'a credit note')
    t.match(
      xml,
      new RegExp(
        `<ram:InvoiceReferencedDocument>\\s*<ram:IssuerAssignedID>${invoice.number}</ram:IssuerAssignedID>\\s*<ram:FormattedIssueDateTime>\\s*<qdt:DateTimeString format="102">${invoice.issueDate.replaceAll('-', '')}</qdt:DateTimeString>`,
      ),
      'the invoice it credits (BG-3)',
    )
    t.same(valuesOf(xml, 'ram:LineTotalAmount'), [...note.lines.map((l: { net: string }) => l.net), note.net], 'what each line credits, then their sum')
    t.equal(firstValue(xml, 'ram:TaxTotalAmount'), note.tax)
    t.equal(firstValue(xml, 'ram:GrandTotalAmount'), note.total)
    t.same(valuesOf(xml, 'ram:SubjectCode'), [], 'no late-payment mentions on a credit note')
    t.notOk(xml.includes('<ram:DueDateDateTime>'), 'nothing falls due')
    t.ok(xml.includes(`<ram:Content>${note.reason}</ram:Content>`), 'the reason')
  }
  t.equal(partial.json().net, '10.01')
  t.same(
    valuesOf(
      (await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${partial.json().id}/credit-note.xml`, headers: finance })).body,
      'ram:BilledQuantity',
    ),
    [String(Number((invoice.lines[0] as { quantity: string }).quantity))],
    "a partial credit keeps the line's quantity; its price follows the amount",
  )

  const pdf = await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${partial.json().id}/document.pdf`, headers: ctx.as('sales_rep') })
  t.equal(pdf.statusCode, 200)
  const text = (await pdfText(pdf.rawPayload)).join('\n')
  for (const expected of [
    'Avoir',
    partial.json().number,
    'Avoir sur la facture',
    invoice.number,
    'Remise commerciale accordée après livraison',
    'Total TTC de l’avoir',
  ]) {
    t.ok(text.includes(expected), `the PDF says ${expected}`)
  }
  t.notOk(text.includes('Échéance'), 'no due date')
  t.notOk(text.includes('40 €'), 'no recovery indemnity')
  const english = (
    await pdfText((await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${partial.json().id}/document.pdf?lang=en`, headers: finance })).rawPayload)
  ).join('\n')
  t.ok(english.includes('Credit note') && english.includes('Credits invoice'), 'in English on request')

  const facturX = await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${full.json().id}/facturx.pdf`, headers: finance })
  t.equal(facturX.statusCode, 200)
  const { files, xmp } = await pdfEmbedded(facturX.rawPayload)
  t.equal(
    files['factur-x.xml']!.toString('utf8'),
    (await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${full.json().id}/credit-note.xml`, headers: finance })).body,
    'the embedded XML is the credit note XML',
  )
  t.match(xmp, /<fx:DocumentType>INVOICE<\/fx:DocumentType>/, 'Factur-X calls every invoice type INVOICE; the XML says 381')
  const other = await ctx.principal('Another rep', ['sales_rep'])
  t.equal(
    (await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${full.json().id}/credit-note.xml`, headers: other.headers })).statusCode,
    404,
    'visible as the invoice is',
  )
})

t.test('reverse charge and an intra-EU supply of goods (a German business): AE and K, both VAT numbers, the delivery country', async (t) => {
  const { ctx, invoice } = await invoiced(t, {
    name: 'Hanse Logistik GmbH',
    country: 'DE',
    vatId: 'DE136695976',
    billingAddress: { line1: 'Hafenstraße 1', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  })
  const { xml } = await xmlOf(ctx, invoice.id)
  t.same(await problemsOf(xml), [])
  t.same(valuesOf(xml, 'ram:CategoryCode').slice(-2), ['AE', 'K'], 'one breakdown per category')
  t.same(valuesOf(xml, 'ram:ExemptionReasonCode'), ['VATEX-EU-AE', 'VATEX-EU-IC'])
  t.same(valuesOf(xml, 'ram:ExemptionReason'), ['Autoliquidation', 'Exonération de TVA, article 262 ter I du CGI'])
  t.ok(xml.includes('<ram:ID schemeID="VA">DE136695976</ram:ID>'))
  t.notOk(xml.includes('<ram:ID schemeID="0002">136695976</ram:ID>'), 'no SIREN for a German buyer')
  t.match(xml, /<ram:ShipToTradeParty>\s*<ram:PostalTradeAddress>\s*<ram:CountryID>DE<\/ram:CountryID>/)
  t.equal(firstValue(xml, 'ram:TaxTotalAmount'), '0.00')
})

t.test('export (a US business): goods exempt (G) on one invoice, services not subject to VAT (O) on another, as EN 16931 wants', async (t) => {
  const { ctx, invoices } = await invoicedGroup(t, {
    name: 'Bay Robotics Inc.',
    country: 'US',
    vatId: null,
    billingAddress: { line1: '1 Harbor Way', city: 'Oakland', postalCode: 'CA 94607', country: 'US' },
  })
  t.same(
    invoices.map((i: { vat: Array<{ category: string }> }) => i.vat.map((v) => v.category)),
    [['G'], ['O']],
    'the not-subject lines on their own invoice',
  )
  t.same(
    invoices.map((i: { number: string }) => i.number),
    ['INV-2026-000001', 'INV-2026-000002'],
    'two numbers of the sequence',
  )
  for (const invoice of invoices) {
    const { xml } = await xmlOf(ctx, invoice.id)
    t.same(await problemsOf(xml), [], `${invoice.number} (${invoice.vat[0].category}) breaks no rule`)
    if (invoice.vat[0].category === 'O') {
      t.notOk(xml.includes('schemeID="VA"'), "not subject to VAT: no VAT number, not even the seller's (BR-O-02)")
      t.notOk(xml.includes('RateApplicablePercent'), 'and no rate (BR-O-05)')
    }
  }
  t.same(
    invoices.map((i: { lines: Array<{ sku: string }> }) => i.lines.map((l) => l.sku)),
    [['GW-200', 'MNT-WALL'], ['PLAT-PRO-SEAT']],
    'the goods exported, then the software',
  )
})

const sellers = loadLegalEntities(`${ROOT}legal-entities/entities.yaml`)
const eur = (minor: bigint) => moneyOf(minor, 'EUR')

/** An invoice of books at 5.5 % and software at 20 %, as the documents module is given it. */
function booksAndSoftware(): InvoiceDocumentInput {
  const seller = sellers.byId('qtc-sas')!
  const line = (lineNo: number, sku: string, net: bigint, qtyMilli: bigint, rateBp: number, nature: 'goods' | 'services') => ({
    lineNo,
    description: sku,
    sku,
    quoteNumber: 'Q-2026-000042',
    orderNumber: 'O-2026-000042',
    qtyMilli,
    unit: nature === 'goods' ? 'copy' : 'seat',
    discountHundredths: 1500n,
    net: eur(net),
    periodStart: nature === 'services' ? '2026-12-01' : null,
    periodEnd: nature === 'services' ? '2026-12-31' : null,
    vatCategory: 'S',
    vatRateBp: rateBp,
    nature,
  })
  return {
    lang: 'fr',
    seller,
    buyer: {
      name: 'Librairie Martin SARL',
      address: { line1: '3 place du Marché', postalCode: '69002', city: 'Lyon', country: 'FR' },
      vatId: 'FR11123456782',
      siren: '123456782',
    },
    invoice: { number: 'INV-2026-000042', issueDate: '2026-12-01', dueDate: '2026-12-31', currency: 'EUR', net: eur(1_234_567n), tax: eur(0n), total: eur(0n) },
    credits: null,
    // 3 copies for 100.01 € do not divide into cents: the price is that of the three (base quantity 3).
    lines: [line(1, 'BOOK-OPS', 10_001n, 3000n, 550, 'goods'), line(2, 'PLAT-PRO-SEAT', 1_224_566n, 7000n, 2000, 'services')],
    vat: [
      { category: 'S', rateBp: 2000, base: eur(1_224_566n), tax: eur(244_913n), mention: null, exemptionCode: null },
      { category: 'S', rateBp: 550, base: eur(10_001n), tax: eur(550n), mention: null, exemptionCode: null },
    ],
  }
}

t.test('French VAT at 20 % and 5.5 % on one invoice: one breakdown per rate, each rounded once, valid', async (t) => {
  const input = booksAndSoftware()
  input.invoice.tax = eur(244_913n + 550n)
  input.invoice.total = eur(1_234_567n + 244_913n + 550n)
  const xml = ciiInvoiceXml(input)
  t.same(await problemsOf(xml), [])
  t.same(valuesOf(xml, 'ram:RateApplicablePercent'), ['5.5', '20', '20', '5.5'])
  t.same(valuesOf(xml, 'ram:CalculatedAmount'), ['2449.13', '5.50'])
  t.match(
    xml,
    /<ram:ChargeAmount>100\.01<\/ram:ChargeAmount>\s*<ram:BasisQuantity unitCode="C62">3<\/ram:BasisQuantity>/,
    'a price that does not divide is given for its quantity',
  )
  t.match(xml, /<ram:ChargeAmount>1749\.38<\/ram:ChargeAmount>\s*<\/ram:NetPriceProductTradePrice>/, 'one that does is a unit price')
  t.match(xml, /Remise 15 %/)
})

t.test('the checks can fail: a wrong VAT amount, an unknown country, an element out of the schema are caught', async (t) => {
  const input = booksAndSoftware()
  input.invoice.tax = eur(244_913n + 550n)
  input.invoice.total = eur(1_234_567n + 244_913n + 550n)
  const wrongTax = ciiInvoiceXml({ ...input, vat: [{ ...input.vat[0]!, tax: eur(244_913n + 100n) }, input.vat[1]!] })
  const ids = (await en16931Failures(wrongTax)).map((f) => f.id)
  t.ok(ids.includes('BR-S-09'), `a standard-rated tax 1 EUR off base × rate breaks BR-S-09 (got ${ids.join(', ')})`)
  t.ok(ids.includes('BR-CO-14'), 'and the total VAT no longer adds up (BR-CO-14)')
  const broken = ciiInvoiceXml(input).replace('<ram:CountryID>FR</ram:CountryID>', '<ram:CountryID>XX</ram:CountryID>')
  t.ok(
    (await en16931Failures(broken)).some((f) => f.id === 'BR-CL-14'),
    'an unknown country code breaks the code list rule',
  )
  const misplaced = ciiInvoiceXml(input).replace('<ram:TypeCode>380</ram:TypeCode>', '<ram:Foo>380</ram:Foo>')
  t.ok((await ciiSchemaErrors(misplaced)).length > 0, 'an element the schema does not know is refused')
})

t.test('an invoice EN 16931 cannot express is refused with its reason', async (t) => {
  const input = booksAndSoftware()
  const { siren: _siren, vatId: _vatId, ...anonymous } = input.seller
  t.throws(
    () => ciiInvoiceXml({ ...input, seller: anonymous }),
    new EInvoiceError('seller_unidentified', ''),
    'a seller with no SIREN and no VAT number (BR-CO-26)',
  )
  t.throws(
    () => ciiInvoiceXml({ ...input, invoice: { ...input.invoice, currency: 'KWD' } }),
    new EInvoiceError('currency_exponent', ''),
    'a currency of three decimals (BR-DEC-*)',
  )
})

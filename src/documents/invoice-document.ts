import { assert } from '../errors.js'
import { formatScaled } from '../money/money.js'
import type { Money } from '../money/money-value.js'
import type { LegalEntity } from './legal-entities.js'
import { countryName, formatDate, formatDecimal, formatMoney, formatPercentHundredths, LABELS, type Lang } from './locale.js'
import { COLORS, createPdf, drawFooters, PAGE, pdfBuffer, plainText } from './pdf.js'
import { drawPartyBlocks, drawTitleBlock } from './pdf-blocks.js'
import { type Column, Table } from './pdf-table.js'
import type { PostalAddress } from './quote-document.js'

/**
 * What an invoice or credit note PDF prints: plain data, so the documents module needs nothing
 * of invoicing. A credit note is the same document with `credits` set: the invoice it credits
 * and why; it has no due date, and its amounts are what it credits, positive.
 */
export interface InvoiceDocumentInput {
  lang: Lang
  seller: LegalEntity
  /** The buyer's SIREN is printed (and sent) for a French buyer: read from its VAT number (sirenOfVatId). */
  buyer: { name: string; address: PostalAddress; vatId: string | null; siren: string | null }
  /** A draft has no number yet (null): its PDF says so, dated as if issued the day it was drafted; it has no XML. */
  invoice: { number: string | null; issueDate: string; dueDate: string | null; currency: string; net: Money; tax: Money; total: Money }
  credits: { number: string; issueDate: string; reason: string } | null
  lines: Array<{
    lineNo: number
    description: string
    sku: string
    quoteNumber: string
    orderNumber: string
    qtyMilli: bigint
    unit: string
    discountHundredths: bigint
    net: Money
    periodStart: string | null
    periodEnd: string | null
    vatCategory: string
    vatRateBp: number
    /** goods or services: the operation category the 2026 reform asks for. */
    nature: 'goods' | 'services'
  }>
  vat: Array<{ category: string; rateBp: number; base: Money; tax: Money; mention: string | null; exemptionCode: string | null }>
}

/** The invoice's own labels, beside the quote's (LABELS) it shares its parties' with. */
const INVOICE_LABELS = {
  en: {
    title: 'Invoice',
    dueDate: 'Due date',
    references: 'Quote / order',
    vatRate: 'VAT',
    vatBreakdown: 'VAT breakdown',
    vatBase: 'Taxable base',
    vatAmount: 'VAT',
    totalNet: 'Total excluding VAT',
    totalTax: 'Total VAT',
    totalDue: 'Total including VAT',
    buyerSiren: 'SIREN',
    category: 'Operation',
    categories: { goods: 'supply of goods', services: 'supply of services', both: 'supply of goods and services' },
    payment: 'Payment',
    payBy: (date: string) => `Payable by ${date}, by bank transfer.`,
    latePenalties:
      'Late payment: penalties at three times the French statutory interest rate from the day after the due date (Code de commerce, art. L441-10).',
    recoveryIndemnity: 'Fixed indemnity for recovery costs in case of late payment: EUR 40 (Code de commerce, art. D441-5).',
    noEarlyDiscount: 'No discount for early payment.',
    vatOnDebits: 'Option for the payment of VAT on debits.',
    draftTitle: 'Draft invoice',
    draftNumber: 'given at issue',
    draftNotice: 'Draft for review, not an invoice: its number is given when it is issued, and its issue and due dates become those of that day.',
    creditNote: 'Credit note',
    credits: 'Credits invoice',
    reason: 'Reason',
    totalCredited: 'Total credited including VAT',
    deducted: (invoice: string) =>
      `This credit note reduces the amount due on invoice ${invoice}; what it credits beyond that amount is refunded or kept as a credit.`,
  },
  fr: {
    title: 'Facture',
    dueDate: 'Échéance',
    references: 'Devis / commande',
    vatRate: 'TVA',
    vatBreakdown: 'Récapitulatif de la TVA',
    vatBase: 'Base HT',
    vatAmount: 'TVA',
    totalNet: 'Total HT',
    totalTax: 'Total TVA',
    totalDue: 'Total TTC',
    buyerSiren: 'SIREN',
    category: 'Catégorie de l’opération',
    categories: { goods: 'livraison de biens', services: 'prestation de services', both: 'livraison de biens et prestation de services' },
    payment: 'Règlement',
    payBy: (date: string) => `À régler au plus tard le ${date}, par virement.`,
    latePenalties:
      'Retard de paiement : pénalités au taux de trois fois le taux d’intérêt légal à compter du lendemain de l’échéance (Code de commerce, art. L441-10).',
    recoveryIndemnity: 'Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 € (Code de commerce, art. D441-5).',
    noEarlyDiscount: 'Pas d’escompte pour paiement anticipé.',
    vatOnDebits: 'Option pour le paiement de la taxe d’après les débits.',
    draftTitle: 'Projet de facture',
    draftNumber: 'attribué à l’émission',
    draftNotice:
      'Projet soumis à revue, qui ne vaut pas facture : son numéro est attribué à l’émission, et ses dates d’émission et d’échéance deviennent celles de ce jour.',
    creditNote: 'Avoir',
    credits: 'Avoir sur la facture',
    reason: 'Motif',
    totalCredited: 'Total TTC de l’avoir',
    deducted: (invoice: string) =>
      `Cet avoir vient en déduction du montant dû au titre de la facture ${invoice} ; ce qu’il crédite au-delà est remboursé ou conservé en crédit.`,
  },
} as const

const CONTENT_WIDTH = 595.28 - 2 * PAGE.margin
const MAX_LINES = 10_000
const text = (value: string, what: string) => plainText(value, what, 300)

/** The name Factur-X gives the embedded XML, and the profile it declares (XMP `fx:ConformanceLevel`). */
export const FACTURX_FILE_NAME = 'factur-x.xml'
const FACTURX_NS = 'urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#'
const FACTURX_PROPERTIES: Array<[name: string, description: string, value: string]> = [
  ['DocumentFileName', 'The name of the embedded XML document', FACTURX_FILE_NAME],
  // INVOICE for a credit note too: Factur-X tells them apart by the XML's type code (380, 381).
  ['DocumentType', 'The type of the hybrid document in capital letters, e.g. INVOICE or ORDER', 'INVOICE'],
  ['Version', 'The actual version of the standard applying to the embedded XML document', '1.0'],
  ['ConformanceLevel', 'The conformance level of the embedded XML document', 'EN 16931'],
]

/**
 * Makes a PDF/A-3 document a Factur-X invoice: the CII XML embedded as `factur-x.xml`, an
 * associated file of the document (catalog /AF) whose relationship is Alternative (the XML is
 * the same invoice, machine-readable), and the XMP properties a reader finds it by, with the
 * PDF/A extension schema that declares them (PDF/A forbids undeclared XMP properties).
 */
function embedFacturX(doc: PDFKit.PDFDocument, xml: string, issuedAt: Date, kind: 'invoice' | 'credit note'): void {
  // pdfkit writes /AFRelationship from `relationship`; its type definitions do not know the option yet.
  const options: PDFKit.Mixins.PDFAttachmentOptions & { relationship: 'Alternative' } = {
    name: FACTURX_FILE_NAME,
    type: 'text/xml',
    description: `Factur-X ${kind} (CII, EN 16931)`,
    relationship: 'Alternative',
    creationDate: issuedAt,
    modifiedDate: issuedAt,
  }
  doc.file(Buffer.from(xml, 'utf8'), options)
  const values = FACTURX_PROPERTIES.map(([name, , value]) => `<fx:${name}>${value}</fx:${name}>`).join('')
  const declarations = FACTURX_PROPERTIES.map(
    ([name, description]) =>
      `<rdf:li rdf:parseType="Resource"><pdfaProperty:name>${name}</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>${description}</pdfaProperty:description></rdf:li>`,
  ).join('')
  doc.appendXML(`<rdf:Description rdf:about="" xmlns:fx="${FACTURX_NS}">${values}</rdf:Description>`)
  doc.appendXML(
    `<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"><pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema><pdfaSchema:namespaceURI>${FACTURX_NS}</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>${declarations}</rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>`,
  )
}

/**
 * The payment mentions French law requires, each with its UNTDID 4451 subject as the CII XML
 * carries them: PMD late-payment penalties, PMT the fixed recovery indemnity, AAB the discount
 * for early payment (none).
 */
export function paymentNotes(lang: Lang): Array<{ subject: 'PMD' | 'PMT' | 'AAB'; text: string }> {
  const I = INVOICE_LABELS[lang]
  return [
    { subject: 'PMD', text: I.latePenalties },
    { subject: 'PMT', text: I.recoveryIndemnity },
    { subject: 'AAB', text: I.noEarlyDiscount },
  ]
}

/** The payment terms as printed and sent (BT-20): the due date of an invoice, what becomes of a credit note's amount. */
export function paymentTerms(lang: Lang, document: Pick<InvoiceDocumentInput, 'invoice' | 'credits'>): string {
  const I = INVOICE_LABELS[lang]
  return document.credits ? I.deducted(document.credits.number) : I.payBy(formatDate(paymentDue(document.invoice), lang))
}

/** A French buyer's SIREN, read from its French VAT number (FR + key + SIREN): the 2026 reform prints it. */
export function sirenOfVatId(vatId: string | null): string | null {
  const m = vatId ? /^FR\d{2}(\d{9})$/.exec(vatId) : null
  return m ? m[1]! : null
}

/** An invoice's due date: every invoice has one, a credit note none. */
function paymentDue(invoice: InvoiceDocumentInput['invoice']): string {
  assert(invoice.dueDate, `invoice ${invoice.number} has a due date`)
  return invoice.dueDate
}

function addressLines(address: PostalAddress, lang: Lang): string[] {
  return [
    text(address.line1, 'address line 1'),
    ...(address.line2 ? [text(address.line2, 'address line 2')] : []),
    `${text(address.postalCode, 'postal code')} ${text(address.city, 'city')}`,
    countryName(address.country, lang),
  ]
}

/**
 * The invoice as the buyer and the tax authority read it (A4 PDF), with the mentions French
 * law requires: seller identity with SIREN, SIRET and VAT number; the buyer's VAT number and,
 * for a French buyer, its SIREN; number, issue and due dates; each line with its quote and
 * order, quantity, discount, net and VAT rate; the VAT per rate with its legal mention
 * (reverse charge, exemption); totals; the operation category; the late-payment penalties and
 * the EUR 40 recovery indemnity; the VAT-on-debits option when the seller made it. A credit
 * note names the invoice it credits (number and date) and its reason, and says what becomes of
 * its amount instead of a due date. The same input gives the same bytes (the creation date is
 * the issue date).
 */
export async function renderInvoiceDocument(input: InvoiceDocumentInput, facturX?: { xml: string }): Promise<Buffer> {
  const { lang, seller, buyer, invoice, credits } = input
  const L = LABELS[lang]
  const I = INVOICE_LABELS[lang]
  if (input.lines.length > MAX_LINES) throw new RangeError(`an invoice document has at most ${MAX_LINES} lines`)
  const number = invoice.number === null ? null : text(invoice.number, 'invoice number')
  const title = credits ? I.creditNote : number === null ? I.draftTitle : I.title
  const money = (m: Money) => formatMoney(m, lang)
  const issuedAt = new Date(`${invoice.issueDate}T00:00:00Z`)
  const doc = createPdf({
    title: number === null ? title : `${title} ${number}`,
    author: text(seller.name, 'seller name'),
    createdAt: issuedAt,
    pdfA3: facturX !== undefined,
  })
  if (facturX) embedFacturX(doc, facturX.xml, issuedAt, credits ? 'credit note' : 'invoice')

  drawTitleBlock(doc, text(seller.name, 'seller name'), title, [
    [L.number, number ?? I.draftNumber],
    [L.issuedOn, formatDate(invoice.issueDate, lang)],
    credits
      ? [I.credits, `${text(credits.number, 'invoice number')} (${formatDate(credits.issueDate, lang)})`]
      : [I.dueDate, formatDate(paymentDue(invoice), lang)],
  ])
  if (number === null) {
    doc.font('bold').fontSize(9.5).fillColor(COLORS.text).text(I.draftNotice, PAGE.margin, doc.y, { width: CONTENT_WIDTH })
    doc.moveDown(0.8)
  }
  const buyerSiren = buyer.siren
  drawPartyBlocks(
    doc,
    {
      title: L.seller,
      name: text(seller.name, 'seller name'),
      lines: [
        ...addressLines(seller.address, lang),
        ...(seller.siren ? [`${L.siren} ${seller.siren}`] : []),
        ...(seller.siret ? [`${L.siret} ${seller.siret}`] : []),
        ...(seller.vatId ? [`${L.vatId} ${seller.vatId}`] : []),
      ],
    },
    {
      title: L.buyer,
      name: text(buyer.name, 'buyer name'),
      lines: [
        ...addressLines(buyer.address, lang),
        ...(buyer.vatId ? [`${L.vatId} ${text(buyer.vatId, 'buyer VAT id')}`] : []),
        ...(buyerSiren ? [`${I.buyerSiren} ${buyerSiren}`] : []),
      ],
    },
  )

  // Lines.
  const columns: Column[] = [
    { header: L.description, width: 170 },
    { header: I.references, width: 92 },
    { header: L.quantity, width: 44, align: 'right' },
    { header: L.discount, width: 50, align: 'right' },
    { header: I.vatRate, width: 50, align: 'right' },
    { header: L.net, width: CONTENT_WIDTH - 406, align: 'right' },
  ]
  const table = new Table(doc, columns)
  table.header()
  for (const line of input.lines) {
    const quantity = formatDecimal(formatScaled(line.qtyMilli, 3).replace(/\.?0+$/, ''), lang)
    table.row({
      cells: [
        { text: `${text(line.description, 'description')}\n${text(line.sku, 'sku')}` },
        { text: `${text(line.quoteNumber, 'quote number')}\n${text(line.orderNumber, 'order number')}` },
        { text: `${quantity} ${text(line.unit, 'unit')}` },
        { text: formatPercentHundredths(line.discountHundredths, lang) },
        { text: formatPercentHundredths(BigInt(line.vatRateBp), lang) },
        { text: money(line.net), bold: true },
      ],
    })
  }
  table.end()
  doc.moveDown(1)
  if (credits) {
    doc.font('bold').fontSize(9).text(`${I.reason}${L.colon} `, PAGE.margin, doc.y, { continued: true })
    doc.font('regular').text(text(credits.reason, 'reason'), { width: CONTENT_WIDTH })
    doc.moveDown(1)
  }

  // VAT per rate, then the totals.
  if (doc.y + 160 > doc.page.height - doc.page.margins.bottom) doc.addPage()
  doc.font('bold').fontSize(11).text(I.vatBreakdown, PAGE.margin, doc.y)
  doc.moveDown(0.3)
  const vatTable = new Table(doc, [
    { header: I.vatRate, width: 80 },
    { header: I.vatBase, width: 110, align: 'right' },
    { header: I.vatAmount, width: 110, align: 'right' },
    { header: '', width: CONTENT_WIDTH - 300 },
  ])
  vatTable.header()
  for (const v of input.vat) {
    vatTable.row({
      cells: [
        { text: `${v.category} · ${formatPercentHundredths(BigInt(v.rateBp), lang)}` },
        { text: money(v.base) },
        { text: money(v.tax) },
        { text: v.mention ? text(v.mention, 'VAT mention') : '', muted: true },
      ],
    })
  }
  vatTable.end()
  doc.moveDown(0.8)
  const labelX = PAGE.margin + CONTENT_WIDTH - 330
  for (const [label, value, strong] of [
    [I.totalNet, money(invoice.net), false],
    [I.totalTax, money(invoice.tax), false],
    [credits ? I.totalCredited : I.totalDue, money(invoice.total), true],
  ] as const) {
    const y = doc.y
    doc.font(strong ? 'bold' : 'regular').fontSize(strong ? 10.5 : 9)
    doc.text(label, labelX, y, { width: 200 })
    doc.text(value, labelX + 200, y, { width: 130, align: 'right' })
    doc.y = Math.max(doc.y, y + 14)
  }
  doc.moveDown(1)

  // The mentions.
  const natures = new Set(input.lines.map((l) => l.nature))
  const category = natures.size > 1 ? I.categories.both : natures.has('goods') ? I.categories.goods : I.categories.services
  doc.font('regular').fontSize(8.5).fillColor(COLORS.text)
  doc.text(`${I.category}${L.colon} ${category}.`, PAGE.margin, doc.y, { width: CONTENT_WIDTH })
  if (seller.vatOnDebits) doc.text(I.vatOnDebits, { width: CONTENT_WIDTH })
  doc.moveDown(0.6)
  doc.font('bold').text(I.payment)
  doc.font('regular').text(paymentTerms(lang, input), { width: CONTENT_WIDTH })
  if (!credits) {
    // The bank details and the late-payment mentions concern what the buyer pays: an invoice's.
    if (seller.iban) doc.text(`${L.iban} ${seller.iban}${seller.bic ? ` · ${L.bic} ${seller.bic}` : ''}`, { width: CONTENT_WIDTH })
    doc.moveDown(0.4)
    doc
      .fontSize(7.5)
      .fillColor(COLORS.muted)
      .text(
        paymentNotes(lang)
          .map((n) => n.text)
          .join(' '),
        { width: CONTENT_WIDTH },
      )
    doc.fillColor(COLORS.text)
  }

  drawFooters(
    doc,
    `${number === null ? title : `${title} ${number}`} · ${text(seller.name, 'seller name')}${seller.siren ? ` · ${L.siren} ${seller.siren}` : ''}`,
  )
  return pdfBuffer(doc)
}

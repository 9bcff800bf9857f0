import { formatScaled } from '../money/money.js'
import type { Money } from '../money/money-value.js'
import type { LegalEntity } from './legal-entities.js'
import { countryName, formatDate, formatDecimal, formatMoney, formatPercentHundredths, LABELS, type Lang } from './locale.js'
import { COLORS, createPdf, drawFooters, PAGE, pdfBuffer, plainText } from './pdf.js'
import { drawPartyBlocks, drawTitleBlock } from './pdf-blocks.js'
import { type Column, Table } from './pdf-table.js'
import type { PostalAddress } from './quote-document.js'

/** What an invoice PDF prints: plain data, so the documents module needs nothing of invoicing. */
export interface InvoiceDocumentInput {
  lang: Lang
  seller: LegalEntity
  buyer: { name: string; address: PostalAddress; vatId: string | null }
  invoice: { number: string; issueDate: string; dueDate: string; currency: string; net: Money; tax: Money; total: Money }
  lines: Array<{
    description: string
    sku: string
    quoteNumber: string
    orderNumber: string
    qtyMilli: bigint
    unit: string
    discountHundredths: bigint
    net: Money
    vatRateBp: number
    /** goods or services: the operation category the 2026 reform asks for. */
    nature: 'goods' | 'services'
  }>
  vat: Array<{ category: string; rateBp: number; base: Money; tax: Money; mention: string | null }>
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
      'Late payment: penalties at three times the French statutory interest rate from the day after the due date, and a fixed indemnity of EUR 40 for recovery costs (Code de commerce, art. L441-10 and D441-5). No discount for early payment.',
    vatOnDebits: 'Option for the payment of VAT on debits.',
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
      'Retard de paiement : pénalités au taux de trois fois le taux d’intérêt légal à compter du lendemain de l’échéance, et indemnité forfaitaire pour frais de recouvrement de 40 € (Code de commerce, art. L441-10 et D441-5). Pas d’escompte pour paiement anticipé.',
    vatOnDebits: 'Option pour le paiement de la taxe d’après les débits.',
  },
} as const

const CONTENT_WIDTH = 595.28 - 2 * PAGE.margin
const MAX_LINES = 10_000
const text = (value: string, what: string) => plainText(value, what, 300)

/** A French buyer's SIREN, read from its French VAT number (FR + key + SIREN): the 2026 reform prints it. */
export function sirenOfVatId(vatId: string | null): string | null {
  const m = vatId ? /^FR\d{2}(\d{9})$/.exec(vatId) : null
  return m ? m[1]! : null
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
 * the EUR 40 recovery indemnity; the VAT-on-debits option when the seller made it. The same
 * input gives the same bytes (the creation date is the issue date).
 */
export async function renderInvoiceDocument(input: InvoiceDocumentInput): Promise<Buffer> {
  const { lang, seller, buyer, invoice } = input
  const L = LABELS[lang]
  const I = INVOICE_LABELS[lang]
  if (input.lines.length > MAX_LINES) throw new RangeError(`an invoice document has at most ${MAX_LINES} lines`)
  const number = text(invoice.number, 'invoice number')
  const money = (m: Money) => formatMoney(m, lang)
  const doc = createPdf({ title: `${I.title} ${number}`, author: text(seller.name, 'seller name'), createdAt: new Date(`${invoice.issueDate}T00:00:00Z`) })

  drawTitleBlock(doc, text(seller.name, 'seller name'), I.title, [
    [L.number, number],
    [L.issuedOn, formatDate(invoice.issueDate, lang)],
    [I.dueDate, formatDate(invoice.dueDate, lang)],
  ])
  const buyerSiren = sirenOfVatId(buyer.vatId)
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
    [I.totalDue, money(invoice.total), true],
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
  doc.font('regular').text(I.payBy(formatDate(invoice.dueDate, lang)), { width: CONTENT_WIDTH })
  if (seller.iban) doc.text(`${L.iban} ${seller.iban}${seller.bic ? ` · ${L.bic} ${seller.bic}` : ''}`, { width: CONTENT_WIDTH })
  doc.moveDown(0.4)
  doc.fontSize(7.5).fillColor(COLORS.muted).text(I.latePenalties, { width: CONTENT_WIDTH })
  doc.fillColor(COLORS.text)

  drawFooters(doc, `${I.title} ${number} · ${text(seller.name, 'seller name')}${seller.siren ? ` · ${L.siren} ${seller.siren}` : ''}`)
  return pdfBuffer(doc)
}

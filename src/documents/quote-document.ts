import type { EvaluationSnapshot, PricedLine } from '../evaluation/evaluation.js'
import { formatScaled } from '../money/money.js'
import type { Money } from '../money/money-value.js'
import type { LegalEntity } from './legal-entities.js'
import { countryName, formatDate, formatDecimal, formatMoney, formatPercentHundredths, LABELS, type Labels, type Lang } from './locale.js'
import { markdownBlocks } from './markdown.js'
import { COLORS, createPdf, drawFooters, PAGE, pdfBuffer, plainText } from './pdf.js'
import { drawPartyBlocks, drawTitleBlock } from './pdf-blocks.js'
import { type Column, Table } from './pdf-table.js'
import type { TermsText } from './terms.js'

export interface PostalAddress {
  line1: string
  line2?: string
  city: string
  postalCode: string
  region?: string
  country: string
}

export interface QuoteDocumentInput {
  lang: Lang
  seller: LegalEntity
  buyer: { name: string; billingAddress: PostalAddress; vatId: string | null; contact: { name: string; email: string } | null }
  quote: { number: string; revision: number; issuedOn: string; validUntil: string; paymentTermsDays: number; notes: string | null }
  evaluation: EvaluationSnapshot
  terms: TermsText
}

/** What a caller may put in a document: beyond these, rendering is refused rather than a PDF of thousands of pages. */
export const DOCUMENT_LIMITS = { lines: 10_000, notes: 4000, text: 300 } as const

const CONTENT_WIDTH = 595.28 - 2 * PAGE.margin

/**
 * The quote as the buyer reads and signs it (A4 PDF): seller and buyer, the lines by section
 * (one-time, recurring with period, term and ramp years), adjustments, totals, payment terms,
 * notes, then the terms and conditions the quote refers to. Every amount is formatted exactly
 * from minor units; the same input gives the same bytes (the creation date is the issue date).
 */
export async function renderQuoteDocument(input: QuoteDocumentInput): Promise<Buffer> {
  const { lang, seller, quote, evaluation } = input
  const L = LABELS[lang]
  if (evaluation.lines.length > DOCUMENT_LIMITS.lines) throw new RangeError(`a quote document has at most ${DOCUMENT_LIMITS.lines} lines`)
  const number = plainText(quote.number, 'quote number', 100)
  const doc = createPdf({
    title: `${L.quoteTitle} ${number} (${L.revision.toLowerCase()} ${quote.revision})`,
    author: plainText(seller.name, 'seller name', DOCUMENT_LIMITS.text),
    createdAt: new Date(`${quote.issuedOn}T00:00:00Z`),
  })

  drawHeader(doc, input, L, number)
  drawParties(doc, input, L)

  const oneTime = evaluation.lines.filter((l) => l.type === 'one_time')
  const recurring = evaluation.lines.filter((l) => l.type !== 'one_time')
  if (evaluation.lines.length === 0) doc.font('regular').fontSize(9).text(L.noLines)
  if (oneTime.length > 0) drawSection(doc, L.oneTimeSection, oneTime, evaluation.lines, lang, false)
  if (recurring.length > 0) drawSection(doc, L.recurringSection, recurring, evaluation.lines, lang, true)

  drawTotals(doc, input, L)

  const terms = input.terms
  doc.addPage()
  drawTerms(doc, terms, L)

  drawFooters(doc, `${L.quoteTitle} ${number} · ${L.revision} ${quote.revision} · ${plainText(seller.name, 'seller name', DOCUMENT_LIMITS.text)}`)
  return pdfBuffer(doc)
}

function drawHeader(doc: PDFKit.PDFDocument, input: QuoteDocumentInput, L: Labels, number: string): void {
  const { seller, quote, lang } = input
  drawTitleBlock(doc, plainText(seller.name, 'seller name', DOCUMENT_LIMITS.text), L.quoteTitle, [
    [L.number, number],
    [L.revision, String(quote.revision)],
    [L.issuedOn, formatDate(quote.issuedOn, lang)],
    [L.validUntil, formatDate(quote.validUntil, lang)],
  ])
}

function addressLines(address: PostalAddress, lang: Lang): string[] {
  const text = (value: string, what: string) => plainText(value, what, DOCUMENT_LIMITS.text)
  return [
    text(address.line1, 'address line 1'),
    ...(address.line2 ? [text(address.line2, 'address line 2')] : []),
    `${text(address.postalCode, 'postal code')} ${text(address.city, 'city')}${address.region ? `, ${text(address.region, 'region')}` : ''}`,
    countryName(address.country, lang),
  ]
}

function drawParties(doc: PDFKit.PDFDocument, input: QuoteDocumentInput, L: Labels): void {
  const { seller, buyer, lang } = input
  const sellerLines = [
    ...addressLines(seller.address, lang),
    ...(seller.siren ? [`${L.siren} ${seller.siren}`] : []),
    ...(seller.siret ? [`${L.siret} ${seller.siret}`] : []),
    ...(seller.vatId ? [`${L.vatId} ${seller.vatId}`] : []),
    ...(seller.email ? [`${L.email} ${seller.email}`] : []),
    ...(seller.phone ? [`${L.phone} ${seller.phone}`] : []),
  ]
  const buyerLines = [
    ...addressLines(buyer.billingAddress, lang),
    ...(buyer.vatId ? [`${L.vatId} ${plainText(buyer.vatId, 'buyer VAT id', 40)}`] : []),
    ...(buyer.contact
      ? [
          `${L.contact} ${plainText(buyer.contact.name, 'contact name', DOCUMENT_LIMITS.text)}`,
          plainText(buyer.contact.email, 'contact email', DOCUMENT_LIMITS.text),
        ]
      : []),
  ]
  drawPartyBlocks(
    doc,
    { title: L.seller, name: plainText(seller.name, 'seller name', DOCUMENT_LIMITS.text), lines: sellerLines },
    { title: L.buyer, name: plainText(buyer.name, 'buyer name', DOCUMENT_LIMITS.text), lines: buyerLines },
  )
}

function quantityText(line: PricedLine, lang: Lang): string {
  // Thousandths, exact: "2.5" days, "120" seats; the decimal string goes to Intl, never a float.
  return formatDecimal(formatScaled(line.qtyMilli, 3).replace(/\.?0+$/, ''), lang)
}

/** Options right under their bundle when both are in the section; anything else where it stands. */
function sectionOrder(lines: PricedLine[]): Array<{ line: PricedLine; nested: boolean }> {
  const inSection = new Set(lines.map((l) => l.index))
  const nestedUnder = new Map<number, PricedLine[]>()
  for (const line of lines) {
    if (line.source === 'option' && line.parentIndex !== null && inSection.has(line.parentIndex)) {
      nestedUnder.set(line.parentIndex, [...(nestedUnder.get(line.parentIndex) ?? []), line])
    }
  }
  const ordered: Array<{ line: PricedLine; nested: boolean }> = []
  for (const line of lines) {
    if (line.source === 'option' && line.parentIndex !== null && inSection.has(line.parentIndex)) continue
    ordered.push({ line, nested: false })
    for (const option of nestedUnder.get(line.index) ?? []) ordered.push({ line: option, nested: true })
  }
  return ordered
}

function drawSection(doc: PDFKit.PDFDocument, title: string, lines: PricedLine[], all: PricedLine[], lang: Lang, recurring: boolean): void {
  const L = LABELS[lang]
  const money = (m: Money) => formatMoney(m, lang)
  const columns: Column[] = recurring
    ? [
        { header: L.sku, width: 74 },
        { header: L.description, width: 128 },
        { header: L.quantity, width: 34, align: 'right' },
        { header: L.listUnitPrice, width: 64, align: 'right' },
        { header: L.discount, width: 50, align: 'right' },
        { header: L.netPerPeriod, width: 76, align: 'right' },
        { header: L.net, width: 89.28, align: 'right' },
      ]
    : [
        { header: L.sku, width: 74 },
        { header: L.description, width: 204 },
        { header: L.quantity, width: 34, align: 'right' },
        { header: L.listUnitPrice, width: 64, align: 'right' },
        { header: L.discount, width: 50, align: 'right' },
        { header: L.net, width: 89.28, align: 'right' },
      ]
  if (doc.y + 60 > doc.page.height - doc.page.margins.bottom) doc.addPage()
  doc.font('bold').fontSize(11).text(title, PAGE.margin, doc.y)
  doc.moveDown(0.3)
  const table = new Table(doc, columns)
  table.header()
  const descriptionSpan = columns.length - 2
  for (const { line, nested } of sectionOrder(lines)) {
    const indent = nested ? 10 : 0
    const marks: string[] = []
    if (line.source === 'option') {
      const parent = all.find((l) => l.index === line.parentIndex)
      marks.push(nested || !parent ? L.optionOf : `${L.optionOf} ${parent.sku}`)
    }
    if (line.source === 'rule') marks.push(`${L.addedByRule}${line.addedBy ? ` ${line.addedBy}` : ''}`)
    const period = line.billingPeriod ? (L.periodNames[line.billingPeriod] ?? line.billingPeriod) : null
    const terms = recurring
      ? [
          period ? `${L.billingPeriod} ${period}` : null,
          line.termMonths !== null ? `${L.term} ${line.termMonths} ${L.months}` : null,
          `${line.periods} ${L.periods}`,
        ]
          .filter((p) => p !== null)
          .join(' · ')
      : ''
    const description = [line.name, marks.length > 0 ? `(${marks.join(', ')})` : null, terms || null].filter((p) => p !== null).join('\n')
    const discount =
      line.offListHundredths !== line.discountHundredths && line.offListHundredths !== 0n
        ? `${formatPercentHundredths(line.discountHundredths, lang)}\n(${formatPercentHundredths(line.offListHundredths, lang)})`
        : formatPercentHundredths(line.discountHundredths, lang)
    table.row({
      cells: [
        { text: line.sku, indent, bold: !nested },
        { text: description, indent },
        { text: quantityText(line, lang) },
        { text: money(line.listUnitPrice) },
        { text: discount },
        ...(recurring ? [{ text: money(line.netAmount) }] : []),
        { text: money(line.contractAmount), bold: true },
      ],
    })
    if (line.adjustments.length > 0) {
      const perPeriod = recurring ? ` / ${period ?? L.periods}` : ''
      const text = line.adjustments.map((a) => `${a.label} ${money(a.amount)}${perPeriod}`).join(' · ')
      table.row({
        continuation: true,
        fontSize: 7,
        cells: [{ text: '' }, { text: `${L.adjustments}${L.colon} ${text}`, span: descriptionSpan + 1, muted: true, indent }],
      })
    }
    for (const year of line.ramp ?? []) {
      table.row({
        continuation: true,
        fontSize: 7,
        cells: [
          { text: '' },
          { text: `${L.rampYear} ${year.year} · ${year.periods} ${L.periods}`, muted: true, indent: indent + 8 },
          { text: `${money(year.amountPerPeriod)} ${L.amountPerPeriod}`, span: descriptionSpan - 1, muted: true, align: 'right' },
          { text: money(year.amount), muted: true },
        ],
      })
    }
  }
  table.end()
  doc.moveDown(1)
}

function drawTotals(doc: PDFKit.PDFDocument, input: QuoteDocumentInput, L: Labels): void {
  const { evaluation, lang, quote } = input
  const totals = evaluation.totals
  const money = (m: Money) => formatMoney(m, lang)
  const rows: Array<[string, string, boolean]> = [
    [L.totalList, money(totals.list), false],
    [L.totalDiscount, money({ minor: -totals.discount.minor, currency: totals.discount.currency }), false],
    [L.totalOneTime, money(totals.oneTime), false],
    [L.totalAnnualRecurring, money(totals.annualRecurring), false],
    [L.totalNet, money(totals.net), true],
  ]
  const needed = rows.length * 14 + 110 + (quote.notes ? doc.heightOfString(quote.notes, { width: CONTENT_WIDTH }) : 0)
  if (doc.y + Math.min(needed, 300) > doc.page.height - doc.page.margins.bottom) doc.addPage()
  const labelX = PAGE.margin + CONTENT_WIDTH - 330
  doc.font('bold').fontSize(11).text(L.totals, PAGE.margin, doc.y)
  doc.moveDown(0.3)
  for (const [label, value, strong] of rows) {
    const y = doc.y
    if (strong)
      doc
        .moveTo(labelX, y)
        .lineTo(PAGE.margin + CONTENT_WIDTH, y)
        .lineWidth(0.6)
        .strokeColor(COLORS.text)
        .stroke()
    doc.font(strong ? 'bold' : 'regular').fontSize(strong ? 10 : 9)
    doc.text(label, labelX, y + 2, { width: 200 })
    doc.text(value, labelX + 200, y + 2, { width: 130, align: 'right' })
    doc.y = Math.max(doc.y, y + 14)
  }
  doc
    .font('regular')
    .fontSize(8)
    .fillColor(COLORS.muted)
    .text(L.taxes, labelX, doc.y + 2, { width: 330, align: 'right' })
  doc.fillColor(COLORS.text)
  doc.moveDown(1)
  doc.font('bold').fontSize(9).text(L.paymentTerms, PAGE.margin, doc.y)
  doc.font('regular').text(L.paymentTermsDays(quote.paymentTermsDays))
  if (quote.notes) {
    doc.moveDown(0.6)
    doc.font('bold').text(L.notes)
    doc.font('regular').text(plainText(quote.notes, 'notes', DOCUMENT_LIMITS.notes, { multiline: true }), { width: CONTENT_WIDTH })
  }
}

function drawTerms(doc: PDFKit.PDFDocument, terms: TermsText, L: Labels): void {
  doc.font('bold').fontSize(8).fillColor(COLORS.muted).text(L.termsAndConditions.toUpperCase(), PAGE.margin, doc.y)
  doc.font('bold').fontSize(13).fillColor(COLORS.text).text(terms.title, { width: CONTENT_WIDTH })
  doc.font('regular').fontSize(6.5).fillColor(COLORS.muted)
  doc.text(`${L.termsId} ${terms.id} · ${L.termsVersion} ${terms.version} · ${L.sha256} ${terms.sha256}`, { width: CONTENT_WIDTH })
  doc.fillColor(COLORS.text).moveDown(0.8)
  const blocks = markdownBlocks(terms.text)
  // The first heading is the title, already printed above.
  if (blocks[0]?.kind === 'heading' && blocks[0].level === 1) blocks.shift()
  for (const block of blocks) {
    if (block.kind === 'heading') {
      if (doc.y + 40 > doc.page.height - doc.page.margins.bottom) doc.addPage()
      doc
        .moveDown(0.4)
        .font('bold')
        .fontSize(block.level <= 2 ? 9.5 : 8.5)
        .text(block.text, PAGE.margin, doc.y, { width: CONTENT_WIDTH })
      doc.moveDown(0.2)
    } else if (block.kind === 'paragraph') {
      doc.font('regular').fontSize(8.5).text(block.text, PAGE.margin, doc.y, { width: CONTENT_WIDTH })
      doc.moveDown(0.4)
    } else {
      doc.font('regular').fontSize(8.5)
      if (doc.y + doc.heightOfString(block.text, { width: CONTENT_WIDTH - 12 }) > doc.page.height - doc.page.margins.bottom) doc.addPage()
      const y = doc.y
      doc.text('•', PAGE.margin + 2, y, { width: 10, lineBreak: false })
      doc.text(block.text, PAGE.margin + 12, y, { width: CONTENT_WIDTH - 12 })
      doc.moveDown(0.25)
    }
  }
}

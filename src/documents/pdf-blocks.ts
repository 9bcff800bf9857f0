import { COLORS, PAGE } from './pdf.js'

/** The blocks every QTC document opens with: who issues it and what it is, then its parties. */

const CONTENT_WIDTH = 595.28 - 2 * PAGE.margin

/** The seller's name on the left; the document's title and its facts (number, dates) on the right. */
export function drawTitleBlock(doc: PDFKit.PDFDocument, sellerName: string, title: string, facts: ReadonlyArray<readonly [string, string]>): void {
  const top = doc.y
  const left = PAGE.margin
  doc
    .font('bold')
    .fontSize(16)
    .text(sellerName, left, top, { width: CONTENT_WIDTH / 2 })
  const rightX = left + CONTENT_WIDTH / 2
  doc
    .font('bold')
    .fontSize(18)
    .text(title, rightX, top, { width: CONTENT_WIDTH / 2, align: 'right' })
  doc.font('regular').fontSize(9)
  for (const [label, value] of facts) {
    const y = doc.y
    doc.fillColor(COLORS.muted).text(label, rightX, y, { width: CONTENT_WIDTH / 4 - 4, align: 'right' })
    doc
      .fillColor(COLORS.text)
      .font('bold')
      .text(value, rightX + CONTENT_WIDTH / 4, y, { width: CONTENT_WIDTH / 4, align: 'right' })
    doc.font('regular')
  }
  doc.x = left
  doc.y = Math.max(doc.y, top + 40) + 14
}

export interface PartyBlock {
  title: string
  name: string
  lines: string[]
}

/** Two parties side by side (seller, buyer): a small title, the name, then their lines. */
export function drawPartyBlocks(doc: PDFKit.PDFDocument, left: PartyBlock, right: PartyBlock): void {
  const top = doc.y
  const colWidth = CONTENT_WIDTH / 2 - 10
  const block = (x: number, party: PartyBlock): number => {
    doc.font('bold').fontSize(8).fillColor(COLORS.muted).text(party.title.toUpperCase(), x, top, { width: colWidth })
    doc
      .font('bold')
      .fontSize(10)
      .fillColor(COLORS.text)
      .text(party.name, x, doc.y + 2, { width: colWidth })
    doc.font('regular').fontSize(8.5)
    for (const line of party.lines) doc.text(line, x, doc.y, { width: colWidth })
    return doc.y
  }
  const a = block(PAGE.margin, left)
  const b = block(PAGE.margin + CONTENT_WIDTH / 2 + 10, right)
  doc.x = PAGE.margin
  doc.y = Math.max(a, b) + 16
}

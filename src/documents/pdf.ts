import { createRequire } from 'node:module'
import PDFDocument from 'pdfkit'

/**
 * What every QTC PDF shares: A4 pages, DejaVu Sans embedded from the npm package (never the
 * OS's fonts, so a document renders the same on every machine; pdfkit's built-in Helvetica
 * also has no glyph for U+202F, the French thousands separator), fixed metadata, page footers.
 */

const require = createRequire(import.meta.url)
export const FONTS = {
  regular: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
  bold: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
} as const

export const PAGE = { margin: 42, footer: 24 } as const

export const COLORS = { text: '#111111', muted: '#555555', rule: '#999999', shade: '#eeeeee' } as const

export interface PdfInfo {
  title: string
  author: string
  subject?: string
  /** Stands for the document's creation: derived from the input, so equal inputs give equal bytes. */
  createdAt: Date
  /**
   * An archival PDF/A-3 (level b: the fonts are embedded, colours in sRGB with its output
   * intent, XMP metadata): what a Factur-X invoice is, the one PDF/A level that may embed files.
   */
  pdfA3?: boolean
}

/** A pdfkit document with the fonts registered and pages buffered (footers are written at the end, when the page count is known). */
export function createPdf(info: PdfInfo): PDFKit.PDFDocument {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: PAGE.margin, left: PAGE.margin, right: PAGE.margin, bottom: PAGE.margin + PAGE.footer },
    bufferPages: true,
    font: FONTS.regular,
    // pdfkit derives the file ID from the info dictionary, so a fixed CreationDate makes the output reproducible.
    info: {
      Title: info.title,
      Author: info.author,
      Subject: info.subject ?? info.title,
      Creator: 'QTC',
      Producer: 'QTC (pdfkit)',
      CreationDate: info.createdAt,
    },
    displayTitle: true,
    ...(info.pdfA3 ? { pdfVersion: '1.7' as const, subset: 'PDF/A-3b' as const } : {}),
  })
  doc.registerFont('regular', FONTS.regular)
  doc.registerFont('bold', FONTS.bold)
  doc.font('regular').fillColor(COLORS.text)
  return doc
}

/** Writes `left` and "n / total" at the foot of every buffered page. */
export function drawFooters(doc: PDFKit.PDFDocument, left: string): void {
  const { start, count } = doc.bufferedPageRange()
  for (let i = start; i < start + count; i++) {
    doc.switchToPage(i)
    const bottom = doc.page.margins.bottom
    // Writing below the bottom margin would make pdfkit open a new page: lift the margin while the footer is drawn.
    doc.page.margins.bottom = 0
    const y = doc.page.height - PAGE.margin - 10
    const width = doc.page.width - 2 * PAGE.margin
    doc
      .moveTo(PAGE.margin, y - 6)
      .lineTo(PAGE.margin + width, y - 6)
      .lineWidth(0.5)
      .strokeColor(COLORS.rule)
      .stroke()
    doc.font('regular').fontSize(7.5).fillColor(COLORS.muted)
    doc.text(left, PAGE.margin, y, { width: width - 60, lineBreak: false })
    doc.text(`${i - start + 1} / ${count}`, PAGE.margin + width - 60, y, { width: 60, align: 'right', lineBreak: false })
    doc.page.margins.bottom = bottom
  }
  doc.fillColor(COLORS.text)
}

/** The finished document's bytes. */
export function pdfBuffer(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    doc.on('data', (chunk: Buffer) => chunks.push(chunk))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
    doc.end()
  })
}

/**
 * Text from a user (a name, a title, a user agent, notes) as it will be printed: control
 * characters become spaces (a PDF draws no markup, so `<script>` prints as those characters).
 * Newlines are kept only where the caller allows them; over `max` characters is refused.
 */
export function plainText(value: string, what: string, max: number, options: { multiline?: boolean } = {}): string {
  if (value.length > max) throw new RangeError(`${what} is longer than ${max} characters`)
  const text = options.multiline ? value.replace(/\r\n?/g, '\n') : value
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029
    out += !control ? char : options.multiline && (char === '\n' || code === 0x2028 || code === 0x2029) ? '\n' : ' '
  }
  return out
}

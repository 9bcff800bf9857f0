import { COLORS } from './pdf.js'

/**
 * A table drawn with pdfkit that breaks across pages: each row is measured before it is drawn,
 * and a row that does not fit goes to a new page under a repeated header row.
 */

export interface Column {
  header: string
  width: number
  align?: 'left' | 'right'
}

export interface Cell {
  text: string
  /** How many columns the cell covers (1 by default). */
  span?: number
  bold?: boolean
  muted?: boolean
  /** Points of left indent inside the cell (bundle options sit under their bundle). */
  indent?: number
  align?: 'left' | 'right'
}

export interface Row {
  cells: Cell[]
  fontSize?: number
  /** Rows that belong to the previous one (adjustments, ramp years) are drawn without a rule above. */
  continuation?: boolean
  shade?: boolean
}

const PAD = 3

export class Table {
  private readonly x: number

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly columns: Column[],
    private readonly fontSize = 8,
  ) {
    this.x = doc.page.margins.left
  }

  private get width(): number {
    return this.columns.reduce((sum, c) => sum + c.width, 0)
  }

  private layout(row: Row): Array<{ cell: Cell; x: number; width: number; align: 'left' | 'right' }> {
    const placed: Array<{ cell: Cell; x: number; width: number; align: 'left' | 'right' }> = []
    let col = 0
    let x = this.x
    for (const cell of row.cells) {
      const span = Math.max(1, cell.span ?? 1)
      const cols = this.columns.slice(col, col + span)
      const width = cols.reduce((sum, c) => sum + c.width, 0)
      placed.push({ cell, x, width, align: cell.align ?? cols[0]?.align ?? 'left' })
      x += width
      col += span
    }
    return placed
  }

  private height(row: Row): number {
    const size = row.fontSize ?? this.fontSize
    let h = 0
    for (const { cell, width } of this.layout(row)) {
      this.doc.font(cell.bold ? 'bold' : 'regular').fontSize(size)
      h = Math.max(h, this.doc.heightOfString(cell.text || ' ', { width: width - 2 * PAD - (cell.indent ?? 0) }))
    }
    return h + 2 * PAD
  }

  /** Draws the header row at the current position. */
  header(): void {
    const row: Row = { cells: this.columns.map((c) => ({ text: c.header, bold: true })), shade: true }
    this.draw(row, this.height(row))
  }

  /** Draws a row, on a new page under the header when it does not fit on this one. */
  row(row: Row): void {
    const h = this.height(row)
    if (this.doc.y + h > this.doc.page.height - this.doc.page.margins.bottom) {
      this.doc.addPage()
      this.header()
    }
    this.draw(row, h)
  }

  private draw(row: Row, h: number): void {
    const { doc } = this
    const y = doc.y
    if (row.shade) doc.rect(this.x, y, this.width, h).fillColor(COLORS.shade).fill()
    if (!row.continuation)
      doc
        .moveTo(this.x, y)
        .lineTo(this.x + this.width, y)
        .lineWidth(0.4)
        .strokeColor(COLORS.rule)
        .stroke()
    for (const { cell, x, width, align } of this.layout(row)) {
      const indent = cell.indent ?? 0
      doc
        .font(cell.bold ? 'bold' : 'regular')
        .fontSize(row.fontSize ?? this.fontSize)
        .fillColor(cell.muted ? COLORS.muted : COLORS.text)
        .text(cell.text, x + PAD + indent, y + PAD, { width: width - 2 * PAD - indent, align })
    }
    doc.fillColor(COLORS.text)
    doc.x = this.x
    doc.y = y + h
  }

  /** A closing rule under the last row. */
  end(): void {
    this.doc
      .moveTo(this.x, this.doc.y)
      .lineTo(this.x + this.width, this.doc.y)
      .lineWidth(0.4)
      .strokeColor(COLORS.rule)
      .stroke()
  }
}

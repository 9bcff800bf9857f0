import { PDFDocument } from '@cantoo/pdf-lib'
import { formatDateTime, LABELS, type Lang } from './locale.js'
import { COLORS, createPdf, drawFooters, PAGE, pdfBuffer, plainText } from './pdf.js'
import { Table } from './pdf-table.js'

export interface CertificateInput {
  lang: Lang
  quoteNumber: string
  revision: number
  contractId: string
  signer: { name: string; title: string; email: string }
  signedAt: Date
  ip: string
  userAgent: string
  documentSha256: string
  evidenceHash: string
  consent: { text: string; version: string }
  terms: { id: string; version: string; sha256: string }
  timeline: Array<{ at: Date; type: string; ip?: string | null; userAgent?: string | null; detail?: string | null }>
}

/** What a certificate may carry; beyond these, rendering is refused (names, user agents and reasons come from the buyer's browser). */
export const CERTIFICATE_LIMITS = { text: 300, userAgent: 1000, consent: 4000, timeline: 500, detail: 1000 } as const

const CONTENT_WIDTH = 595.28 - 2 * PAGE.margin

/** The certificate page(s) alone, as a PDF of their own. */
export async function renderCertificate(c: CertificateInput): Promise<Buffer> {
  const L = LABELS[c.lang]
  const text = (value: string, what: string, max: number = CERTIFICATE_LIMITS.text) => plainText(value, what, max)
  if (c.timeline.length > CERTIFICATE_LIMITS.timeline) throw new RangeError(`a certificate lists at most ${CERTIFICATE_LIMITS.timeline} timeline events`)
  const quote = `${text(c.quoteNumber, 'quote number', 100)} · ${L.revision} ${c.revision}`
  const doc = createPdf({ title: `${L.certificateTitle} — ${quote}`, author: 'QTC', createdAt: c.signedAt })
  doc.font('bold').fontSize(15).text(L.certificateTitle, { width: CONTENT_WIDTH })
  doc.moveDown(0.8)

  const facts: Array<[string, string]> = [
    [L.contractId, text(c.contractId, 'contract id', 100)],
    [L.quote, quote],
    [L.signerName, text(c.signer.name, 'signer name')],
    [L.signerTitle, text(c.signer.title, 'signer title')],
    [L.email, text(c.signer.email, 'signer email')],
    [L.signedAtUtc, c.signedAt.toISOString()],
    [L.signedAt, formatDateTime(c.signedAt, c.lang)],
    [L.ipAddress, text(c.ip, 'IP address', 100)],
    [L.userAgent, text(c.userAgent, 'user agent', CERTIFICATE_LIMITS.userAgent)],
    [L.documentSha256, text(c.documentSha256, 'document SHA-256', 128)],
    [L.evidenceHash, text(c.evidenceHash, 'evidence hash', 128)],
    [L.terms, `${text(c.terms.id, 'terms id', 100)} · ${L.termsVersion} ${text(c.terms.version, 'terms version', 40)}`],
    [`${L.terms} ${L.sha256}`, text(c.terms.sha256, 'terms SHA-256', 128)],
    [L.consentVersion, text(c.consent.version, 'consent version', 100)],
    [L.consent, plainText(c.consent.text, 'consent text', CERTIFICATE_LIMITS.consent, { multiline: true })],
  ]
  const facts_ = new Table(doc, [
    { header: '', width: 140 },
    { header: '', width: CONTENT_WIDTH - 140 },
  ])
  for (const [label, value] of facts) facts_.row({ cells: [{ text: label, bold: true }, { text: value }] })
  facts_.end()

  doc.moveDown(1.2)
  doc.font('bold').fontSize(11).text(L.timeline, PAGE.margin, doc.y)
  doc.moveDown(0.3)
  const timeline = new Table(
    doc,
    [
      { header: L.at, width: 110 },
      { header: L.event, width: 95 },
      { header: L.ipAddress, width: 80 },
      { header: `${L.userAgent} / ${L.detail}`, width: CONTENT_WIDTH - 285 },
    ],
    7.5,
  )
  timeline.header()
  for (const event of c.timeline) {
    const about = [
      event.userAgent ? text(event.userAgent, 'timeline user agent', CERTIFICATE_LIMITS.userAgent) : null,
      event.detail ? text(event.detail, 'timeline detail', CERTIFICATE_LIMITS.detail) : null,
    ]
      .filter((p) => p !== null)
      .join('\n')
    timeline.row({
      cells: [
        { text: event.at.toISOString() },
        { text: text(event.type, 'timeline event', 100) },
        { text: event.ip ? text(event.ip, 'timeline IP', 100) : '' },
        { text: about },
      ],
    })
  }
  timeline.end()
  doc.moveDown(1)
  doc.font('regular').fontSize(7.5).fillColor(COLORS.muted).text(L.certificateFooter, PAGE.margin, doc.y, { width: CONTENT_WIDTH })
  doc.fillColor(COLORS.text)
  drawFooters(doc, `${L.certificateTitle} · ${text(c.contractId, 'contract id', 100)} · ${quote}`)
  return pdfBuffer(doc)
}

/**
 * The signed copy: the original document's bytes unchanged, followed by an incremental update
 * that appends the certificate page(s). The original's bytes are a prefix of the copy, so the
 * SHA-256 the buyer signed can be checked on the copy itself (hash its first
 * `original.length` bytes), and its pages are the very objects that were signed, not a re-rendering.
 */
export async function renderSignedCopy(original: Buffer, certificate: CertificateInput): Promise<Buffer> {
  const certificatePdf = await renderCertificate(certificate)
  const doc = await PDFDocument.load(original, { forIncrementalUpdate: true, updateMetadata: false })
  const source = await PDFDocument.load(certificatePdf, { updateMetadata: false })
  const pages = await doc.copyPages(source, source.getPageIndices())
  for (const page of pages) doc.addPage(page)
  return Buffer.from(await doc.commit({ useObjectStreams: false }))
}

import { createHash } from 'node:crypto'
import { PDFDocument } from '@cantoo/pdf-lib'
import t from 'tap'
import { renderQuoteDocument } from '../../src/documents/quote-document.js'
import { type CertificateInput, renderCertificate, renderSignedCopy } from '../../src/documents/signed-copy.js'
import { documentInput, evaluate } from '../helpers/documents.js'
import { pdfGlyphText, pdfText } from '../helpers/pdf-text.js'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

function certificate(original: Buffer, overrides: Partial<CertificateInput> = {}): CertificateInput {
  return {
    lang: 'fr',
    quoteNumber: 'Q-2026-000123',
    revision: 2,
    contractId: 'ctr_01J2ZK8Y5R6Q3W9X0V4T7S1N2M',
    signer: { name: '<script>alert(1)</script>', title: 'Directrice des achats', email: 'f.dupre@sgecl.example' },
    signedAt: new Date('2026-07-03T09:30:05Z'),
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) <b>Chrome</b>/126.0',
    documentSha256: sha256(original),
    evidenceHash: 'a'.repeat(64),
    consent: { text: 'J’ai lu le devis et les conditions générales et je les accepte.', version: 'consent-fr-1' },
    terms: { id: 'standard', version: '1.0', sha256: 'b'.repeat(64) },
    timeline: [
      { at: new Date('2026-07-02T08:00:00Z'), type: 'sent', detail: 'to f.dupre@sgecl.example' },
      { at: new Date('2026-07-03T09:20:00Z'), type: 'viewed', ip: '203.0.113.7', userAgent: 'Mozilla/5.0' },
      { at: new Date('2026-07-03T09:30:05Z'), type: 'signed', ip: '203.0.113.7', userAgent: 'Mozilla/5.0', detail: null },
    ],
    ...overrides,
  }
}

t.test('the signed copy is the original, unchanged, followed by the certificate', async (t) => {
  const original = await renderQuoteDocument(documentInput(await evaluate(), 'fr'))
  const input = certificate(original)
  const signed = await renderSignedCopy(original, input)
  const certificatePages = (await PDFDocument.load(await renderCertificate(input))).getPageCount()
  const originalPages = await pdfText(original)
  const signedPages = await pdfText(signed)
  t.equal(signedPages.length, originalPages.length + certificatePages, 'original pages + certificate pages')
  t.same(signedPages.slice(0, originalPages.length), originalPages, 'the original pages read the same')
  // An incremental update: the bytes the buyer signed are the copy's prefix, so their hash checks on the copy itself.
  t.ok(signed.subarray(0, original.length).equals(original), 'original bytes are a prefix')
  t.equal(sha256(signed.subarray(0, original.length)), input.documentSha256)

  const cert = (await pdfGlyphText(signed)).slice(originalPages.length).join('\n')
  t.match(cert, 'Certificat de signature électronique')
  t.match(cert, input.contractId)
  t.match(cert, 'Q-2026-000123 · Révision 2')
  t.match(cert, '<script>alert(1)</script>', 'the name prints as the characters typed')
  t.match(cert, '<b>Chrome</b>/126.0')
  t.match(cert, 'Directrice des achats')
  t.match(cert, input.documentSha256)
  t.match(cert, input.evidenceHash)
  t.match(cert, '2026-07-03T09:30:05.000Z')
  t.match(cert, '3 juillet 2026 à 09:30:05 UTC')
  t.match(cert, '203.0.113.7')
  t.match(cert, 'consent-fr-1')
  t.match(cert, input.consent.text)
  t.match(cert, `standard · version 1.0`)
  t.match(cert, 'b'.repeat(64))
  for (const event of ['sent', 'viewed', 'signed']) t.match(cert, event)
  t.match(cert, '2026-07-02T08:00:00.000Z')
})

t.test('the English certificate, and limits on what the buyer sent', async (t) => {
  const original = await renderQuoteDocument(documentInput(await evaluate(), 'en'))
  const signed = await renderSignedCopy(original, certificate(original, { lang: 'en' }))
  const last = (await pdfText(signed)).at(-1)!
  t.match(last, 'Certificate of electronic signature')
  t.match(last, 'Signed at (UTC) 2026-07-03T09:30:05.000Z')
  await t.rejects(renderSignedCopy(original, certificate(original, { userAgent: 'x'.repeat(1001) })), /user agent is longer than 1000/)
  const many = Array.from({ length: 501 }, () => ({ at: new Date('2026-07-03T09:30:05Z'), type: 'viewed' }))
  await t.rejects(renderSignedCopy(original, certificate(original, { timeline: many })), /at most 500 timeline events/)
})

t.test('a long timeline breaks across certificate pages', async (t) => {
  const original = await renderQuoteDocument(documentInput(await evaluate(), 'en'))
  const timeline = Array.from({ length: 120 }, (_, i) => ({
    at: new Date(Date.UTC(2026, 6, 2, 0, i)),
    type: 'viewed',
    ip: '198.51.100.1',
    userAgent: 'Mozilla/5.0',
  }))
  const input = certificate(original, { lang: 'en', timeline })
  const signed = await renderSignedCopy(original, input)
  const pages = await pdfText(signed)
  const originalCount = (await pdfText(original)).length
  t.ok(pages.length >= originalCount + 2, 'two certificate pages or more')
  t.match(pages.at(-1), 'At (UTC) Event IP address')
})

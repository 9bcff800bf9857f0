import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { CONSENT, type Lang } from '../contracts/contract.service.js'
import { formatDate, formatMoney } from '../documents/locale.js'
import type { EvaluationSnapshot } from '../evaluation/evaluation.js'
import { PAGE_TEXT, type PageText } from './page-text.js'

/**
 * The buyer's pages, rendered on the server from templates/ (Eta, every value escaped: a
 * name typed as markup shows as text). No script runs on them; the stylesheet is the only
 * other resource, so the Content-Security-Policy allows nothing else.
 */

const eta = new Eta({ views: fileURLToPath(new URL('./templates', import.meta.url)), autoEscape: true, cache: true })

/** The page's only resources besides itself, with strong validators so phones revalidate rather than download again. */
export const ASSETS: Record<string, { bytes: Buffer; type: string; etag: string }> = Object.fromEntries(
  [
    ['sign.css', 'text/css; charset=utf-8'],
    ['icon.svg', 'image/svg+xml'],
  ].map(([name, type]) => {
    const bytes = readFileSync(new URL(`./assets/${name}`, import.meta.url))
    return [name, { bytes, type, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"` }]
  }),
)

/** Nothing but this origin's stylesheet loads, forms post only here, and no other site may frame the page. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

interface Frame {
  lang: Lang
  sellerName: string
  /** The page's own path, to build the language switch links. */
  path: string
}

function frame({ lang, sellerName, path }: Frame, title: string) {
  return {
    lang,
    title,
    sellerName,
    t: PAGE_TEXT[lang],
    languages: (Object.keys(PAGE_TEXT) as Lang[]).map((l) => ({ lang: l, label: PAGE_TEXT[l].languageName, href: `${path}?lang=${l}`, current: l === lang })),
  }
}

export interface OpenPage extends Frame {
  token: string
  quote: { number: string; revision: number; validUntil: string; paymentTermsDays: number; buyer: string }
  evaluation: EvaluationSnapshot
  terms: { id: string; version: string }
  documentSha256: string
  errors: string[]
  form: { name: string; title: string; email: string; reason: string }
}

/** The quote summary with the two forms: sign, or decline. */
export function renderOpenPage(page: OpenPage): string {
  const t = PAGE_TEXT[page.lang]
  const { evaluation } = page
  const lines = evaluation.lines.map((l) => ({
    sku: l.sku,
    name: l.name,
    option: l.source === 'option',
    quantity: new Intl.NumberFormat(page.lang === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 3 }).format(l.quantity),
    period: l.type === 'recurring' && l.billingPeriod ? `${formatMoney(l.netAmount, page.lang)} ${t.per[l.billingPeriod] ?? ''} × ${t.periods(l.periods)}` : '',
    net: formatMoney(l.contractAmount, page.lang),
  }))
  const totals = {
    oneTime: evaluation.totals.oneTime.minor !== 0n ? formatMoney(evaluation.totals.oneTime, page.lang) : null,
    annualRecurring: evaluation.totals.annualRecurring.minor !== 0n ? formatMoney(evaluation.totals.annualRecurring, page.lang) : null,
    net: formatMoney(evaluation.totals.net, page.lang),
  }
  const base = `/sign/${page.token}`
  return eta.render('./open', {
    ...frame(page, `${t.quote} ${page.quote.number}`),
    quote: { ...page.quote, validUntil: formatDate(page.quote.validUntil, page.lang) },
    lines,
    totals,
    terms: page.terms,
    documentSha256: page.documentSha256,
    documentHref: `${base}/document.pdf`,
    signAction: `${base}/sign?lang=${page.lang}`,
    declineAction: `${base}/decline?lang=${page.lang}`,
    consent: { version: CONSENT.version, text: CONSENT.text[page.lang] },
    errors: page.errors,
    form: page.form,
  })
}

export type MessageKind = 'signed' | 'declined' | 'expired' | 'withdrawn' | 'invalid' | 'documentChanged' | 'tooMany'

/** A page that says where the contract stands, and never shows the quote. */
export function renderMessagePage(page: Frame & { kind: MessageKind; signedAt?: Date; signedCopyHref?: string }): string {
  const t: PageText = PAGE_TEXT[page.lang]
  const content: Record<MessageKind, { heading: string; paragraphs: string[] }> = {
    signed: { heading: t.signedHeading, paragraphs: [t.signedBody(page.signedAt ? formatDate(page.signedAt, page.lang) : '')] },
    declined: { heading: t.declinedHeading, paragraphs: [t.declinedBody] },
    expired: { heading: t.expiredHeading, paragraphs: [t.expiredBody] },
    withdrawn: { heading: t.withdrawnHeading, paragraphs: [t.withdrawnBody] },
    invalid: { heading: t.invalidHeading, paragraphs: [t.invalidBody] },
    documentChanged: { heading: t.documentChangedHeading, paragraphs: [t.documentChangedBody] },
    tooMany: { heading: t.tooManyHeading, paragraphs: [t.tooManyBody] },
  }
  const { heading, paragraphs } = content[page.kind]
  return eta.render('./message', {
    ...frame(page, heading),
    kind: page.kind,
    heading,
    paragraphs,
    link: page.kind === 'signed' && page.signedCopyHref ? { href: page.signedCopyHref, label: t.downloadSigned } : null,
  })
}

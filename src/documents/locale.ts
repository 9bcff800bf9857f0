import { createRequire } from 'node:module'
import countries from 'i18n-iso-countries'
import { currencyExponent } from '../money/currency.js'
import { formatAmount, formatScaled } from '../money/money.js'
import type { Money } from '../money/money-value.js'

/** The languages QTC writes documents and signing pages in. */
export type Lang = 'en' | 'fr'
export const LANGS: readonly Lang[] = ['en', 'fr']

/** The Intl locale of each language: British English (day-month-year dates, a European seller), and French as written in France. */
export const LOCALES: Readonly<Record<Lang, string>> = { en: 'en-GB', fr: 'fr-FR' }

// Country names come from the same maintained list that validates the codes; only the two
// languages documents use are registered, from the package's own JSON files.
const require = createRequire(import.meta.url)
countries.registerLocale(require('i18n-iso-countries/langs/en.json'))
countries.registerLocale(require('i18n-iso-countries/langs/fr.json'))

/**
 * An amount as a reader expects it: `12 345,67 €` (fr, U+202F between thousands, U+00A0
 * before €) or `€12,345.67` (en). The decimal string from `formatAmount` is handed to Intl as a
 * string, which formats it exactly: no Number, so no binary rounding, whatever the size.
 */
export function formatMoney(money: Money, lang: Lang): string {
  const digits = currencyExponent(money.currency)
  const format = new Intl.NumberFormat(LOCALES[lang], {
    style: 'currency',
    currency: money.currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
  // Intl's types predate string operands (Intl.NumberFormat v3); Node 20 formats them exactly.
  return format.format(formatAmount(money.minor, money.currency) as unknown as number)
}

/** A plain decimal string (a quantity, a percentage) with the language's separators, exactly. */
export function formatDecimal(decimal: string, lang: Lang, fractionDigits?: { min: number; max: number }): string {
  const format = new Intl.NumberFormat(LOCALES[lang], {
    minimumFractionDigits: fractionDigits?.min ?? 0,
    maximumFractionDigits: fractionDigits?.max ?? 20,
  })
  return format.format(decimal as unknown as number)
}

/** A percentage in hundredths (1250n): `12.50 %` (en) or `12,50 %` (fr, with the narrow no-break space French typography puts before %). */
export function formatPercentHundredths(hundredths: bigint, lang: Lang): string {
  const number = formatDecimal(formatScaled(hundredths, 2), lang, { min: 2, max: 2 })
  return `${number}${lang === 'fr' ? '\u202f' : '\u00a0'}%`
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/

function toDate(isoDateOrDate: string | Date): Date {
  if (isoDateOrDate instanceof Date) return isoDateOrDate
  // A calendar date is midnight UTC, so it prints as the same day wherever the server runs.
  const date = new Date(DATE_ONLY.test(isoDateOrDate) ? `${isoDateOrDate}T00:00:00Z` : isoDateOrDate)
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a date: ${JSON.stringify(isoDateOrDate.slice(0, 40))}`)
  return date
}

/** A calendar date, in UTC: `1 July 2026` / `1 juillet 2026`. */
export function formatDate(isoDateOrDate: string | Date, lang: Lang): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'long', timeZone: 'UTC' }).format(toDate(isoDateOrDate))
}

/** A moment, in UTC, to the second: `1 July 2026 at 09:30:05 UTC` / `1 juillet 2026 à 09:30:05 UTC`. */
export function formatDateTime(moment: Date, lang: Lang): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'long', timeStyle: 'long', timeZone: 'UTC' }).format(moment)
}

/** A country's name in the language (`FR` → France), or the code itself when the list has no name for it. */
export function countryName(code: string, lang: Lang): string {
  return countries.getName(code, lang) ?? code
}

// Accept-Language is sent by the buyer's browser: only its first part is read, and only so many entries.
const MAX_ACCEPT_LANGUAGE_CHARS = 1000
const MAX_ACCEPT_LANGUAGE_ENTRIES = 30

function asLang(tag: string): Lang | undefined {
  const primary = tag.trim().toLowerCase().split('-')[0]
  return LANGS.find((lang) => lang === primary)
}

/**
 * The language to answer in: an explicit choice (`?lang=fr`, `fr-CA`) when it is one QTC
 * writes, else the best of the Accept-Language header by its q weights (ties keep the
 * header's order), else English.
 */
export function negotiateLang(acceptLanguage: string | undefined, explicit?: string): Lang {
  const chosen = explicit === undefined ? undefined : asLang(explicit.slice(0, 35))
  if (chosen) return chosen
  if (!acceptLanguage) return 'en'
  const ranges = acceptLanguage
    .slice(0, MAX_ACCEPT_LANGUAGE_CHARS)
    .split(',')
    .slice(0, MAX_ACCEPT_LANGUAGE_ENTRIES)
    .map((part, order) => {
      const [tag = '', ...params] = part.split(';')
      const q = params.map((p) => /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined)
      return { lang: asLang(tag), q: q === undefined ? 1 : Number(q), order }
    })
    .filter((r): r is { lang: Lang; q: number; order: number } => r.lang !== undefined && r.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order)
  return ranges[0]?.lang ?? 'en'
}

/** Every label of the quote PDF and the signature certificate; the signing page reuses some. */
export interface Labels {
  quoteTitle: string
  number: string
  revision: string
  issuedOn: string
  validUntil: string
  seller: string
  buyer: string
  siren: string
  siret: string
  vatId: string
  contact: string
  email: string
  phone: string
  iban: string
  bic: string
  sku: string
  description: string
  quantity: string
  listUnitPrice: string
  discount: string
  netPerPeriod: string
  net: string
  oneTimeSection: string
  recurringSection: string
  billingPeriod: string
  periodNames: Record<string, string>
  term: string
  months: string
  periods: string
  rampYear: string
  amountPerPeriod: string
  amount: string
  optionOf: string
  addedByRule: string
  adjustments: string
  /** A colon as the language writes it after a label (French puts a narrow no-break space before it). */
  colon: string
  totals: string
  totalList: string
  totalDiscount: string
  totalNet: string
  totalOneTime: string
  totalAnnualRecurring: string
  taxes: string
  paymentTerms: string
  paymentTermsDays: (days: number) => string
  notes: string
  termsAndConditions: string
  termsId: string
  termsVersion: string
  sha256: string
  page: string
  noLines: string
  certificateTitle: string
  contractId: string
  quote: string
  signer: string
  signerName: string
  signerTitle: string
  signedAt: string
  signedAtUtc: string
  ipAddress: string
  userAgent: string
  documentSha256: string
  evidenceHash: string
  consent: string
  consentVersion: string
  terms: string
  timeline: string
  at: string
  event: string
  detail: string
  certificateFooter: string
}

export const LABELS: Readonly<Record<Lang, Labels>> = {
  en: {
    quoteTitle: 'Quote',
    number: 'Number',
    revision: 'Revision',
    issuedOn: 'Issued on',
    validUntil: 'Valid until',
    seller: 'Seller',
    buyer: 'Customer',
    siren: 'SIREN',
    siret: 'SIRET',
    vatId: 'VAT number',
    contact: 'Contact',
    email: 'Email',
    phone: 'Phone',
    iban: 'IBAN',
    bic: 'BIC',
    sku: 'SKU',
    description: 'Description',
    quantity: 'Qty',
    listUnitPrice: 'List unit price',
    discount: 'Discount',
    netPerPeriod: 'Net per period',
    net: 'Net',
    oneTimeSection: 'One-time charges',
    recurringSection: 'Recurring charges',
    billingPeriod: 'Billed per',
    periodNames: { month: 'month', quarter: 'quarter', year: 'year' },
    term: 'Term',
    months: 'months',
    periods: 'periods',
    rampYear: 'Year',
    amountPerPeriod: 'per period',
    amount: 'Amount',
    optionOf: 'option',
    addedByRule: 'added by rule',
    adjustments: 'Adjustments',
    colon: ':',
    totals: 'Totals',
    totalList: 'List price total',
    totalDiscount: 'Discounts',
    totalNet: 'Net contract total',
    totalOneTime: 'One-time total',
    totalAnnualRecurring: 'Annual recurring total',
    taxes: 'Taxes not included; computed on invoice.',
    paymentTerms: 'Payment terms',
    paymentTermsDays: (days) => (days === 0 ? 'Due on receipt of invoice' : `Net ${days} days from invoice date`),
    notes: 'Notes',
    termsAndConditions: 'Terms and conditions',
    termsId: 'Terms',
    termsVersion: 'version',
    sha256: 'SHA-256',
    page: 'Page',
    noLines: 'No lines.',
    certificateTitle: 'Certificate of electronic signature',
    contractId: 'Contract',
    quote: 'Quote',
    signer: 'Signer',
    signerName: 'Name',
    signerTitle: 'Title',
    signedAt: 'Signed at',
    signedAtUtc: 'Signed at (UTC)',
    ipAddress: 'IP address',
    userAgent: 'User agent',
    documentSha256: 'Document SHA-256',
    evidenceHash: 'Evidence hash',
    consent: 'Consent',
    consentVersion: 'Consent version',
    terms: 'Terms and conditions',
    timeline: 'Timeline',
    at: 'At (UTC)',
    event: 'Event',
    detail: 'Detail',
    certificateFooter:
      'Simple electronic signature (eIDAS art. 25): typed name and explicit consent. The pages before this certificate are the signed document, unchanged.',
  },
  fr: {
    quoteTitle: 'Devis',
    number: 'Numéro',
    revision: 'Révision',
    issuedOn: 'Émis le',
    validUntil: 'Valable jusqu’au',
    seller: 'Vendeur',
    buyer: 'Client',
    siren: 'SIREN',
    siret: 'SIRET',
    vatId: 'N° TVA intracommunautaire',
    contact: 'Contact',
    email: 'E-mail',
    phone: 'Téléphone',
    iban: 'IBAN',
    bic: 'BIC',
    sku: 'Référence',
    description: 'Désignation',
    quantity: 'Qté',
    listUnitPrice: 'Prix unitaire catalogue',
    discount: 'Remise',
    netPerPeriod: 'Net par période',
    net: 'Net',
    oneTimeSection: 'Frais ponctuels',
    recurringSection: 'Abonnements',
    billingPeriod: 'Facturé par',
    periodNames: { month: 'mois', quarter: 'trimestre', year: 'an' },
    term: 'Durée',
    months: 'mois',
    periods: 'périodes',
    rampYear: 'Année',
    amountPerPeriod: 'par période',
    amount: 'Montant',
    optionOf: 'option',
    addedByRule: 'ajoutée par règle',
    adjustments: 'Ajustements',
    colon: '\u202f:',
    totals: 'Totaux',
    totalList: 'Total au prix catalogue',
    totalDiscount: 'Remises',
    totalNet: 'Total net du contrat',
    totalOneTime: 'Total ponctuel',
    totalAnnualRecurring: 'Total récurrent annuel',
    taxes: 'Hors taxes\u202f; TVA calculée sur facture.',
    paymentTerms: 'Conditions de paiement',
    paymentTermsDays: (days) => (days === 0 ? 'Payable à réception de la facture' : `${days} jours nets à compter de la date de facture`),
    notes: 'Remarques',
    termsAndConditions: 'Conditions générales',
    termsId: 'Conditions',
    termsVersion: 'version',
    sha256: 'SHA-256',
    page: 'Page',
    noLines: 'Aucune ligne.',
    certificateTitle: 'Certificat de signature électronique',
    contractId: 'Contrat',
    quote: 'Devis',
    signer: 'Signataire',
    signerName: 'Nom',
    signerTitle: 'Fonction',
    signedAt: 'Signé le',
    signedAtUtc: 'Signé le (UTC)',
    ipAddress: 'Adresse IP',
    userAgent: 'Navigateur (user agent)',
    documentSha256: 'SHA-256 du document',
    evidenceHash: 'Empreinte du dossier de preuve',
    consent: 'Consentement',
    consentVersion: 'Version du consentement',
    terms: 'Conditions générales',
    timeline: 'Chronologie',
    at: 'Date (UTC)',
    event: 'Événement',
    detail: 'Détail',
    certificateFooter:
      'Signature électronique simple (eIDAS art. 25) : nom saisi et consentement exprès. Les pages qui précèdent ce certificat sont le document signé, inchangé.',
  },
}

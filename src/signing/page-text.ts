import type { Lang } from '../contracts/contract.service.js'

/** Every word the buyer's page shows, in each language it speaks. */
export interface PageText {
  language: string
  languageName: string
  quote: string
  revision: string
  validUntil: string
  forAccount: string
  fixErrors: string
  lines: string
  product: string
  quantity: string
  net: string
  per: Record<string, string>
  periods: (n: number) => string
  oneTime: string
  annualRecurring: string
  contractTotal: string
  taxesNote: string
  paymentTerms: (days: number) => string
  document: string
  downloadPdf: string
  termsIncluded: (id: string, version: string) => string
  signTitle: string
  fullName: string
  jobTitle: string
  email: string
  signButton: string
  declineTitle: string
  reason: string
  declineButton: string
  missing: Record<'name' | 'title' | 'email' | 'consent' | 'reason', string>
  invalidEmail: string
  signedHeading: string
  signedBody: (date: string) => string
  downloadSigned: string
  declinedHeading: string
  declinedBody: string
  expiredHeading: string
  expiredBody: string
  withdrawnHeading: string
  withdrawnBody: string
  invalidHeading: string
  invalidBody: string
  documentChangedHeading: string
  documentChangedBody: string
  tooManyHeading: string
  tooManyBody: string
}

export const PAGE_TEXT: Record<Lang, PageText> = {
  en: {
    language: 'Language',
    languageName: 'English',
    quote: 'Quote',
    revision: 'Revision',
    validUntil: 'valid until',
    forAccount: 'for',
    fixErrors: 'Please correct the following:',
    lines: 'What you are ordering',
    product: 'Product',
    quantity: 'Quantity',
    net: 'Net',
    per: { month: 'per month', quarter: 'per quarter', year: 'per year' },
    periods: (n) => `${n} ${n === 1 ? 'period' : 'periods'}`,
    oneTime: 'One-time',
    annualRecurring: 'Recurring per year',
    contractTotal: 'Contract total',
    taxesNote: 'Amounts exclude taxes, which the invoice adds',
    paymentTerms: (days) => `payment within ${days} days of invoice`,
    document: 'The document',
    downloadPdf: 'Download the quote (PDF)',
    termsIncluded: (id, version) => `It includes the terms and conditions "${id}", version ${version}`,
    signTitle: 'Sign',
    fullName: 'Full name',
    jobTitle: 'Title',
    email: 'Email',
    signButton: 'Sign the quote',
    declineTitle: 'Or decline',
    reason: 'Reason',
    declineButton: 'Decline the quote',
    missing: {
      name: 'Your full name is required.',
      title: 'Your title is required.',
      email: 'Your email is required.',
      consent: 'Tick the box to consent to signing electronically.',
      reason: 'Say why you decline.',
    },
    invalidEmail: 'The email address is not valid.',
    signedHeading: 'The quote is signed',
    signedBody: (date) => `It was signed on ${date}. Thank you.`,
    downloadSigned: 'Download the signed copy (PDF)',
    declinedHeading: 'The quote was declined',
    declinedBody: 'The seller has been told. Contact them if you change your mind.',
    expiredHeading: 'This link has expired',
    expiredBody: 'The quote is no longer valid. Ask the seller for a new one.',
    withdrawnHeading: 'This quote was withdrawn',
    withdrawnBody: 'The seller changed or withdrew it. A new link will come with the new version.',
    invalidHeading: 'This link is not valid',
    invalidBody: 'Check that you opened the whole link from the message you received.',
    documentChangedHeading: 'The document has changed',
    documentChangedBody: 'The document no longer matches the one this link was issued for, so nothing was signed. Ask the seller for a new link.',
    tooManyHeading: 'Too many attempts',
    tooManyBody: 'Wait a minute and try again.',
  },
  fr: {
    language: 'Langue',
    languageName: 'Français',
    quote: 'Devis',
    revision: 'Révision',
    validUntil: 'valable jusqu’au',
    forAccount: 'pour',
    fixErrors: 'Merci de corriger :',
    lines: 'Votre commande',
    product: 'Produit',
    quantity: 'Quantité',
    net: 'Net',
    per: { month: 'par mois', quarter: 'par trimestre', year: 'par an' },
    periods: (n) => `${n} ${n === 1 ? 'période' : 'périodes'}`,
    oneTime: 'Ponctuel',
    annualRecurring: 'Récurrent par an',
    contractTotal: 'Total du contrat',
    taxesNote: 'Montants hors taxes ; la TVA est ajoutée sur facture',
    paymentTerms: (days) => `paiement à ${days} jours date de facture`,
    document: 'Le document',
    downloadPdf: 'Télécharger le devis (PDF)',
    termsIncluded: (id, version) => `Il comprend les conditions générales «\u202f${id}\u202f», version ${version}`,
    signTitle: 'Signer',
    fullName: 'Nom complet',
    jobTitle: 'Fonction',
    email: 'E-mail',
    signButton: 'Signer le devis',
    declineTitle: 'Ou refuser',
    reason: 'Motif',
    declineButton: 'Refuser le devis',
    missing: {
      name: 'Votre nom complet est requis.',
      title: 'Votre fonction est requise.',
      email: 'Votre e-mail est requis.',
      consent: 'Cochez la case pour consentir à la signature électronique.',
      reason: 'Indiquez le motif du refus.',
    },
    invalidEmail: 'L’adresse e-mail n’est pas valide.',
    signedHeading: 'Le devis est signé',
    signedBody: (date) => `Il a été signé le ${date}. Merci.`,
    downloadSigned: 'Télécharger l’exemplaire signé (PDF)',
    declinedHeading: 'Le devis a été refusé',
    declinedBody: 'Le vendeur en est informé. Contactez-le si vous changez d’avis.',
    expiredHeading: 'Ce lien a expiré',
    expiredBody: 'Le devis n’est plus valable. Demandez-en un nouveau au vendeur.',
    withdrawnHeading: 'Ce devis a été retiré',
    withdrawnBody: 'Le vendeur l’a modifié ou retiré. Un nouveau lien accompagnera la nouvelle version.',
    invalidHeading: 'Ce lien n’est pas valide',
    invalidBody: 'Vérifiez que vous avez ouvert le lien complet du message reçu.',
    documentChangedHeading: 'Le document a changé',
    documentChangedBody: 'Le document ne correspond plus à celui pour lequel ce lien a été émis : rien n’a été signé. Demandez un nouveau lien au vendeur.',
    tooManyHeading: 'Trop de tentatives',
    tooManyBody: 'Patientez une minute puis réessayez.',
  },
}

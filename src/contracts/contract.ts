import type { Transitions } from '../shared/state-machine.js'

/** The contract domain: what one buyer is asked to sign — a presented quote revision, its document and terms. */

export const CONTRACT_STATUSES = ['sent', 'viewed', 'signed', 'declined', 'expired', 'withdrawn'] as const
export type ContractStatus = (typeof CONTRACT_STATUSES)[number]

export const CONTRACT_ACTIONS = ['view', 'sign', 'decline', 'expire', 'withdraw'] as const
export type ContractAction = (typeof CONTRACT_ACTIONS)[number]

/**
 *   sent ─view─► viewed
 *   sent | viewed ─sign─► signed | ─decline─► declined | ─expire─► expired | ─withdraw─► withdrawn
 * A link only signs while its contract is sent or viewed; every other state is final.
 */
export const CONTRACT_TRANSITIONS: Transitions<ContractStatus, ContractAction> = {
  sent: { view: 'viewed', sign: 'signed', decline: 'declined', expire: 'expired', withdraw: 'withdrawn' },
  viewed: { sign: 'signed', decline: 'declined', expire: 'expired', withdraw: 'withdrawn' },
  signed: {},
  declined: {},
  expired: {},
  withdrawn: {},
}

export const OPEN_CONTRACT_STATUSES: readonly ContractStatus[] = ['sent', 'viewed']

export type Lang = 'en' | 'fr'

export interface TermsRecord {
  id: string
  version: string
  /** SHA-256 of the terms text in the document's language. */
  sha256: string
}

export interface Contract {
  id: string
  quoteId: string
  revision: number
  quoteNumber: string
  accountId: string
  /** The quote's owner: who may see the quote may see its contract. */
  ownerId: string
  contactId: string
  status: ContractStatus
  lang: Lang
  expiresOn: string
  terms: TermsRecord
  documentSha256: string
  signedDocumentSha256: string | null
  evidence: SignatureEvidence | null
  evidenceHash: string | null
  declineReason: string | null
  createdBy: string
  /** The seller legal entity the document was issued by (null for contracts issued before sellers were chosen per quote). */
  sellerId: string | null
  version: number
  createdAt: Date
  updatedAt: Date
}

/** What the signer typed and consented to, and where from: the evidence kept with a signature. */
export interface SignatureEvidence {
  contractId: string
  quoteNumber: string
  revision: number
  signer: { name: string; title: string; email: string }
  consent: { version: string; text: string }
  terms: TermsRecord
  signedAt: string
  ip: string
  userAgent: string
  documentSha256: string
}

export interface ContractEvent {
  id: string
  contractId: string
  type: string
  at: Date
  ip: string | null
  userAgent: string | null
  detail: string | null
}

/**
 * The consent the signer gives by ticking the box, versioned: the text shown is the text
 * recorded with the evidence. A change of wording is a new version.
 */
export const CONSENT = {
  version: '1',
  text: {
    en: 'I agree to sign this quote electronically. I have read the document and the terms and conditions it includes, and I intend my typed name to be my signature, binding the company I represent to this order.',
    fr: "J'accepte de signer ce devis électroniquement. J'ai lu le document et les conditions générales qu'il contient, et mon nom saisi vaut signature, engageant la société que je représente pour cette commande.",
  },
} as const satisfies { version: string; text: Record<Lang, string> }

import type { ApprovalView } from '../approvals/approval.service.js'
import type { Db } from '../db/database.js'
import type { LegalEntities } from '../documents/legal-entities.js'
import type { TermsLibrary, TermsRef } from '../documents/terms.js'
import type { Cart, CartLine } from '../evaluation/cart.schema.js'
import type { EvaluationSnapshot } from '../evaluation/evaluation.js'
import type { RuleSetRegistry } from '../rules/rule-set.service.js'
import type { Clock } from '../shared/clock.js'
import type { QuoteStatus } from './quote-state.js'

/** The quote domain: a priced offer to one account, built over revisions. Use cases live one per file beside this one. */

export interface Quote {
  id: string
  number: string
  accountId: string
  ownerId: string
  currency: string
  status: QuoteStatus
  currentRevision: number
  validUntil: string
  paymentTermsDays: number
  notes: string | null
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface QuoteRevision {
  quoteId: string
  revision: number
  cart: Cart
  /** What was priced, as the typed snapshot (amounts as Money): what approvals bind to and orders will copy. */
  evaluation: EvaluationSnapshot
  decisionId: string
  fingerprint: unknown
  fingerprintHash: string
  createdBy: string
  createdAt: Date
  /** The terms and conditions in force when the revision was priced (null for revisions priced before terms were recorded). */
  terms: TermsRef | null
}

export interface QuoteDeps {
  db: Db
  clock: Clock
  ruleSets: RuleSetRegistry
  quoteValidityDays: number
  /** Terms and conditions, and the seller's legal entities: what a quote document states besides its prices. */
  documents: { terms: TermsLibrary; sellers: LegalEntities }
  /** The buyer's page for a signing token (QTC_PUBLIC_URL + /sign/<token>). */
  signingUrl(token: string): string
}

/** What a rep sends to create or revise a quote; the account supplies segment, country and VAT id. */
export interface QuoteInput {
  lines: CartLine[]
  promoCodes?: string[]
  channel?: Cart['channel']
  /** The pricing date; defaults to today. */
  pricingDate?: string
  paymentTermsDays?: number
  validUntil?: string
  notes?: string | null
  purchaseHistory?: NonNullable<Cart['account']['purchaseHistory']>
}

export interface QuoteView extends Quote {
  revision: QuoteRevision
  approval: ApprovalView | null
}

export { DEFAULT_PAYMENT_TERMS_DAYS } from '../evaluation/cart.schema.js'

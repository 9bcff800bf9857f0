import type { Db } from '../db/database.js'
import type { LegalEntities } from '../documents/legal-entities.js'
import type { Money } from '../money/money-value.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Clock } from '../shared/clock.js'
import type { Transitions } from '../shared/state-machine.js'
import type { EInvoicePlatform } from './einvoice-platform.js'

/** What the invoicing use cases run with, built once at start-up. */
export interface InvoicingDeps {
  db: Db
  clock: Clock
  /** The rule set in service: its tax rules decide the VAT of each line at issue. */
  ruleSet(): RuleSet
  sellers: LegalEntities
  /** The certified platform invoices are deposited on; none configured: they are not. */
  platform?: EInvoicePlatform | null
}

export const INVOICE_STATUSES = ['issued', 'partially_paid', 'paid', 'overdue', 'credited'] as const
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number]

/** What of an invoice is settled, in minor units: credit notes, and payments or credit applied. */
export interface Settlement {
  totalMinor: bigint
  creditedMinor: bigint
  paidMinor: bigint
  dueDate: string
}

export function settlementOf(i: Pick<Invoice, 'total' | 'credited' | 'paid' | 'dueDate'>): Settlement {
  return { totalMinor: i.total.minor, creditedMinor: i.credited.minor, paidMinor: i.paid.minor, dueDate: i.dueDate }
}

/** What the buyer still owes: never negative (the database holds credited + paid ≤ total). */
export function openMinorOf(s: Settlement): bigint {
  return s.totalMinor - s.creditedMinor - s.paidMinor
}

/**
 * An invoice's status follows from its settlement and the day: nothing open is `paid` (or
 * `credited`, when no payment took part), something open past the due date `overdue`, then
 * `partially_paid` or `issued`. One function, so every path that settles an invoice agrees.
 */
export function settlementStatus(s: Settlement, today: string): InvoiceStatus {
  const open = openMinorOf(s)
  if (open === 0n) return s.paidMinor > 0n ? 'paid' : 'credited'
  if (today > s.dueDate) return 'overdue'
  return s.paidMinor > 0n ? 'partially_paid' : 'issued'
}

export interface Party {
  name: string
  address: { line1: string; line2?: string; postalCode: string; city: string; country: string }
  vatId: string | null
  /** The seller's French company number (SIREN), when it has one; the buyer's is not known yet. */
  siren?: string | null
}

export interface InvoiceLine {
  lineNo: number
  orderId: string
  orderNumber: string
  orderLineNo: number
  scheduleSeq: number
  quoteNumber: string
  sku: string
  description: string
  qtyMilli: bigint
  unit: string
  periodStart: string | null
  periodEnd: string | null
  discountHundredths: bigint
  net: Money
  revenueTreatment: 'point_in_time' | 'ratable'
  productTaxCategory: string
  vat: { category: string; rateBp: number; mention: string | null; exemptionCode: string | null; ruleId: string }
  billedThroughMilli: bigint
  /** 0 on a first invoice; one more on each reissue of a rejected or refused invoice, which bills the same items again. */
  generation: number
}

export interface VatLine {
  category: string
  rateBp: number
  base: Money
  tax: Money
  mention: string | null
  exemptionCode: string | null
}

export interface Invoice {
  id: string
  number: string
  sellerId: string
  accountId: string
  ownerId: string
  currency: string
  status: InvoiceStatus
  issueDate: string
  dueDate: string
  paymentTermsDays: number
  buyer: Party
  seller: Party
  net: Money
  tax: Money
  total: Money
  /** What credit notes credited of it, VAT included. */
  credited: Money
  /** What payments and applied customer credit settled of it, net of refunds that reopened it. */
  paid: Money
  ruleSetHash: string
  runId: string | null
  /** The rejected or refused invoice this one reissues, credited in full. */
  replacesInvoiceId: string | null
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface InvoiceView extends Invoice {
  lines: InvoiceLine[]
  vat: VatLine[]
}

/** One invoice to make: the orders of one account, seller, currency and payment terms. */
export interface InvoiceGroup {
  accountId: string
  sellerId: string
  currency: string
  paymentTermsDays: number
  orderIds: string[]
}

export const INVOICE_DRAFT_STATUSES = ['draft', 'issued', 'discarded'] as const
export type InvoiceDraftStatus = (typeof INVOICE_DRAFT_STATUSES)[number]
export type InvoiceDraftAction = 'issue' | 'discard'

/** A draft is issued or discarded, once: both are final. */
export const INVOICE_DRAFT_TRANSITIONS: Transitions<InvoiceDraftStatus, InvoiceDraftAction> = {
  draft: { issue: 'issued', discard: 'discarded' },
  issued: {},
  discarded: {},
}

/**
 * An invoice drafted for review: what the invoice will be — lines, VAT, totals, parties — but
 * no number, no dates of its own, nothing posted. Issuing it makes the invoice; discarding it
 * puts its items back to due. It stays as the record of the review either way.
 */
export interface InvoiceDraft {
  id: string
  status: InvoiceDraftStatus
  runId: string | null
  sellerId: string
  accountId: string
  ownerId: string
  currency: string
  paymentTermsDays: number
  buyer: Party
  seller: Party
  net: Money
  tax: Money
  total: Money
  ruleSetHash: string
  draftedOn: string
  /** The invoice it was issued as. */
  invoiceId: string | null
  discardReason: string | null
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface InvoiceDraftView extends InvoiceDraft {
  /** The lines as an issued invoice numbers them (generation 0). */
  lines: InvoiceLine[]
  vat: VatLine[]
}

export const INVOICE_RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const
export type InvoiceRunStatus = (typeof INVOICE_RUN_STATUSES)[number]

export interface InvoiceRun {
  id: string
  asOf: string
  status: InvoiceRunStatus
  requestedBy: string | null
  jobId: string | null
  /** Invoices to make (groups of one account, seller, currency and payment terms); null until counted. */
  total: number | null
  done: number
  invoices: number
  failures: Array<{ accountId: string; currency: string; error: string }>
  /** Whether the run drafts its invoices for review (issued later, one by one) instead of issuing them. */
  drafts: boolean
  createdAt: Date
  startedAt: Date | null
  finishedAt: Date | null
}

export interface CreditNoteLine {
  lineNo: number
  invoiceLineNo: number
  description: string
  net: Money
  vatCategory: string
  vatRateBp: number
}

/** A credit note: amounts credited, positive; the invoice it credits stays as issued. */
export interface CreditNote {
  id: string
  number: string
  sellerId: string
  invoiceId: string
  accountId: string
  ownerId: string
  currency: string
  issueDate: string
  reason: string
  net: Money
  tax: Money
  total: Money
  createdBy: string
  createdAt: Date
}

export interface CreditNoteView extends CreditNote {
  invoiceNumber: string
  lines: CreditNoteLine[]
  vat: VatLine[]
}

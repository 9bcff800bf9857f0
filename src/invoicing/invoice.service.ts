/** The invoicing module's use cases, one per file; routes and other modules import them from here. */
export { executeDueRuns, executeInvoiceRun, requestInvoiceRun, type InvoiceJobQueue } from './invoice-run.js'
export { creditNoteDocument, creditNoteFacturX, creditNoteXml, facturXDocument, invoiceDocument, invoiceXml } from './invoice-document.js'
export { issueCreditNote, type CreditNoteInput } from './credit-note.js'
export { reissueInvoice } from './reissue-invoice.js'
export { syncEInvoices, type SyncResult } from './einvoice-sync.js'
export { TestPlatform, type EInvoicePlatform } from './einvoice-platform.js'
export {
  creditNoteEInvoicingOf,
  creditNotesOfInvoice,
  einvoicingOf,
  getCreditNote,
  getInvoice,
  getInvoiceRun,
  listInvoiceRuns,
  listInvoices,
} from './read-invoices.js'
export type { EInvoicingView } from './read-invoices.js'
export type { CreditNote, CreditNoteView, Invoice, InvoiceLine, InvoiceRun, InvoiceView, InvoicingDeps, VatLine } from './invoice.js'
export { discardDraft, getDraft, issueDraft, listDrafts } from './invoice-drafts.js'
export { draftDocument } from './invoice-document.js'
export {
  allocateToInvoice,
  allocationsOf,
  lockInvoicesToSettle,
  lockOpenInvoicesOf,
  markOverdueInvoices,
  openAmountOf,
  openInvoicesAsOf,
  standingAllocationsOf,
  type AllocationRow,
  type OpenInvoiceRow,
} from './settle-invoice.js'

import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned, visibleOwnerIds } from '../principals/visibility.js'
import * as notes from './credit-note.repository.js'
import { LIFECYCLE_CODES } from './einvoice-platform.js'
import * as einvoices from './einvoice.repository.js'
import type { CreditNote, CreditNoteView, Invoice, InvoiceRun, InvoiceView, InvoicingDeps } from './invoice.js'
import * as repo from './invoice.repository.js'

/** An invoice the principal may see (as they see the account's orders: its owner, their manager, reviewers of every deal); 404 otherwise. */
export async function getInvoice(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<InvoiceView> {
  const invoice = await repo.findInvoice(deps.db, id)
  if (!invoice || !(await canSeeOwned(deps.db, actor, invoice.ownerId))) throw new AppError('NOT_FOUND', `No invoice ${id}.`)
  return viewOf(deps.db, invoice)
}

/** An invoice with its lines and VAT breakdown. */
export async function viewOf(db: InvoicingDeps['db'], invoice: Invoice): Promise<InvoiceView> {
  return { ...invoice, lines: await repo.invoiceLines(db, invoice), vat: await repo.vatLines(db, invoice) }
}

/** The credit notes of an invoice the principal may see, oldest first. */
export async function creditNotesOfInvoice(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, invoiceId: string): Promise<CreditNote[]> {
  const invoice = await getInvoice(deps, actor, invoiceId)
  return notes.creditNotesOf(deps.db, invoice.id)
}

export async function getCreditNote(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<CreditNoteView> {
  const note = await notes.findCreditNote(deps.db, id)
  if (!note || !(await canSeeOwned(deps.db, actor, note.ownerId))) throw new AppError('NOT_FOUND', `No credit note ${id}.`)
  return creditNoteViewOf(deps.db, note)
}

/** A credit note with its lines, the VAT it reverses and the number of the invoice it credits. */
export async function creditNoteViewOf(db: InvoicingDeps['db'], note: CreditNote): Promise<CreditNoteView> {
  const invoice = (await repo.findInvoice(db, note.invoiceId))!
  return { ...note, invoiceNumber: invoice.number, lines: await notes.creditNoteLines(db, note), vat: await notes.creditNoteVat(db, note) }
}

export async function listInvoices(
  deps: Pick<InvoicingDeps, 'db'>,
  actor: Principal,
  filter: { accountId?: string; runId?: string },
  limit: number,
  startingAfter?: string,
): Promise<Invoice[]> {
  return repo.listInvoices(deps.db, { owners: await visibleOwnerIds(deps.db, actor), ...filter }, limit, startingAfter)
}

export async function getInvoiceRun(deps: Pick<InvoicingDeps, 'db'>, id: string): Promise<InvoiceRun> {
  const run = await repo.findRun(deps.db, id)
  if (!run) throw new AppError('NOT_FOUND', `No invoice run ${id}.`)
  return run
}

export async function listInvoiceRuns(deps: Pick<InvoicingDeps, 'db'>, limit: number): Promise<InvoiceRun[]> {
  return repo.listRuns(deps.db, limit)
}

export interface EInvoicingView {
  /** null: the invoice is not deposited on a platform (none configured, or a seller outside France). */
  platform: string | null
  status: einvoices.SubmissionStatus | null
  reference: string | null
  attempts: number
  lastError: string | null
  timeline: Array<einvoices.TimelineEvent & { code: number; label: string }>
  /** The invoice that reissued this one. */
  replacedBy: { id: string; number: string } | null
}

/** Where an invoice the principal may see stands on the certified platform, with its timeline. */
export async function einvoicingOf(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<EInvoicingView> {
  const invoice = await getInvoice(deps, actor, id)
  const submission = await einvoices.findSubmission(deps.db, { kind: 'invoice', id: invoice.id })
  const replacement = await repo.replacementOf(deps.db, invoice.id)
  return {
    platform: submission?.platform ?? null,
    status: submission?.status ?? null,
    reference: submission?.reference ?? null,
    attempts: submission?.attempts ?? 0,
    lastError: submission?.lastError ?? null,
    timeline: (await einvoices.timeline(deps.db, { kind: 'invoice', id: invoice.id })).map((e) => ({ ...e, ...LIFECYCLE_CODES[e.status] })),
    replacedBy: replacement ? { id: replacement.id, number: replacement.number } : null,
  }
}

/** Where a credit note the principal may see stands on the certified platform, with its timeline. */
export async function creditNoteEInvoicingOf(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<Omit<EInvoicingView, 'replacedBy'>> {
  const note = await getCreditNote(deps, actor, id)
  const document = { kind: 'credit_note', id: note.id } as const
  const submission = await einvoices.findSubmission(deps.db, document)
  return {
    platform: submission?.platform ?? null,
    status: submission?.status ?? null,
    reference: submission?.reference ?? null,
    attempts: submission?.attempts ?? 0,
    lastError: submission?.lastError ?? null,
    timeline: (await einvoices.timeline(deps.db, document)).map((e) => ({ ...e, ...LIFECYCLE_CODES[e.status] })),
  }
}

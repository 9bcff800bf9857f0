import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned, visibleOwnerIds } from '../principals/visibility.js'
import { moneyOf } from '../money/money-value.js'
import * as notes from './credit-note.repository.js'
import type { CreditNote, CreditNoteView, Invoice, InvoiceRun, InvoiceView, InvoicingDeps } from './invoice.js'
import * as repo from './invoice.repository.js'

/** An invoice the principal may see (as they see the account's orders: its owner, their manager, reviewers of every deal); 404 otherwise. */
export async function getInvoice(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<InvoiceView> {
  const invoice = await repo.findInvoice(deps.db, id)
  if (!invoice || !(await canSeeOwned(deps.db, actor, invoice.ownerId))) throw new AppError('NOT_FOUND', `No invoice ${id}.`)
  const credited = await notes.creditedOf(deps.db, invoice.id)
  return {
    ...invoice,
    lines: await repo.invoiceLines(deps.db, invoice),
    vat: await repo.vatLines(deps.db, invoice),
    credited: moneyOf(credited.total, invoice.currency),
  }
}

/** The credit notes of an invoice the principal may see, oldest first. */
export async function creditNotesOfInvoice(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, invoiceId: string): Promise<CreditNote[]> {
  const invoice = await getInvoice(deps, actor, invoiceId)
  return notes.creditNotesOf(deps.db, invoice.id)
}

export async function getCreditNote(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<CreditNoteView> {
  const note = await notes.findCreditNote(deps.db, id)
  if (!note || !(await canSeeOwned(deps.db, actor, note.ownerId))) throw new AppError('NOT_FOUND', `No credit note ${id}.`)
  const invoice = (await repo.findInvoice(deps.db, note.invoiceId))!
  return { ...note, invoiceNumber: invoice.number, lines: await notes.creditNoteLines(deps.db, note), vat: await notes.creditNoteVat(deps.db, note) }
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

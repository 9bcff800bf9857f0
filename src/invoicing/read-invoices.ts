import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned, visibleOwnerIds } from '../principals/visibility.js'
import type { InvoiceRun, InvoiceView, InvoicingDeps, Invoice } from './invoice.js'
import * as repo from './invoice.repository.js'

/** An invoice the principal may see (as they see the account's orders: its owner, their manager, reviewers of every deal); 404 otherwise. */
export async function getInvoice(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<InvoiceView> {
  const invoice = await repo.findInvoice(deps.db, id)
  if (!invoice || !(await canSeeOwned(deps.db, actor, invoice.ownerId))) throw new AppError('NOT_FOUND', `No invoice ${id}.`)
  return { ...invoice, lines: await repo.invoiceLines(deps.db, invoice), vat: await repo.vatLines(deps.db, invoice) }
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

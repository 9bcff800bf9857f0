import { latestContractOfQuote, type ContractView } from '../contracts/contract.service.js'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { Quote, QuoteDeps, QuoteRevision, QuoteView } from './quote.js'
import { today } from './quote-pricing.js'
import * as repo from './quote.repository.js'
import { expireIfDue } from './transition-quote.js'
import { lockExisting, view, visibleQuote } from './quote-view.js'
import { EXPIRABLE_STATUSES } from './quote-state.js'
import { visibleOwnerIds } from '../principals/visibility.js'

/**
 * A quote as the principal may see it. A quote past its validity is expired on read (and by
 * the periodic sweep), so nobody acts on a stale offer.
 */
export async function getQuote(deps: QuoteDeps, actor: Principal, id: string): Promise<QuoteView> {
  const quote = await visibleQuote(deps.db, actor, id)
  const day = today(deps.clock)
  if (!EXPIRABLE_STATUSES.includes(quote.status) || quote.validUntil >= day) return view(deps.db, quote)
  return deps.db.transaction().execute(async (trx) => {
    const locked = await lockExisting(trx, id)
    return view(trx, (await expireIfDue(trx, locked, day, deps.clock.now())) ?? locked)
  })
}

export async function listQuotes(deps: QuoteDeps, actor: Principal, limit: number, startingAfter?: string, status?: string): Promise<Quote[]> {
  return repo.listQuotes(deps.db, await visibleOwnerIds(deps.db, actor), limit, startingAfter, status)
}

export async function getRevision(deps: QuoteDeps, actor: Principal, id: string, revision: number): Promise<QuoteRevision> {
  const quote = await visibleQuote(deps.db, actor, id)
  const found = await repo.findRevision(deps.db, quote.id, revision)
  if (!found) throw new AppError('NOT_FOUND', `Quote ${quote.number} has no revision ${revision}.`)
  return found
}

/** The latest contract of a quote the principal may see; 404 when it was never presented. */
export async function contractOfQuote(deps: QuoteDeps, actor: Principal, id: string): Promise<ContractView> {
  const quote = await visibleQuote(deps.db, actor, id)
  const found = await latestContractOfQuote(deps.db, quote.id)
  if (!found) throw new AppError('NOT_FOUND', `Quote ${quote.number} has no contract: it was never presented.`)
  return found
}

import type { Kysely } from 'kysely'
import { approvalOf } from '../approvals/approval.service.js'
import type { Database } from '../db/schema.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned } from '../principals/visibility.js'
import type { Quote, QuoteView } from './quote.js'
import * as repo from './quote.repository.js'

/** The quote if the principal may see it, else 404 (existence is not revealed). */
export async function visibleQuote(db: Kysely<Database>, actor: Principal, id: string): Promise<Quote> {
  const quote = await repo.findQuote(db, id)
  if (!quote || !(await canSeeOwned(db, actor, quote.ownerId))) throw new AppError('NOT_FOUND', `No quote ${id}.`)
  return quote
}

/** Locks a quote row known to exist (the caller checked it, or holds its id from a row that references it). */
export async function lockExisting(db: Kysely<Database>, id: string): Promise<Quote> {
  const quote = await repo.lockQuote(db, id)
  assert(quote, `quote ${id} exists (quotes are never deleted)`)
  return quote
}

/** A quote with its current revision and latest approval request. */
export async function view(db: Kysely<Database>, quote: Quote): Promise<QuoteView> {
  const revision = await repo.findRevision(db, quote.id, quote.currentRevision)
  assert(revision, `quote ${quote.number} has its current revision ${quote.currentRevision}`)
  return { ...quote, revision, approval: await approvalOf(db, quote.id) }
}

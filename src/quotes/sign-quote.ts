import type { Transaction } from 'kysely'
import { billingAlignmentOf } from '../accounts/account.service.js'
import {
  contractByToken,
  declineContract,
  lockContract,
  signContract,
  type Contract,
  type RequestMeta,
  type SignatureInput,
} from '../contracts/contract.service.js'
import type { Database } from '../db/schema.js'
import { AppError, assert } from '../errors.js'
import { createOrderForAcceptedQuote } from '../orders/order.service.js'
import type { QuoteDeps } from './quote.js'
import * as repo from './quote.repository.js'
import { lockExisting } from './quote-view.js'
import { transitionQuote } from './transition-quote.js'

/**
 * The buyer's answer by their link: the contract signed (evidence, signed copy) or declined,
 * and the quote accepted or declined, in one transaction. The quote's lock is taken first, as
 * in every quote use case; the contract is then re-read under its own lock, so a double
 * submission signs once and the second finds the link closed.
 */
async function answer(
  deps: Pick<QuoteDeps, 'db' | 'clock'>,
  token: string,
  apply: (trx: Transaction<Database>, contract: Contract, now: Date) => Promise<{ contract: Contract; action: 'accept' | 'decline'; details: object }>,
): Promise<Contract> {
  const found = await contractByToken(deps.db, token)
  if (!found) throw new AppError('NOT_FOUND', 'No such signing link.')
  return deps.db.transaction().execute(async (trx) => {
    const quote = await lockExisting(trx, found.quoteId)
    const contract = await lockContract(trx, found.id)
    const now = deps.clock.now()
    const result = await apply(trx, contract, now)
    await transitionQuote(trx, quote, result.action, null, now, { contractId: contract.id, ...result.details }, { kind: 'buyer', ref: contract.contactId })
    return result.contract
  })
}

/**
 * Signs by link: the quote becomes accepted and its order is created from the signed revision's
 * snapshot, `quote.accepted` and `order.created` written in the same transaction — a signature
 * without its order cannot be committed, nor an order without its signature.
 */
export async function signQuote(
  deps: Pick<QuoteDeps, 'db' | 'clock' | 'ruleSets' | 'documents'>,
  token: string,
  input: SignatureInput,
  meta: RequestMeta,
): Promise<Contract> {
  // The catalog the revision was priced with is resolved before the transaction: a past rule set
  // may be read from the database, and the embedded database has a single connection.
  const found = await contractByToken(deps.db, token)
  const revision = found && (await repo.findRevision(deps.db, found.quoteId, found.revision))
  const ruleSet = revision && (await deps.ruleSets.find(revision.evaluation.ruleSetHash, revision.evaluation.priceBookHash))
  return answer(deps, token, async (trx, contract, now) => {
    const signed = await signContract(trx, contract, input, meta, now)
    assert(revision && ruleSet, `the rule set that priced quote ${contract.quoteNumber} r${contract.revision} is stored`)
    const quote = await repo.findQuote(trx, contract.quoteId)
    assert(quote, `quote ${contract.quoteId} exists`)
    const order = await createOrderForAcceptedQuote(
      trx,
      {
        quoteId: quote.id,
        quoteNumber: quote.number,
        revision: contract.revision,
        contractId: contract.id,
        accountId: quote.accountId,
        ownerId: quote.ownerId,
        paymentTermsDays: quote.paymentTermsDays,
        // The seller the signed document names; contracts issued before sellers were chosen per quote were the default's.
        sellerId: contract.sellerId ?? deps.documents.sellers.default().id,
        billingAlignment: await billingAlignmentOf(trx, quote.accountId),
        snapshot: revision.evaluation,
        catalog: ruleSet.priceBooks.catalog,
      },
      now,
      { actorId: null, externalActor: { kind: 'buyer', ref: contract.contactId } },
    )
    return { contract: signed, action: 'accept', details: { evidenceHash: signed.evidenceHash, orderId: order.id } }
  })
}

/** Declines by link with the buyer's reason: the quote becomes declined. */
export function declineQuote(deps: Pick<QuoteDeps, 'db' | 'clock'>, token: string, reason: string, meta: RequestMeta): Promise<Contract> {
  return answer(deps, token, async (trx, contract, now) => {
    const declined = await declineContract(trx, contract, reason, meta, now)
    return { contract: declined, action: 'decline', details: { reason } }
  })
}

import { accountNameForBuyer } from '../accounts/account.service.js'
import { contractByToken, linkState, type Contract } from '../contracts/contract.service.js'
import { assert } from '../errors.js'
import type { Quote, QuoteDeps, QuoteRevision } from './quote.js'
import { today } from './quote-pricing.js'
import * as repo from './quote.repository.js'
import { lockExisting } from './quote-view.js'
import { expireIfDue } from './transition-quote.js'

export interface SigningView {
  contract: Contract
  quote: Quote
  revision: QuoteRevision
  accountName: string
}

/**
 * What a buyer's link opens: its contract and the revision it was issued for. A link past its
 * day expires the quote on read (its contract with it), so the page says expired at once
 * rather than when the sweep passes. Undefined for an unknown link.
 */
export async function openSigningLink(deps: Pick<QuoteDeps, 'db' | 'clock'>, token: string): Promise<SigningView | undefined> {
  let contract = await contractByToken(deps.db, token)
  if (!contract) return undefined
  const now = deps.clock.now()
  if (linkState(contract, now) === 'expired' && (contract.status === 'sent' || contract.status === 'viewed')) {
    await deps.db.transaction().execute(async (trx) => expireIfDue(trx, await lockExisting(trx, contract!.quoteId), today(deps.clock), now))
    contract = (await contractByToken(deps.db, token)) ?? contract
  }
  const quote = await repo.findQuote(deps.db, contract.quoteId)
  const revision = await repo.findRevision(deps.db, contract.quoteId, contract.revision)
  assert(quote && revision, `contract ${contract.id} names quote ${contract.quoteId} revision ${contract.revision}`)
  return { contract, quote, revision, accountName: await accountNameForBuyer(deps, contract.accountId) }
}

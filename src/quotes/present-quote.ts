import { findContact, getAccount } from '../accounts/account.service.js'
import { issueContract, type Contract, type Lang } from '../contracts/contract.service.js'
import { renderQuoteDocument } from '../documents/quote-document.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { QuoteDeps, QuoteView } from './quote.js'
import { today } from './quote-pricing.js'
import { defaultLang, documentInput } from './quote-document.js'
import * as repo from './quote.repository.js'
import { transitionQuote } from './transition-quote.js'
import { lockExisting, view, visibleQuote } from './quote-view.js'

export interface PresentInput {
  /** The account's contact who may sign. */
  contactId: string
  /** The document's language; by default French for French-speaking countries, else English. */
  lang?: Lang
}

export interface Presented {
  quote: QuoteView
  contract: Contract
  /** The buyer's link, shown once: only its hash is stored. */
  signingUrl: string
}

/**
 * Approved → presented: the revision is frozen as what the buyer sees. Renders the quote
 * document with the revision's terms, stores it with its SHA-256 in a contract, and returns
 * the signing link once — all in one transaction with the quote's row lock.
 */
export async function presentQuote(deps: QuoteDeps, actor: Principal, id: string, input: PresentInput): Promise<Presented> {
  const visible = await visibleQuote(deps.db, actor, id)
  const account = await getAccount(deps, actor, visible.accountId)
  const contact = await findContact(deps, actor, account.id, input.contactId)
  if (!contact)
    throw new AppError('CONTRACT_INVALID', `No contact ${input.contactId} on account ${account.name}: the signer must be a contact of the quote's account.`, {
      errors: [{ pointer: '/contactId', detail: 'not a contact of the quote account' }],
    })
  const lang = input.lang ?? defaultLang(account)
  return deps.db.transaction().execute(async (trx) => {
    const quote = await lockExisting(trx, id)
    const now = deps.clock.now()
    const day = today(deps.clock)
    if (quote.validUntil < day)
      throw new AppError('INVALID_STATE_TRANSITION', `Quote ${quote.number} expired on ${quote.validUntil}.`, {
        from: quote.status,
        to: 'presented',
        action: 'present',
      })
    const revision = await repo.findRevision(trx, quote.id, quote.currentRevision)
    assert(revision, `quote ${quote.number} has its current revision`)
    const presented = await transitionQuote(trx, quote, 'present', actor, now)
    const input = documentInput(deps, { quote, revision, account, contact, lang, issuedOn: day })
    const document = await renderQuoteDocument(input)
    const { contract, signingUrl } = await issueContract(
      trx,
      actor,
      {
        quoteId: quote.id,
        revision: quote.currentRevision,
        quoteNumber: quote.number,
        accountId: account.id,
        ownerId: quote.ownerId,
        contactId: contact.id,
        lang,
        expiresOn: quote.validUntil,
        terms: { id: input.terms.id, version: input.terms.version, sha256: input.terms.sha256 },
        document,
        sellerId: input.seller.id,
      },
      (token) => deps.signingUrl(token),
      now,
    )
    return { quote: await view(trx, presented), contract, signingUrl }
  })
}

import type { Account, Contact } from '../accounts/account.service.js'
import { findContact, getAccount } from '../accounts/account.service.js'
import type { Lang } from '../contracts/contract.service.js'
import type { QuoteDocumentInput } from '../documents/quote-document.js'
import { renderQuoteDocument } from '../documents/quote-document.js'
import type { LegalEntity } from '../documents/legal-entities.js'
import type { TermsText } from '../documents/terms.js'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { Quote, QuoteDeps, QuoteRevision } from './quote.js'
import { termsFor, today } from './quote-pricing.js'
import * as repo from './quote.repository.js'
import { visibleQuote } from './quote-view.js'

/** Countries whose buyers get the French document unless the rep asks otherwise. */
const FRENCH_SPEAKING = new Set(['FR', 'BE', 'LU', 'MC'])

export function defaultLang(account: Account): Lang {
  return FRENCH_SPEAKING.has(account.country) ? 'fr' : 'en'
}

/** The terms text a revision is offered under, in a language; revisions priced before terms were recorded take today's. */
export function revisionTerms(deps: QuoteDeps, revision: QuoteRevision, lang: Lang): TermsText {
  const terms = revision.terms ?? termsFor(deps, deps.ruleSets.get(), revision.evaluation)
  return deps.documents.terms.text(terms, lang)
}

/**
 * The seller legal entity of a quote: the account's chosen one, else the one that sells in the
 * quote's currency (the default entity first); 422 when none does.
 */
export function sellerOf(
  deps: Pick<QuoteDeps, 'documents'>,
  account: Pick<Account, 'name' | 'sellerId'>,
  quote: Pick<Quote, 'number' | 'currency'>,
): LegalEntity {
  const seller = deps.documents.sellers.forSale({ currency: quote.currency, sellerId: account.sellerId })
  if (!seller) {
    const detail = account.sellerId
      ? `the seller ${account.sellerId} that account ${account.name} names does not sell in ${quote.currency}`
      : `no seller legal entity sells in ${quote.currency}`
    throw new AppError('SELLER_UNAVAILABLE', `Quote ${quote.number} has no seller: ${detail}.`, { errors: [{ pointer: '/currency', detail }] })
  }
  return seller
}

/** Everything a quote document states: seller, buyer, the revision's prices and its terms. */
export function documentInput(
  deps: QuoteDeps,
  parts: { quote: Quote; revision: QuoteRevision; account: Account; contact: Contact | null; lang: Lang; issuedOn: string },
): QuoteDocumentInput {
  const { quote, revision, account, contact, lang, issuedOn } = parts
  return {
    lang,
    seller: sellerOf(deps, account, quote),
    buyer: {
      name: account.name,
      billingAddress: account.billingAddress,
      vatId: account.vatId,
      contact: contact && { name: contact.name, email: contact.email },
    },
    quote: {
      number: quote.number,
      revision: revision.revision,
      issuedOn,
      validUntil: quote.validUntil,
      paymentTermsDays: quote.paymentTermsDays,
      notes: quote.notes,
    },
    evaluation: revision.evaluation,
    terms: revisionTerms(deps, revision, lang),
  }
}

/**
 * The document of any revision of a quote the principal may see, rendered now: what the
 * buyer would be shown. A presented revision's document as the buyer saw it is its contract's.
 */
export async function quoteDocument(
  deps: QuoteDeps,
  actor: Principal,
  id: string,
  options: { revision?: number; lang?: Lang; contactId?: string },
): Promise<{ quote: Quote; revision: number; bytes: Buffer }> {
  const quote = await visibleQuote(deps.db, actor, id)
  const n = options.revision ?? quote.currentRevision
  const revision = await repo.findRevision(deps.db, quote.id, n)
  if (!revision) throw new AppError('NOT_FOUND', `Quote ${quote.number} has no revision ${n}.`)
  const account = await getAccount(deps, actor, quote.accountId)
  const contact = options.contactId ? ((await findContact(deps, actor, account.id, options.contactId)) ?? null) : null
  const input = documentInput(deps, { quote, revision, account, contact, lang: options.lang ?? defaultLang(account), issuedOn: today(deps.clock) })
  return { quote, revision: n, bytes: await renderQuoteDocument(input) }
}

/**
 * The quote module's use cases, one per file; this index is what routes and other modules
 * import, so a use case can move without touching them.
 */
export type { Quote, QuoteDeps, QuoteInput, QuoteRevision, QuoteView } from './quote.js'
export { createQuote } from './create-quote.js'
export { reviseQuote } from './revise-quote.js'
export { submitQuote } from './submit-quote.js'
export { contractOfQuote, getQuote, getRevision, listQuotes } from './read-quotes.js'
export { quoteDocument } from './quote-document.js'
export { cancelQuote, expireDueQuotes, transitionQuote } from './transition-quote.js'
export { presentQuote, type PresentInput, type Presented } from './present-quote.js'
export { declineQuote, signQuote } from './sign-quote.js'
export { openSigningLink, type SigningView } from './signing-view.js'
export { decideApproval } from './decide-approval.js'

import {
  contractByToken,
  declineContract,
  lockContract,
  signContract,
  type Contract,
  type RequestMeta,
  type SignatureInput,
} from '../contracts/contract.service.js'
import { AppError } from '../errors.js'
import type { QuoteDeps } from './quote.js'
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
  apply: (
    trx: Parameters<typeof lockContract>[0],
    contract: Contract,
    now: Date,
  ) => Promise<{ contract: Contract; action: 'accept' | 'decline'; details: object }>,
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

/** Signs by link: the quote becomes accepted, `quote.accepted` is written in the same transaction. */
export function signQuote(deps: Pick<QuoteDeps, 'db' | 'clock'>, token: string, input: SignatureInput, meta: RequestMeta): Promise<Contract> {
  return answer(deps, token, async (trx, contract, now) => {
    const signed = await signContract(trx, contract, input, meta, now)
    return { contract: signed, action: 'accept', details: { evidenceHash: signed.evidenceHash } }
  })
}

/** Declines by link with the buyer's reason: the quote becomes declined. */
export function declineQuote(deps: Pick<QuoteDeps, 'db' | 'clock'>, token: string, reason: string, meta: RequestMeta): Promise<Contract> {
  return answer(deps, token, async (trx, contract, now) => {
    const declined = await declineContract(trx, contract, reason, meta, now)
    return { contract: declined, action: 'decline', details: { reason } }
  })
}

import { getAccount } from '../accounts/account.service.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { AppError } from '../errors.js'
import { evaluateWith } from '../evaluation/evaluation.service.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { DEFAULT_PAYMENT_TERMS_DAYS, type QuoteDeps, type QuoteInput, type QuoteView } from './quote.js'
import { addDays, assertDates, cartFor, storeRevision, termsFor, today } from './quote-pricing.js'
import * as repo from './quote.repository.js'

/** Creates a quote with revision 1, priced and recorded; idempotent. Reps quote only for accounts they may see. */
export async function createQuote(
  deps: QuoteDeps,
  actor: Principal,
  input: QuoteInput & { accountId: string; currency?: string },
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<QuoteView>> {
  const account = await getAccount(deps, actor, input.accountId).catch((error: unknown) => {
    if (error instanceof AppError && error.code === 'NOT_FOUND') {
      throw new AppError('VALIDATION_FAILED', 'No such account.', {
        errors: [{ pointer: '/accountId', detail: 'no account with this id that you may quote for' }],
      })
    }
    throw error
  })
  const day = today(deps.clock)
  assertDates(input, day)
  const paymentTermsDays = input.paymentTermsDays ?? DEFAULT_PAYMENT_TERMS_DAYS
  const currency = input.currency ?? account.currency
  const cart = cartFor(account, input, currency, day, paymentTermsDays)
  const ruleSet = deps.ruleSets.get()
  const evaluation = await evaluateWith(ruleSet, cart, 'fired')
  const terms = termsFor(deps, ruleSet, evaluation)
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const quote = await repo.insertQuote(trx, {
        id: newId('qt'),
        number: await repo.nextQuoteNumber(trx, now.getUTCFullYear()),
        accountId: account.id,
        ownerId: actor.id,
        currency,
        status: 'draft',
        currentRevision: 1,
        validUntil: input.validUntil ?? addDays(day, deps.quoteValidityDays),
        paymentTermsDays,
        notes: input.notes ?? null,
        createdAt: now,
        updatedAt: now,
      })
      const revision = await storeRevision(trx, actor, quote.id, 1, cart, evaluation, terms, now)
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'quote.created',
        entityType: 'quote',
        entityId: quote.id,
        after: { status: 'draft', revision: 1, fingerprintHash: revision.fingerprintHash, number: quote.number },
      })
      await appendEvent(trx, now, {
        type: 'quote.created',
        aggregateType: 'quote',
        aggregateId: quote.id,
        payload: { quoteId: quote.id, number: quote.number },
      })
      return { status: 201, body: { ...quote, revision, approval: null } }
    },
  )
}

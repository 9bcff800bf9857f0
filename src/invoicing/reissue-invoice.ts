import { accountForInvoicing } from '../accounts/account.service.js'
import { appendEvent } from '../audit/audit.service.js'
import { decideTax } from '../evaluation/stages/tax.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { creditInvoice } from './credit-note.js'
import * as notes from './credit-note.repository.js'
import { VOIDING_STATUSES } from './einvoice-platform.js'
import * as einvoices from './einvoice.repository.js'
import type { CreditNoteView, Invoice, InvoicingDeps } from './invoice.js'
import * as repo from './invoice.repository.js'
import { today } from './invoice-run.js'
import { buyerOf, vatOf, writeInvoice } from './issue-invoice.js'

/**
 * Cancels an invoice the certified platform rejected (rejetée) or the buyer refused
 * (refusée) and issues its replacement, in one transaction: a credit note for all that
 * remains of it, then a new invoice — its own number, today's date — of the same lines (the
 * same schedule items, one generation later), with the buyer as the account is now and the
 * VAT decided again by the rules in service. Finance asks for it once the cause is fixed (a
 * wrong VAT number, a missing SIREN…): reissued unchanged, an invoice would be rejected again.
 * Idempotent with a key; an invoice is reissued at most once.
 */
export async function reissueInvoice(
  deps: InvoicingDeps,
  actor: Principal,
  invoiceId: string,
  input: { reason: string },
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<{ creditNote: CreditNoteView; invoice: Invoice }>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      if (!(await notes.lockInvoiceRow(trx, invoiceId))) throw new AppError('NOT_FOUND', `No invoice ${invoiceId}.`)
      const original = (await repo.findInvoice(trx, invoiceId))!
      const submission = await einvoices.findSubmission(trx, { kind: 'invoice', id: original.id })
      if (!submission || !VOIDING_STATUSES.includes(submission.status as never)) {
        throw new AppError('INVALID_STATE_TRANSITION', `Invoice ${original.number} was neither rejected by the platform nor refused by the buyer.`, {
          from: submission?.status ?? 'not_deposited',
          action: 'reissue',
          reason: 'only a rejected or refused invoice is reissued',
        })
      }
      const replacement = await repo.replacementOf(trx, original.id)
      if (replacement) {
        throw new AppError('INVALID_STATE_TRANSITION', `Invoice ${original.number} was reissued already, as ${replacement.number}.`, {
          from: submission.status,
          action: 'reissue',
          reason: 'reissued',
          replacementId: replacement.id,
        })
      }
      const reason = `${input.reason} (${submission.status === 'rejected' ? 'rejetée par la plateforme' : 'refusée par le client'})`
      const creditNote = await creditInvoice(trx, deps, actor, original.id, { reason })

      const seller = deps.sellers.byId(original.sellerId)
      assert(seller, `seller ${original.sellerId} of invoice ${original.number} exists`)
      const account = await accountForInvoicing(trx, original.accountId)
      const ruleSet = deps.ruleSet()
      const issueDate = today(deps)
      const lines = await repo.invoiceLines(trx, original)
      const types = await repo.productTypesOf(trx, lines)
      const decisions = await decideTax(ruleSet, {
        date: issueDate,
        currency: original.currency,
        seller: { id: seller.id, country: seller.address.country },
        buyer: { country: account.billingAddress.country, vatId: account.vatId, segment: account.segment },
        lines: lines.map((l) => ({ sku: l.sku, type: types.get(`${l.orderId}/${l.orderLineNo}`)!, taxCategory: l.productTaxCategory })),
      })
      const categories = new Set(decisions.map((d) => d.category === 'O'))
      if (categories.size > 1) {
        // The rules now put some lines outside the scope of VAT and not others: EN 16931 wants them on two invoices, and a reissue is one.
        throw new AppError('EINVOICE_UNAVAILABLE', `Reissued today, invoice ${original.number} would mix lines not subject to VAT with others.`, {
          reason: 'not_subject_mixed',
        })
      }
      const invoice = await writeInvoice(
        trx,
        {
          deps,
          seller,
          buyer: buyerOf(account),
          ruleSetHash: ruleSet.hash,
          issueDate,
          paymentTermsDays: original.paymentTermsDays,
          currency: original.currency,
          runId: null,
          actorId: actor.id,
          replaces: original,
        },
        lines.map(({ lineNo: _lineNo, ...line }, i) => ({ ...line, vat: vatOf(decisions[i]!), generation: line.generation + 1 })),
      )
      await appendEvent(trx, deps.clock.now(), {
        type: 'invoice.reissued',
        aggregateType: 'invoice',
        aggregateId: original.id,
        payload: { invoiceId: original.id, number: original.number, creditNoteId: creditNote.id, replacementId: invoice.id, replacementNumber: invoice.number },
      })
      return { status: 201, body: { creditNote, invoice } }
    },
  )
}

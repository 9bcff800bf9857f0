import { appendAudit, appendEvent } from '../audit/audit.service.js'
import { LIFECYCLE_CODES, type EInvoicePlatform, VOIDING_STATUSES } from './einvoice-platform.js'
import * as einvoices from './einvoice.repository.js'
import * as notes from './credit-note.repository.js'
import { creditNoteEInvoiceFiles, eInvoiceFiles } from './invoice-document.js'
import type { InvoicingDeps } from './invoice.js'
import * as repo from './invoice.repository.js'
import { creditNoteViewOf, viewOf } from './read-invoices.js'

/** Deposits one `einvoices.sync` run makes at most; the next run (a minute later) takes the rest. */
export const DEPOSITS_PER_RUN = 50
/** Status reports read per page, and pages per run. */
const STATUS_PAGE = 100
const STATUS_PAGES_PER_RUN = 20
/** How long a claimed deposit is left to its worker before another may try it. */
const DEPOSIT_LEASE_SECONDS = 5 * 60
/** Retries of a failed deposit wait 2, 4, 8… minutes, at most an hour. */
const MAX_RETRY_MINUTES = 60

export interface SyncResult {
  deposited: number
  depositFailures: number
  statuses: number
}

/**
 * One pass of the exchange with the certified platform: deposits the invoices and credit notes
 * waiting for it (each claimed first, so two workers never send one together; a deposit sent
 * again after a lost answer is one document, the platform keying deposits by number), then
 * reads the status reports since the last pass onto the documents' timelines — each kept once (its event id is
 * unique), with the cursor saved in the same transaction as the reports it covers.
 */
export async function syncEInvoices(deps: InvoicingDeps & { platform: EInvoicePlatform }): Promise<SyncResult> {
  const { platform } = deps
  const result: SyncResult = { deposited: 0, depositFailures: 0, statuses: 0 }
  const due = await einvoices.claimDueDeposits(deps.db, platform.name, deps.clock.now(), DEPOSITS_PER_RUN, DEPOSIT_LEASE_SECONDS)
  for (const submission of due) {
    const document = await documentOf(deps.db, submission.document)
    try {
      const { xml, facturX } = await document.files(deps)
      const { reference } = await platform.deposit({ number: document.number, kind: document.document.kind, sellerSiren: document.sellerSiren, facturX, xml })
      const now = deps.clock.now()
      await deps.db.transaction().execute(async (trx) => {
        await einvoices.recordDeposit(trx, submission.document, reference, now)
        await recordStatus(trx, document, platform.name, { eventId: `deposit:${reference}`, status: 'deposited', reason: null, occurredAt: now, now })
      })
      result.deposited++
    } catch (error) {
      const now = deps.clock.now()
      const minutes = Math.min(2 ** submission.attempts, MAX_RETRY_MINUTES)
      await einvoices.recordDepositFailure(
        deps.db,
        submission.document,
        error instanceof Error ? error.message : String(error),
        new Date(now.getTime() + minutes * 60_000),
        now,
      )
      result.depositFailures++
    }
  }

  for (let page = 0; page < STATUS_PAGES_PER_RUN; page++) {
    const read = await deps.db.transaction().execute(async (trx) => {
      // The cursor row's lock makes two passes read the feed one after the other.
      const cursor = await einvoices.readCursor(trx, platform.name)
      const { events, cursor: next } = await platform.statuses(cursor, STATUS_PAGE)
      const now = deps.clock.now()
      for (const event of events) {
        const submission = await einvoices.submissionByReference(trx, platform.name, event.reference)
        // A report of a document QTC did not deposit (another system's): not ours to keep.
        if (!submission) continue
        await recordStatus(trx, await documentOf(trx, submission.document), platform.name, {
          eventId: event.id,
          status: event.status,
          reason: event.reason ?? null,
          occurredAt: event.occurredAt,
          now,
        })
      }
      await einvoices.saveCursor(trx, platform.name, next, now)
      return events.length
    })
    result.statuses += read
    if (read < STATUS_PAGE) break
  }
  return result
}

/** A deposited document as the exchange needs it: its number and seller, its files, and the invoice it is or credits. */
interface Deposited {
  document: einvoices.EDocument
  number: string
  sellerSiren: string | null
  invoiceId: string
  files(deps: InvoicingDeps): Promise<{ xml: string; facturX: Buffer }>
}

async function documentOf(db: InvoicingDeps['db'], document: einvoices.EDocument): Promise<Deposited> {
  if (document.kind === 'invoice') {
    const invoice = (await repo.findInvoice(db, document.id))!
    return {
      document,
      number: invoice.number,
      sellerSiren: invoice.seller.siren ?? null,
      invoiceId: invoice.id,
      files: async (deps) => eInvoiceFiles(deps, await viewOf(db, invoice)),
    }
  }
  const note = (await notes.findCreditNote(db, document.id))!
  const invoice = (await repo.findInvoice(db, note.invoiceId))!
  return {
    document,
    number: note.number,
    sellerSiren: invoice.seller.siren ?? null,
    invoiceId: invoice.id,
    files: async (deps) => creditNoteEInvoiceFiles(deps, await creditNoteViewOf(db, note)),
  }
}

/**
 * Keeps one status report on the document's timeline, once: the submission's status, the audit
 * entry and the event (`invoice.einvoicing_status`, or `credit_note.einvoicing_status`).
 */
async function recordStatus(
  trx: InvoicingDeps['db'],
  document: Deposited,
  platform: string,
  e: { eventId: string; status: keyof typeof LIFECYCLE_CODES; reason: string | null; occurredAt: Date; now: Date },
): Promise<void> {
  const kept = await einvoices.insertEvent(trx, { document: document.document, platform, ...e })
  if (!kept) return
  await einvoices.setStatus(trx, document.document, e.status, e.now)
  const reported = { status: e.status, code: LIFECYCLE_CODES[e.status].code, reason: e.reason, occurredAt: e.occurredAt.toISOString() }
  if (document.document.kind === 'invoice') {
    await appendAudit(trx, e.now, {
      actorId: null,
      action: 'invoice.einvoicing_status',
      entityType: 'invoice',
      entityId: document.invoiceId,
      after: { platform, status: e.status, reason: e.reason, eventId: e.eventId, mustReissue: VOIDING_STATUSES.includes(e.status) },
    })
    await appendEvent(trx, e.now, {
      type: 'invoice.einvoicing_status',
      aggregateType: 'invoice',
      aggregateId: document.invoiceId,
      payload: { invoiceId: document.invoiceId, number: document.number, platform, ...reported },
    })
    return
  }
  await appendAudit(trx, e.now, {
    actorId: null,
    action: 'credit_note.einvoicing_status',
    entityType: 'credit_note',
    entityId: document.document.id,
    after: { platform, status: e.status, reason: e.reason, eventId: e.eventId },
  })
  await appendEvent(trx, e.now, {
    type: 'credit_note.einvoicing_status',
    aggregateType: 'credit_note',
    aggregateId: document.document.id,
    payload: { creditNoteId: document.document.id, number: document.number, invoiceId: document.invoiceId, platform, ...reported },
  })
}

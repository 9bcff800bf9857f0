import type { Transaction } from 'kysely'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { AppError, assert } from '../errors.js'
import { formatMoney } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned, visibleOwnerIds } from '../principals/visibility.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { runTransition, type StateMachine } from '../shared/state-machine.js'
import {
  INVOICE_DRAFT_TRANSITIONS,
  type InvoiceDraft,
  type InvoiceDraftAction,
  type InvoiceDraftStatus,
  type InvoiceDraftView,
  type InvoiceView,
  type InvoicingDeps,
} from './invoice.js'
import * as drafts from './invoice-draft.repository.js'
import { today } from './invoice-run.js'
import { writeInvoice } from './issue-invoice.js'
import { viewOf } from './read-invoices.js'

/**
 * Invoice drafts: a run asked with `drafts` writes what it would issue as drafts, for finance to
 * review. Issuing a draft makes the invoice exactly as reviewed — its lines, VAT (decided by the
 * rules when drafted), parties and payment terms — with today's number and dates; discarding
 * it, with a reason, puts its items back to due for the next run. A draft is issued or
 * discarded once (the state machine below; both are final).
 */

interface DraftTransitionContext {
  trx: Transaction<Database>
  draft: InvoiceDraft
}

const DRAFT_MACHINE: StateMachine<InvoiceDraftStatus, InvoiceDraftAction, DraftTransitionContext> = {
  entity: 'invoice draft',
  transitions: INVOICE_DRAFT_TRANSITIONS,
}

async function visibleDraft(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<InvoiceDraft> {
  const draft = await drafts.findDraft(deps.db, id)
  if (!draft || !(await canSeeOwned(deps.db, actor, draft.ownerId))) throw new AppError('NOT_FOUND', `No invoice draft ${id}.`)
  return draft
}

async function viewOfDraft(db: InvoicingDeps['db'] | Transaction<Database>, draft: InvoiceDraft): Promise<InvoiceDraftView> {
  return { ...draft, lines: await drafts.draftLines(db, draft), vat: await drafts.draftVat(db, draft) }
}

export async function getDraft(deps: Pick<InvoicingDeps, 'db'>, actor: Principal, id: string): Promise<InvoiceDraftView> {
  return viewOfDraft(deps.db, await visibleDraft(deps, actor, id))
}

export async function listDrafts(
  deps: Pick<InvoicingDeps, 'db'>,
  actor: Principal,
  filter: { status?: InvoiceDraftStatus; runId?: string },
  limit: number,
  startingAfter?: string,
): Promise<InvoiceDraft[]> {
  return drafts.listDrafts(deps.db, { owners: await visibleOwnerIds(deps.db, actor), ...filter }, limit, startingAfter)
}

/** The draft under its row lock, at the version the caller read (If-Match), or 404 / 412. */
async function lockedDraft(trx: Transaction<Database>, id: string, expectedVersion: number): Promise<InvoiceDraft> {
  const draft = await drafts.lockDraft(trx, id)
  if (!draft) throw new AppError('NOT_FOUND', `No invoice draft ${id}.`)
  if (draft.version !== expectedVersion) throw new AppError('PRECONDITION_FAILED', `Invoice draft ${id} changed meanwhile; read it again.`)
  return draft
}

/**
 * Issues a draft as an invoice: the next gapless number, today's issue date and the due date
 * from its payment terms, its journal entry and deposit — writeInvoice, as a run issues — of
 * the draft's lines and VAT unchanged, in one transaction with the draft's change to `issued`.
 */
export async function issueDraft(
  deps: InvoicingDeps,
  actor: Principal,
  id: string,
  expectedVersion: number,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<{ draft: InvoiceDraftView; invoice: InvoiceView }>> {
  await visibleDraft(deps, actor, id)
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const draft = await lockedDraft(trx, id, expectedVersion)
      return runTransition(DRAFT_MACHINE, { trx, draft }, draft.status, 'issue', async () => {
        const seller = deps.sellers.byId(draft.sellerId)
        assert(seller, `seller ${draft.sellerId} of invoice draft ${draft.id} exists`)
        const lines = await drafts.draftLines(trx, draft)
        const invoice = await writeInvoice(
          trx,
          {
            deps,
            seller,
            buyer: { accountId: draft.accountId, ownerId: draft.ownerId, party: draft.buyer },
            ruleSetHash: draft.ruleSetHash,
            issueDate: today(deps),
            paymentTermsDays: draft.paymentTermsDays,
            currency: draft.currency,
            runId: draft.runId,
            actorId: actor.id,
            replaces: null,
            draftId: draft.id,
          },
          lines.map(({ lineNo: _lineNo, ...line }) => line),
        )
        // The draft keeps its lines, the record of what was reviewed; the invoice's lines bill the items from now on.
        const issued = await drafts.markIssued(trx, draft.id, invoice.id, deps.clock.now())
        return { status: 201, body: { draft: await viewOfDraft(trx, issued), invoice: await viewOf(trx, invoice) } }
      })
    },
  )
}

/** Discards a draft with a reason: its lines are deleted, so their items are due for the next run. */
export async function discardDraft(deps: InvoicingDeps, actor: Principal, id: string, expectedVersion: number, reason: string): Promise<InvoiceDraftView> {
  await visibleDraft(deps, actor, id)
  return deps.db.transaction().execute(async (trx) => {
    const draft = await lockedDraft(trx, id, expectedVersion)
    return runTransition(DRAFT_MACHINE, { trx, draft }, draft.status, 'discard', async () => {
      const now = deps.clock.now()
      const discarded = await drafts.markDiscarded(trx, draft.id, reason, now)
      await appendAudit(trx, now, {
        actorId: actor.id,
        action: 'invoice_draft.discarded',
        entityType: 'invoice_draft',
        entityId: draft.id,
        before: { status: draft.status, total: formatMoney(draft.total) },
        after: { status: discarded.status, reason },
      })
      await appendEvent(trx, now, {
        type: 'invoice.draft_discarded',
        aggregateType: 'invoice_draft',
        aggregateId: draft.id,
        payload: { draftId: draft.id, accountId: draft.accountId, reason },
      })
      return viewOfDraft(trx, discarded)
    })
  })
}

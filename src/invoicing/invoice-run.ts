import type { Transaction } from 'kysely'
import { Temporal } from 'temporal-polyfill'
import { appendAudit } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors.js'
import { TaxUndetermined } from '../evaluation/stages/tax.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import type { InvoiceRun, InvoicingDeps } from './invoice.js'
import * as repo from './invoice.repository.js'
import { issueInvoicesFor } from './issue-invoice.js'

/**
 * Invoice runs: everything due by a day, one invoice per account, seller, currency and payment
 * terms, each in its own transaction. A crash leaves whole invoices behind and the rest due,
 * so running again — the same run resumed, or another — completes it; a second run finds
 * nothing left to bill. Runs execute as the `invoices.run` job (jobs module).
 */

/**
 * The job that executes runs, as the app wires it to the job engine: made ready (pg-boss
 * started) before the transaction — PGlite has a single connection, which the transaction
 * holds — then sent in it, so the run and its job are recorded together or not at all.
 */
export interface InvoiceJobQueue {
  ready(): Promise<void>
  send(trx: Transaction<Database>): Promise<{ id: string }>
}

/** How far back and ahead a run's `asOf` may be: billing a year ahead is the furthest finance bills in advance. */
const MAX_AS_OF_AHEAD_DAYS = 366
const MAX_AS_OF_BACK_DAYS = 3660

export function today(deps: Pick<InvoicingDeps, 'clock'>): string {
  return deps.clock.now().toISOString().slice(0, 10)
}

function assertAsOf(asOf: string, day: string): void {
  const date = Temporal.PlainDate.from(asOf)
  const from = Temporal.PlainDate.from(day).subtract({ days: MAX_AS_OF_BACK_DAYS })
  const to = Temporal.PlainDate.from(day).add({ days: MAX_AS_OF_AHEAD_DAYS })
  if (Temporal.PlainDate.compare(date, from) < 0 || Temporal.PlainDate.compare(date, to) > 0)
    throw new AppError('VALIDATION_FAILED', 'The run date is out of range.', { errors: [{ pointer: '/asOf', detail: `must be from ${from} to ${to}` }] })
}

/** Records a run (finance asks for one) and queues the job that executes it; idempotent with an Idempotency-Key. */
export async function requestInvoiceRun(
  deps: InvoicingDeps & { queue: InvoiceJobQueue },
  actor: Principal,
  input: { asOf?: string; drafts?: boolean },
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<InvoiceRun>> {
  const day = today(deps)
  const asOf = input.asOf ?? day
  assertAsOf(asOf, day)
  await deps.queue.ready()
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const now = deps.clock.now()
      const id = newId('ir')
      const drafts = input.drafts ?? false
      await repo.insertRun(trx, { id, asOf, requestedBy: actor.id, drafts, createdAt: now })
      const job = await deps.queue.send(trx)
      await repo.setRunJob(trx, id, job.id)
      await appendAudit(trx, now, { actorId: actor.id, action: 'invoice_run.requested', entityType: 'invoice_run', entityId: id, after: { asOf, drafts } })
      const run = await repo.findRun(trx, id)
      return { status: 202, body: run! }
    },
  )
}

/**
 * Executes one run: counts the groups with something due, then makes each group's invoice (or
 * draft, for a run that drafts) in its own transaction, recording progress after each. A group whose lines the tax rules do not
 * all decide is skipped and listed in `failures` (its items stay due); any other error stops
 * the run, which stays `running` until a job resumes it.
 */
export async function executeInvoiceRun(
  deps: InvoicingDeps,
  run: InvoiceRun,
  reportProgress: (done: number, total: number) => Promise<void> = async () => {},
): Promise<InvoiceRun> {
  const issueDate = today(deps)
  const groups = await repo.candidateGroups(deps.db, run.asOf)
  const failures: InvoiceRun['failures'] = []
  let invoices = run.invoices
  await repo.recordProgress(deps.db, run.id, { total: groups.length, done: 0, invoices, failures })
  for (const [i, group] of groups.entries()) {
    try {
      invoices += (await issueInvoicesFor(deps, run, group, issueDate)).length
    } catch (error) {
      if (!(error instanceof TaxUndetermined)) throw error
      failures.push({ accountId: group.accountId, currency: group.currency, error: `${error.message}: no invoice made; its items stay due` })
    }
    await repo.recordProgress(deps.db, run.id, { done: i + 1, invoices, failures })
    await reportProgress(i + 1, groups.length)
  }
  return repo.finishRun(deps.db, run.id, 'succeeded', deps.clock.now())
}

/**
 * What the `invoices.run` job does: executes every unfinished run, oldest first (a run left
 * `running` by a crash is resumed); when there was none — the daily schedule, or a run asked
 * of the jobs API — it records and executes a run for today.
 */
export async function executeDueRuns(
  deps: InvoicingDeps,
  reportProgress: (done: number, total: number) => Promise<void>,
): Promise<{ runs: number; invoices: number }> {
  let runs = 0
  let invoices = 0
  for (;;) {
    let run = await repo.claimUnfinishedRun(deps.db, deps.clock.now())
    if (!run && runs === 0) {
      const id = newId('ir')
      // The daily run issues; drafting for review is asked for (POST /v1/invoice-runs with drafts).
      await repo.insertRun(deps.db, { id, asOf: today(deps), requestedBy: null, drafts: false, createdAt: deps.clock.now() })
      run = await repo.claimUnfinishedRun(deps.db, deps.clock.now())
    }
    if (!run) break
    const before = run.invoices
    const finished = await executeInvoiceRun(deps, run, reportProgress)
    runs++
    invoices += finished.invoices - before
  }
  return { runs, invoices }
}

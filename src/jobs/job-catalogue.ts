import { checkpointAudit } from '../audit/audit.service.js'
import { executeDueRuns, markOverdueInvoices, syncEInvoices } from '../invoicing/invoice.service.js'
import { expireDueQuotes } from '../quotes/quote.service.js'
import { purgeExpiredIdempotencyKeys } from '../shared/idempotency.js'
import { deliverDueWebhooks, MAX_DELIVERY_BATCH, MAX_RELAY_BATCH, relayOutbox } from '../webhooks/index.js'
import type { JobDefinition, JobDeps } from './job.js'

/** Batches one webhook run takes at most before leaving the rest to the next run (a minute later). */
const WEBHOOK_BATCHES_PER_RUN = 20

/** Quotes one `quotes.expire` run expires at most; the next run takes the rest. */
export const QUOTES_EXPIRE_BATCH = 500
/** Invoices one `invoices.mark-overdue` run marks at most; the next run takes the rest. */
export const OVERDUE_BATCH = 1000

/** How often (in quotes) `quotes.expire` records its progress. */
const PROGRESS_EVERY = 25

/**
 * Every job QTC runs, as data: the engine creates a pg-boss queue per entry with its policy,
 * schedules it (the default here, or `QTC_SCHEDULE_<JOB>`), and runs `run` on a worker.
 * Adding a job is adding an entry. Each `run` must be safe to run twice: pg-boss delivers at
 * least once (a retry after a crash, a manual run beside a scheduled one).
 */
export const JOB_CATALOGUE: readonly JobDefinition[] = [
  {
    name: 'quotes.expire',
    description: `Expires quotes past their validity date (at most ${QUOTES_EXPIRE_BATCH} a run), each under its row lock: an expired quote is skipped, so a rerun expires nothing twice.`,
    queuePolicy: 'stately',
    singletonKey: 'quotes.expire',
    retry: { retryLimit: 3, retryDelaySeconds: 30, retryBackoff: true },
    expireInSeconds: 15 * 60,
    defaultSchedule: '* * * * *',
    disabledReason: () => null,
    run: async (deps, context) => {
      const expired = await expireDueQuotes(deps, QUOTES_EXPIRE_BATCH, async (done, total) => {
        if (done % PROGRESS_EVERY === 0 || done === total) await context.reportProgress(done, total)
      })
      if (expired > 0) deps.log.info({ expired }, 'expired quotes past their validity')
      return { expired }
    },
  },
  {
    name: 'invoices.run',
    description:
      "Executes the invoice runs asked for (POST /v1/invoice-runs), oldest first, resuming one a crash interrupted; with none asked for (the daily schedule), a run for today. One invoice per account, seller, currency and payment terms, each in its own transaction under its orders' locks, so a rerun bills only what is still due.",
    queuePolicy: 'stately',
    singletonKey: 'invoices.run',
    retry: { retryLimit: 3, retryDelaySeconds: 60, retryBackoff: true },
    // A run killed with its process stays active in pg-boss until it expires, holding the
    // queue: 15 minutes bounds that delay. A longer run expired while alive is harmless — the
    // retry works beside it under the same locks, and bills nothing twice.
    expireInSeconds: 15 * 60,
    defaultSchedule: '0 5 * * *',
    disabledReason: () => null,
    run: async (deps, context) => {
      if (!deps.invoicing) throw new Error('invoices.run needs the invoicing services: the app attaches them to the job engine when it is built')
      return executeDueRuns(deps.invoicing, (done, total) => context.reportProgress(done, total))
    },
  },
  {
    name: 'invoices.mark-overdue',
    description: `Marks invoices past their due date with something still open as overdue (at most ${OVERDUE_BATCH} a run, oldest due first, each under its row lock and read again there), emitting invoice.status_changed; one paid meanwhile is left alone, so a rerun marks nothing twice.`,
    queuePolicy: 'stately',
    singletonKey: 'invoices.mark-overdue',
    retry: { retryLimit: 3, retryDelaySeconds: 60, retryBackoff: true },
    expireInSeconds: 15 * 60,
    defaultSchedule: '15 0 * * *',
    disabledReason: () => null,
    run: async (deps) => {
      if (!deps.invoicing) throw new Error('invoices.mark-overdue needs the invoicing services: the app attaches them to the job engine when it is built')
      return { marked: await markOverdueInvoices(deps.invoicing, OVERDUE_BATCH) }
    },
  },
  {
    name: 'einvoices.sync',
    description:
      "Deposits the invoices issued since on the certified e-invoicing platform (each claimed first, so two workers never send one; a failed deposit retried 2, 4, 8… minutes later, at most an hour), then reads its lifecycle statuses onto the invoices' timelines, each report kept once by its id.",
    queuePolicy: 'stately',
    singletonKey: 'einvoices.sync',
    retry: { retryLimit: 3, retryDelaySeconds: 30, retryBackoff: true },
    expireInSeconds: 15 * 60,
    defaultSchedule: '* * * * *',
    disabledReason: (settings) =>
      settings.einvoicingPlatform === 'none' ? 'QTC_EINVOICING_PLATFORM is not set: there is no platform to deposit invoices on' : null,
    run: async (deps) => {
      const platform = deps.invoicing?.platform
      if (!deps.invoicing || !platform) throw new Error('einvoices.sync needs the invoicing services with a platform: the app attaches them when it is built')
      return { ...(await syncEInvoices({ ...deps.invoicing, platform })) }
    },
  },
  {
    name: 'idempotency.purge',
    description: 'Deletes Idempotency-Key records older than 24 hours; one DELETE, so a rerun finds nothing left to delete.',
    queuePolicy: 'stately',
    singletonKey: 'idempotency.purge',
    retry: { retryLimit: 3, retryDelaySeconds: 60, retryBackoff: true },
    expireInSeconds: 15 * 60,
    defaultSchedule: '*/15 * * * *',
    disabledReason: () => null,
    run: async (deps) => ({ purged: await purgeExpiredIdempotencyKeys(deps.db, deps.clock.now()) }),
  },
  {
    name: 'audit.checkpoint',
    description:
      "Signs the audit chain's head with QTC_AUDIT_KEY and writes it to the log and the outbox (audit.checkpoint). A rerun signs the same head again: another copy of the same fact, nothing changed.",
    queuePolicy: 'stately',
    singletonKey: 'audit.checkpoint',
    retry: { retryLimit: 5, retryDelaySeconds: 60, retryBackoff: true },
    expireInSeconds: 5 * 60,
    defaultSchedule: '0 * * * *',
    disabledReason: (settings) => (settings.auditKey ? null : 'QTC_AUDIT_KEY is not set: there is no key to sign checkpoints with'),
    run: async (deps) => {
      const { body } = await checkpointAudit({ db: deps.db, clock: deps.clock, auditKey: deps.auditKey, log: deps.log })
      return { seq: body.seq, hash: body.hash, at: body.at }
    },
  },
  {
    name: 'webhooks.relay',
    description:
      'Relays the outbox to webhook deliveries, in write order, until it is caught up (at most 20 batches a run): one delivery per endpoint and event (a unique key), so a rerun or a second instance adds none.',
    queuePolicy: 'stately',
    singletonKey: 'webhooks.relay',
    retry: { retryLimit: 3, retryDelaySeconds: 10, retryBackoff: true },
    expireInSeconds: 5 * 60,
    defaultSchedule: '* * * * *',
    disabledReason: () => null,
    run: (deps) => relayCaughtUp(deps),
  },
  {
    name: 'webhooks.deliver',
    description:
      'Relays what the outbox holds first (as webhooks.relay does), then sends the webhook deliveries that are due (at most 20 batches a run), each claimed with a lease so two instances never send one attempt twice; failures are retried with backoff by later runs.',
    queuePolicy: 'stately',
    singletonKey: 'webhooks.deliver',
    retry: { retryLimit: 3, retryDelaySeconds: 10, retryBackoff: true },
    expireInSeconds: 15 * 60,
    defaultSchedule: '* * * * *',
    disabledReason: () => null,
    run: async (deps) => {
      // Relaying first: an event written after this minute's relay run still goes out in this minute, not the next.
      const relayed = await relayCaughtUp(deps)
      const total = { relayed: relayed.events, attempted: 0, delivered: 0, retrying: 0, failed: 0 }
      for (let batch = 0; batch < WEBHOOK_BATCHES_PER_RUN; batch++) {
        const run = await deliverDueWebhooks(deps.webhooks, { limit: MAX_DELIVERY_BATCH, now: deps.clock.now() })
        total.attempted += run.attempted
        total.delivered += run.delivered
        total.retrying += run.retrying
        total.failed += run.failed
        // Not `< MAX_DELIVERY_BATCH`: a batch takes one event per aggregate, so a short batch may still leave the next event of a busy aggregate due.
        if (run.attempted === 0) break
      }
      return total
    },
  },
]

/** Relays the outbox batch after batch until it is caught up, at most WEBHOOK_BATCHES_PER_RUN batches. */
async function relayCaughtUp(deps: JobDeps): Promise<{ events: number; deliveries: number }> {
  let events = 0
  let deliveries = 0
  for (let batch = 0; batch < WEBHOOK_BATCHES_PER_RUN; batch++) {
    const relayed = await relayOutbox(deps.webhooks, { limit: MAX_RELAY_BATCH })
    events += relayed.events
    deliveries += relayed.deliveries
    if (relayed.events < MAX_RELAY_BATCH) break
  }
  return { events, deliveries }
}

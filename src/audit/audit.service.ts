import { sql, type Kysely } from 'kysely'
import type { Db } from '../db/database.js'
import type { Database } from '../db/schema.js'
import { AppError } from '../errors.js'
import type { Clock } from '../shared/clock.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import { chainHash, ChainVerifier, GENESIS_HASH, type AuditEntry, type ExternalActor, type VerifyResult } from './audit.js'
import { judgeCheckpoint, signCheckpoint, type AuditCheckpoint } from './checkpoint.js'
import { appendEvent } from '../events/outbox.service.js'

/** The outbox lives in the events module; use cases keep importing it from here, with the audit log it goes with. */
export { appendEvent }

type Executor = Kysely<Database>

/** Any 64-bit constant: the advisory lock that orders appends to the chain. */
const AUDIT_CHAIN_LOCK = 7_355_608_001

export interface AuditInput {
  actorId: string | null
  actingFor?: string | null
  externalActor?: ExternalActor | null
  action: string
  entityType: string
  entityId: string
  before?: unknown
  after?: unknown
}

/**
 * Appends to the hash-chained audit log inside the caller's transaction.
 *
 * Concurrency: each append needs the previous entry's hash, so appends are serialised by a
 * transaction-scoped advisory lock taken before reading the chain's head; it is released at
 * commit, when the new head is visible to the next writer. A rolled-back use case leaves no
 * entry and no gap.
 */
export async function appendAudit(trx: Executor, at: Date, input: AuditInput): Promise<void> {
  await sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`.execute(trx)
  const head = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst()
  const entry: AuditEntry = {
    seq: (head?.seq ?? 0n) + 1n,
    at,
    actorId: input.actorId,
    actingFor: input.actingFor ?? null,
    externalActor: input.externalActor ?? null,
    action: input.action,
    entityType: input.entityType,
    entityId: input.entityId,
    before: input.before ?? null,
    after: input.after ?? null,
  }
  const prevHash = head?.hash ?? GENESIS_HASH
  await trx
    .insertInto('audit_log')
    .values({
      seq: entry.seq,
      at,
      actor_id: entry.actorId,
      acting_for: entry.actingFor,
      actor_kind: entry.externalActor?.kind ?? null,
      actor_ref: entry.externalActor?.ref ?? null,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId,
      before: JSON.stringify(entry.before),
      after: JSON.stringify(entry.after),
      prev_hash: prevHash,
      hash: chainHash(prevHash, entry),
    })
    .execute()
}

export interface CheckpointDeps {
  db: Db
  clock: Clock
  /** QTC_AUDIT_KEY; null when not configured, and then checkpoints are refused. */
  auditKey: string | null
  log?: { info(object: object, message: string): void }
}

function requireKey(auditKey: string | null): string {
  if (!auditKey) {
    throw new AppError('AUDIT_KEY_MISSING', 'Audit checkpoints need QTC_AUDIT_KEY (32 or more characters), a key kept outside the database; it is not set.')
  }
  return auditKey
}

/**
 * Signs the chain's current head and emits it: an `audit.checkpoint` event in the outbox (in
 * the same transaction), and a log line. The checkpoint only has value where the database
 * cannot reach it, so the log line and the returned value are the copies to keep.
 */
export async function checkpointAudit(deps: CheckpointDeps, idempotency: IdempotencyRequest | null = null): Promise<StoredResponse<AuditCheckpoint>> {
  const key = requireKey(deps.auditKey)
  const stored = await runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const at = deps.clock.now()
      const head = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst()
      const checkpoint = signCheckpoint(key, head ?? { seq: 0n, hash: GENESIS_HASH }, at)
      await appendEvent(trx, at, { type: 'audit.checkpoint', aggregateType: 'audit_log', aggregateId: 'audit_log', payload: checkpoint })
      return { status: 201, body: checkpoint }
    },
  )
  if (!stored.replayed) deps.log?.info({ auditCheckpoint: stored.body }, 'audit checkpoint')
  return stored
}

/**
 * Verifies the chain and, given a checkpoint, that the chain still holds the entry it signed:
 * its signature (a forged checkpoint), the entry's presence (a cut tail) and its hash (an
 * entry edited and everything after it re-chained).
 */
export async function verifyAudit(db: Db, options: { checkpoint?: AuditCheckpoint; auditKey?: string | null } = {}): Promise<VerifyResult> {
  if (!options.checkpoint) return verifyChain(db)
  const key = requireKey(options.auditKey ?? null)
  const chain = await verifyChain(db)
  const seq = BigInt(options.checkpoint.seq)
  const entry = await db.selectFrom('audit_log').select('hash').where('seq', '=', seq).executeTakeFirst()
  const head = await db.selectFrom('audit_log').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst()
  const checkpoint = judgeCheckpoint(key, options.checkpoint, entry?.hash, head?.seq ?? 0n)
  return { ...chain, ok: chain.ok && checkpoint.ok, checkpoint }
}

/** Verifies the whole chain, reading it in pages so memory stays flat; stops at the first broken entry. */
async function verifyChain(db: Db): Promise<VerifyResult> {
  const verifier = new ChainVerifier()
  let after = 0n
  for (;;) {
    const page = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(5000).execute()
    for (const r of page) {
      const ok = verifier.push({
        seq: r.seq,
        at: r.at,
        actorId: r.actor_id,
        actingFor: r.acting_for,
        externalActor: r.actor_kind && r.actor_ref ? { kind: r.actor_kind, ref: r.actor_ref } : null,
        action: r.action,
        entityType: r.entity_type,
        entityId: r.entity_id,
        before: r.before,
        after: r.after,
        prevHash: r.prev_hash,
        hash: r.hash,
      })
      if (!ok) return verifier.result()
    }
    if (page.length < 5000) return verifier.result()
    after = page[page.length - 1]!.seq
  }
}

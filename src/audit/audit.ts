import { canonicalJson, sha256Hex } from '../shared/hash.js'

/** The hash before the first entry of the chain. */
export const GENESIS_HASH = '0'.repeat(64)

export interface AuditEntry {
  seq: bigint
  at: Date
  actorId: string | null
  actingFor: string | null
  /** An actor that is not a principal (a buyer signing by link): its kind and id; actorId is then null. */
  externalActor?: ExternalActor | null
  action: string
  entityType: string
  entityId: string
  before: unknown
  after: unknown
}

export interface ExternalActor {
  kind: 'buyer'
  /** The contact who acted. */
  ref: string
}

/**
 * hash = sha256(prev_hash ‖ canonical JSON of the entry). Canonical JSON (RFC 8785) makes
 * the hash independent of key order, so a row read back from jsonb hashes the same.
 */
export function chainHash(prevHash: string, entry: AuditEntry): string {
  return sha256Hex(
    prevHash +
      canonicalJson({
        seq: entry.seq.toString(),
        at: entry.at.toISOString(),
        actorId: entry.actorId,
        actingFor: entry.actingFor,
        // Only entries with an external actor carry these keys, so entries written before they existed hash as they did.
        ...(entry.externalActor ? { actorKind: entry.externalActor.kind, actorRef: entry.externalActor.ref } : {}),
        action: entry.action,
        entityType: entry.entityType,
        entityId: entry.entityId,
        before: entry.before ?? null,
        after: entry.after ?? null,
      }),
  )
}

export interface VerifyResult {
  ok: boolean
  entries: number
  /** The first entry whose stored hash or link does not match, when not ok. */
  brokenAt?: { seq: string; reason: string }
  /** When verified against a checkpoint: whether the chain still holds what it signed. */
  checkpoint?: { seq: string; ok: boolean; reason?: string }
}

type ChainRow = AuditEntry & { prevHash: string; hash: string }

/** Checks entries one by one, in order, so a long chain can be verified page by page. */
export class ChainVerifier {
  private prev = GENESIS_HASH
  private expectedSeq = 1n
  entries = 0
  brokenAt: VerifyResult['brokenAt']

  /** Returns false (and records where) at the first entry that does not verify. */
  push(row: ChainRow): boolean {
    if (this.brokenAt) return false
    this.entries++
    const seq = row.seq.toString()
    if (row.seq !== this.expectedSeq) this.brokenAt = { seq, reason: `expected entry ${this.expectedSeq} (an entry is missing)` }
    else if (row.prevHash !== this.prev) this.brokenAt = { seq, reason: 'prev_hash does not link to the previous entry' }
    else if (chainHash(this.prev, row) !== row.hash) this.brokenAt = { seq, reason: 'content does not match its hash (altered)' }
    if (this.brokenAt) return false
    this.prev = row.hash
    this.expectedSeq++
    return true
  }

  result(): VerifyResult {
    return this.brokenAt ? { ok: false, entries: this.entries, brokenAt: this.brokenAt } : { ok: true, entries: this.entries }
  }
}

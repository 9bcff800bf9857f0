import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Static } from '@sinclair/typebox'
import { AuditCheckpointSchema } from '../events/event-catalogue.js'
import { canonicalJson } from '../shared/hash.js'

/**
 * A signed statement of the chain's head: "entry `seq` had hash `hash` at `at`". The chain
 * alone proves every entry links to the one before, but not that entries were not cut off
 * the end, nor that someone with write access did not edit an entry and re-hash everything
 * after it. A checkpoint kept outside the database (a log line, a webhook) does: its MAC
 * needs QTC_AUDIT_KEY, which the database does not hold.
 */
export { AuditCheckpointSchema }
export type AuditCheckpoint = Static<typeof AuditCheckpointSchema>

function macOf(key: string, fields: Omit<AuditCheckpoint, 'mac'>): string {
  return createHmac('sha256', key)
    .update(canonicalJson({ seq: fields.seq, hash: fields.hash, at: fields.at }))
    .digest('hex')
}

/** Signs the head of the chain; deterministic for a given key, head and time. */
export function signCheckpoint(key: string, head: { seq: bigint; hash: string }, at: Date): AuditCheckpoint {
  const fields = { seq: head.seq.toString(), hash: head.hash, at: at.toISOString() }
  return { ...fields, mac: macOf(key, fields) }
}

/** True when the checkpoint was signed with this key and not altered since (compared in constant time). */
export function isAuthentic(key: string, checkpoint: AuditCheckpoint): boolean {
  const expected = Buffer.from(macOf(key, checkpoint), 'hex')
  const given = Buffer.from(checkpoint.mac, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export interface CheckpointFinding {
  seq: string
  ok: boolean
  reason?: string
}

/**
 * Judges a checkpoint against the chain as stored: `storedHash` is the hash of the entry at
 * the checkpoint's seq (undefined when there is none) and `headSeq` the chain's last entry.
 */
export function judgeCheckpoint(key: string, checkpoint: AuditCheckpoint, storedHash: string | undefined, headSeq: bigint): CheckpointFinding {
  const seq = checkpoint.seq
  if (!isAuthentic(key, checkpoint)) {
    return { seq, ok: false, reason: 'the checkpoint does not verify with QTC_AUDIT_KEY: forged, altered, or signed with another key' }
  }
  if (seq === '0') return { seq, ok: true }
  if (storedHash === undefined) {
    return { seq, ok: false, reason: `the chain ends at entry ${headSeq}, before the checkpoint's entry ${seq}: its tail was cut` }
  }
  if (storedHash !== checkpoint.hash) {
    return { seq, ok: false, reason: `entry ${seq} does not have the checkpoint's hash: the chain was rewritten (edited and re-chained)` }
  }
  return { seq, ok: true }
}

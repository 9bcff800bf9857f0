import { randomBytes } from 'node:crypto'
import { sha256Hex } from '../shared/hash.js'

/**
 * API keys are 256 random bits, so an unsalted SHA-256 digest is a safe verifier (no
 * dictionary can reach them) and lets a key be found by an indexed equality lookup.
 */
export function generateApiKey(): string {
  return `qtc_${randomBytes(32).toString('base64url')}`
}

export function hashApiKey(key: string): string {
  return sha256Hex(key)
}

/** The first characters of a key, kept in clear so people can tell their keys apart. */
export function keyPrefix(key: string): string {
  return key.slice(0, 10)
}

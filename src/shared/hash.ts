import { createHash } from 'node:crypto'
import canonicalizeModule from 'canonicalize'

// The package is CommonJS whose typings claim an ES default export; at run time the default is the function.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined

/** RFC 8785 canonical JSON: the same value always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value)
  if (text === undefined) throw new Error('canonicalJson: value has no JSON form')
  return text
}

/** Hex SHA-256 of a string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Content hash of a JSON value: equal values (whatever their key order) hash equal. */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value))
}

/**
 * Code-unit order of two strings: the same on every machine. `localeCompare` follows the
 * server's locale (in Danish "aa" sorts after "z"), which would make evaluation order, and
 * so the cents, depend on where QTC runs.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

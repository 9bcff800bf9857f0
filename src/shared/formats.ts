import { FormatRegistry } from '@sinclair/typebox'

/**
 * String formats TypeBox's own checker (used for rule and price-book files) must know.
 * HTTP bodies are checked by Ajv with ajv-formats; this mirrors the formats both use.
 */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!match) return false
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

if (!FormatRegistry.Has('date')) FormatRegistry.Set('date', isCalendarDate)

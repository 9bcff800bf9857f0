import { v7 as uuidv7 } from 'uuid'

/**
 * Prefixed, time-ordered identifiers (`prn_0194…`): the prefix tells a reader what an id
 * names, and UUIDv7's time order keeps keyset pagination and index locality cheap.
 */
export function newId(prefix: string): string {
  return `${prefix}_${uuidv7().replaceAll('-', '')}`
}

import { Type, type TSchema } from '@sinclair/typebox'

/** Page size of a list unless its route says otherwise (products: 100, the approval queue: 50). */
export const DEFAULT_PAGE_LIMIT = 20
export const MAX_PAGE_LIMIT = 100

/**
 * The `limit` query parameter. Optional, so /openapi.json does not tell clients it is
 * required; the validator (useDefaults) fills in the default before the handler runs.
 */
export function limitParam(defaultLimit: number) {
  return Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: defaultLimit }))
}

export const StartingAfter = Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The cursor (nextCursor) of the previous page' }))

/** Cursor pagination: at most 100 items a page, resumed after the last id seen. */
export const PageQuery = Type.Object({ limit: limitParam(DEFAULT_PAGE_LIMIT), starting_after: StartingAfter }, { additionalProperties: false })

export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    hasMore: Type.Boolean(),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as starting_after for the next page; null on the last page' }),
  })
}

/** Builds a page from `limit + 1` fetched items: the extra one only tells whether more exist. */
export function pageFrom<T extends { id: string }>(rows: T[], limit: number): Page<T>
/** The same, for items whose cursor is not their own `id`. */
export function pageFrom<T>(rows: T[], limit: number, cursorOf: (item: T) => string): Page<T>
export function pageFrom<T>(rows: T[], limit: number, cursorOf = (item: T) => (item as { id: string }).id): Page<T> {
  const hasMore = rows.length > limit
  const data = hasMore ? rows.slice(0, limit) : rows
  return { data, hasMore, nextCursor: hasMore ? cursorOf(data[data.length - 1]!) : null }
}

export interface Page<T> {
  data: T[]
  hasMore: boolean
  nextCursor: string | null
}

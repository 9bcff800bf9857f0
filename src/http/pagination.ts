import { Type, type TSchema } from '@sinclair/typebox'

/** Cursor pagination: at most 100 items a page, resumed after the last id seen. */
export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    starting_after: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
)

export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    hasMore: Type.Boolean(),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
  })
}

/** Builds a page from `limit + 1` fetched rows: the extra row only tells whether more exist. */
export function pageFrom<T extends { id: string }>(rows: T[], limit: number): { data: T[]; hasMore: boolean; nextCursor: string | null } {
  const hasMore = rows.length > limit
  const data = hasMore ? rows.slice(0, limit) : rows
  return { data, hasMore, nextCursor: hasMore ? data[data.length - 1]!.id : null }
}

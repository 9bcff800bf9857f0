import pg from 'pg'

/**
 * The one place where PostgreSQL values become JavaScript values. Both dialects (a real
 * server through `pg`, PGlite through its node-postgres adapter) go through `pg`'s
 * parsers, so these overrides make them return identical types:
 * - int8 (bigint, e.g. `*_minor` money columns) → `bigint`, never a lossy number;
 * - numeric → `string`, so exact decimals stay exact;
 * - date → `'YYYY-MM-DD'` string, so no time zone can shift a calendar date.
 */
const OVERRIDES: Record<number, (value: string) => unknown> = {
  20: (value) => BigInt(value),
  1700: (value) => value,
  1082: (value) => value,
}

export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const override = OVERRIDES[oid]
    if (override && (format === undefined || format === 'text')) return override
    return pg.types.getTypeParser(oid, format as 'text')
  },
} as unknown as pg.CustomTypesConfig

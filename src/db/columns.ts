/**
 * The SET list of a partial update: each field the patch gives (not undefined) under its
 * column name, encoded when the column needs it (jsonb). Fields left undefined are left out,
 * so `null` still clears a column while an absent field keeps it.
 */
export function givenColumns<P extends object>(
  patch: P,
  columns: { [K in keyof P]-?: string },
  encode: { [K in keyof P]?: (value: P[K]) => unknown } = {},
): Record<string, unknown> {
  const set: Record<string, unknown> = {}
  for (const field of Object.keys(columns) as Array<keyof P>) {
    const value = patch[field]
    if (value !== undefined) set[columns[field]] = encode[field] ? encode[field]!(value) : value
  }
  return set
}

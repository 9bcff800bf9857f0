import type { ColumnType, Generated } from 'kysely'

/** Row types as the database returns them (see pg-types.ts for the value mapping). */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

export interface PrincipalsTable {
  id: string
  name: string
  roles: string[]
  status: Generated<'active' | 'revoked'>
  manager_id: string | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ApiKeysTable {
  id: string
  principal_id: string
  key_hash: string
  key_prefix: string
  created_at: Timestamp
  revoked_at: Date | null
}

export interface IdempotencyKeysTable {
  principal_id: string
  key: string
  method: string
  path: string
  request_hash: string
  response_status: number
  response_body: unknown
  created_at: Timestamp
}

export interface RuleSetVersionsTable {
  rule_set_hash: string
  price_book_hash: string
  sources: unknown
  summary: unknown
  published_by: string | null
  published_at: Timestamp
}

export interface DecisionsTable {
  id: string
  kind: 'evaluation'
  rule_set_hash: string
  price_book_hash: string
  principal_id: string
  input: unknown
  output: unknown
  created_at: Timestamp
}

export interface Database {
  rule_set_versions: RuleSetVersionsTable
  decisions: DecisionsTable
  principals: PrincipalsTable
  api_keys: ApiKeysTable
  idempotency_keys: IdempotencyKeysTable
}

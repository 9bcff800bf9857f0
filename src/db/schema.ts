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
  /** The answer exactly as it was sent, so a replay is byte-identical. */
  response_bytes: Buffer
  response_type: string
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

export interface RuleSetActivationsTable {
  id: Generated<bigint>
  rule_set_hash: string
  price_book_hash: string
  activated_by: string | null
  activated_at: Timestamp
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

export interface AccountsTable {
  id: string
  name: string
  billing_address: unknown
  country: string
  currency: string
  vat_id: string | null
  segment: string
  owner_id: string
  billing_alignment: Generated<string>
  seller_id: string | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ContactsTable {
  id: string
  account_id: string
  name: string
  email: string
  role: string | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface QuotesTable {
  id: string
  number: string
  account_id: string
  owner_id: string
  currency: string
  status: string
  current_revision: number
  valid_until: string
  payment_terms_days: number
  notes: string | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface QuoteRevisionsTable {
  quote_id: string
  revision: number
  cart: unknown
  /** The evaluation snapshot in its stored JSON form (src/evaluation/evaluation.ts), version `snapshot_version`. */
  evaluation: unknown
  snapshot_version: number
  decision_id: string
  fingerprint: unknown
  fingerprint_hash: string
  created_by: string
  created_at: Timestamp
  /** The terms in force for the revision: { id, version, sha256: { en, fr } }; null before 0011. */
  terms: ColumnType<unknown, string | null | undefined, string | null>
}

export interface ContractsTable {
  id: string
  quote_id: string
  revision: number
  quote_number: string
  account_id: string
  owner_id: string
  contact_id: string
  status: string
  lang: string
  token_hash: string
  expires_on: string
  terms: unknown
  document: Buffer
  document_sha256: string
  signed_document: Buffer | null
  signed_document_sha256: string | null
  evidence: unknown
  evidence_hash: string | null
  decline_reason: string | null
  created_by: string
  seller_id: string | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ContractEventsTable {
  id: string
  contract_id: string
  type: string
  at: Timestamp
  ip: string | null
  user_agent: string | null
  detail: string | null
}

export interface OrdersTable {
  id: string
  number: string
  quote_id: string
  revision: number
  quote_number: string
  contract_id: string
  account_id: string
  owner_id: string
  seller_id: string
  currency: string
  status: string
  payment_terms_days: number
  rule_set_hash: string
  price_book_hash: string
  net_minor: bigint
  one_time_minor: bigint
  annual_recurring_minor: bigint
  cancel_reason: string | null
  billing_alignment: Generated<string>
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface OrderLinesTable {
  order_id: string
  line_no: number
  parent_line_no: number | null
  sku: string
  name: string
  product_type: string
  fulfilment: string
  tax_category: string
  revenue_treatment: string
  unit: string
  billing_period: string | null
  qty_milli: bigint
  term_months: number | null
  start_date: string
  periods: number
  list_unit_price_minor: bigint
  net_amount_minor: bigint
  contract_amount_minor: bigint
  discount_hundredths: bigint
  /** Ramp years in minor units: [{ year, periods, amountPerPeriod, amount }] with amounts as decimal strings of minor units. */
  ramp: ColumnType<unknown, string | null, string | null>
  shipped_milli: Generated<bigint>
  delivered_milli: Generated<bigint>
  activated_milli: Generated<bigint>
}

export interface FulfilmentsTable {
  id: string
  order_id: string
  occurred_on: string
  reference: string | null
  recorded_by: string
  created_at: Timestamp
}

export interface BillingScheduleItemsTable {
  order_id: string
  line_no: number
  seq: number
  trigger: string
  period_start: string | null
  period_end: string | null
  bill_on: string | null
  contract_year: number | null
  prorated: boolean
  amount_minor: bigint
  milestone_id: string | null
  milestone_name: string | null
  milestone_percent: string | null
}

export interface OrderMilestonesTable {
  order_id: string
  line_no: number
  milestone_id: string
  reached_on: string
  recorded_by: string | null
  note: string | null
  created_at: Timestamp
}

export interface InvoiceNumberCountersTable {
  seller_id: string
  kind: string
  year: number
  last_number: number
}

export interface InvoiceRunsTable {
  id: string
  as_of: string
  status: string
  requested_by: string | null
  job_id: string | null
  total: number | null
  done: Generated<number>
  invoices: Generated<number>
  failures: ColumnType<unknown, string | undefined, string>
  drafts: Generated<boolean>
  created_at: Timestamp
  started_at: Timestamp | null
  finished_at: Timestamp | null
}

export interface InvoiceDraftsTable {
  id: string
  status: string
  run_id: string | null
  seller_id: string
  account_id: string
  owner_id: string
  currency: string
  payment_terms_days: number
  buyer: ColumnType<unknown, string, string>
  seller: ColumnType<unknown, string, string>
  net_minor: bigint
  tax_minor: bigint
  total_minor: bigint
  rule_set_hash: string
  drafted_on: string
  invoice_id: string | null
  discard_reason: string | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

/** A draft's lines: an invoice's columns (InvoiceLinesTable) under its draft, without a generation. */
export interface InvoiceDraftLinesTable extends Omit<InvoiceLinesTable, 'invoice_id' | 'generation'> {
  draft_id: string
}

export interface InvoiceDraftTaxLinesTable extends Omit<InvoiceTaxLinesTable, 'invoice_id'> {
  draft_id: string
}

export interface InvoicesTable {
  id: string
  kind: Generated<string>
  number: string
  seller_id: string
  year: number
  sequence: number
  account_id: string
  owner_id: string
  currency: string
  status: string
  issue_date: string
  due_date: string
  payment_terms_days: number
  buyer: ColumnType<unknown, string, string>
  seller: ColumnType<unknown, string, string>
  net_minor: bigint
  tax_minor: bigint
  total_minor: bigint
  rule_set_hash: string
  run_id: string | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
  replaces_invoice_id: Generated<string | null>
  credited_minor: Generated<bigint>
  paid_minor: Generated<bigint>
}

export interface InvoiceLinesTable {
  invoice_id: string
  line_no: number
  order_id: string
  order_line_no: number
  schedule_seq: number
  billed_through_milli: bigint
  quote_number: string
  order_number: string
  sku: string
  description: string
  qty_milli: bigint
  unit: string
  period_start: string | null
  period_end: string | null
  discount_hundredths: bigint
  net_minor: bigint
  revenue_treatment: string
  product_tax_category: string
  vat_category: string
  vat_rate_bp: number
  vat_mention: string | null
  vat_exemption_code: string | null
  tax_rule_id: string
  generation: Generated<number>
}

export interface EinvoiceSubmissionsTable {
  invoice_id: string | null
  credit_note_id: string | null
  /** The invoice's or the credit note's id (generated). */
  document_id: ColumnType<string, never, never>
  platform: string
  status: string
  reference: string | null
  attempts: Generated<number>
  last_error: string | null
  next_attempt_at: Timestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface EinvoiceEventsTable {
  seq: Generated<string>
  invoice_id: string | null
  credit_note_id: string | null
  platform: string
  event_id: string
  status: string
  reason: string | null
  occurred_at: Timestamp
  received_at: Timestamp
}

export interface EinvoicePlatformCursorsTable {
  platform: string
  cursor: string | null
  updated_at: Timestamp
}

export interface InvoiceTaxLinesTable {
  invoice_id: string
  vat_category: string
  vat_rate_bp: number
  base_minor: bigint
  tax_minor: bigint
  mention: string | null
  exemption_code: string | null
}

export interface PaymentsTable {
  id: string
  account_id: string
  method: string
  currency: string
  amount_minor: bigint
  received_date: string
  reference: string | null
  status: string
  refunded_minor: Generated<bigint>
  allocation: ColumnType<unknown, string | null, string | null>
  created_by: string
  created_at: Timestamp
  updated_at: Timestamp
  version: Generated<number>
}

export interface RefundsTable {
  id: string
  account_id: string
  currency: string
  payment_id: string | null
  amount_minor: bigint
  from_credit_minor: bigint
  reopened_minor: bigint
  reason: string
  refund_date: string
  created_by: string
  created_at: Timestamp
}

export interface InvoiceAllocationsTable {
  id: Generated<bigint>
  invoice_id: string
  account_id: string
  currency: string
  source: string
  payment_id: string | null
  refund_id: string | null
  credit_note_id: string | null
  amount_minor: bigint
  journal_entry_id: string
  allocated_on: string
  created_by: string
  created_at: Timestamp
}

export interface CreditNotesTable {
  id: string
  number: string
  seller_id: string
  year: number
  sequence: number
  invoice_id: string
  account_id: string
  owner_id: string
  currency: string
  issue_date: string
  reason: string
  net_minor: bigint
  tax_minor: bigint
  total_minor: bigint
  created_by: string
  created_at: Timestamp
}

export interface CreditNoteLinesTable {
  credit_note_id: string
  line_no: number
  invoice_id: string
  invoice_line_no: number
  description: string
  net_minor: bigint
  vat_category: string
  vat_rate_bp: number
}

export interface CreditNoteTaxLinesTable {
  credit_note_id: string
  vat_category: string
  vat_rate_bp: number
  base_minor: bigint
  tax_minor: bigint
  mention: string | null
  exemption_code: string | null
}

export interface JournalEntriesTable {
  id: string
  seq: Generated<bigint>
  entry_date: string
  currency: string
  source_type: string
  source_id: string
  memo: string
  created_at: Timestamp
}

export interface JournalLinesTable {
  entry_id: string
  line_no: number
  account_code: string
  debit_minor: bigint
  credit_minor: bigint
  party_id: string | null
}

export interface FulfilmentLinesTable {
  fulfilment_id: string
  order_id: string
  line_no: number
  kind: string
  qty_milli: bigint
}

export interface ApprovalRequestsTable {
  id: string
  quote_id: string
  revision: number
  status: string
  created_by: string
  created_at: Timestamp
  decided_at: Date | null
  /** What the request decides about and who may not decide it: { number, ownerId, involved, netTotal } (approval.repository.ts). */
  subject: unknown
}

export interface ApprovalStepsTable {
  id: string
  request_id: string
  quote_id: string
  level: number
  role: string
  mode: string
  reasons: unknown
  status: string
  bound_facts: unknown
  fingerprint_hash: string
  rerequest_reason: string | null
  carried_from: string | null
  decided_by: string | null
  acting_for: string | null
  comment: string | null
  decided_at: Date | null
  created_at: Timestamp
}

export interface DelegationsTable {
  id: string
  delegator_id: string
  delegate_id: string
  starts_on: string
  ends_on: string
  created_at: Timestamp
  revoked_at: Date | null
}

export interface AuditLogTable {
  seq: bigint
  at: Timestamp
  actor_id: string | null
  acting_for: string | null
  actor_kind: ColumnType<'buyer' | null, 'buyer' | null | undefined, never>
  actor_ref: ColumnType<string | null, string | null | undefined, never>
  action: string
  entity_type: string
  entity_id: string
  before: unknown
  after: unknown
  prev_hash: string
  hash: string
}

export interface OutboxEventsTable {
  id: string
  type: string
  aggregate_type: string
  aggregate_id: string
  payload: unknown
  /** The catalogue version of the payload's shape (src/events/event-catalogue.ts). */
  version: Generated<number>
  /** Write order; an event of an aggregate is written after the aggregate's earlier ones. */
  seq: Generated<bigint>
  created_at: Timestamp
  published_at: Date | null
}

export interface WebhookEndpointsTable {
  id: string
  url: string
  event_types: string[]
  description: string | null
  enabled: boolean
  secret: string
  version: Generated<number>
  created_by: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface WebhookDeliveriesTable {
  id: string
  endpoint_id: string
  event_id: string
  event_type: string
  aggregate_type: string
  aggregate_id: string
  event_seq: bigint
  state: Generated<'pending' | 'delivered' | 'failed'>
  attempt_count: Generated<number>
  next_attempt_at: Timestamp
  locked_until: Date | null
  lease_token: string | null
  last_status: number | null
  last_error: string | null
  delivered_at: Date | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface WebhookDeliveryAttemptsTable {
  id: Generated<bigint>
  delivery_id: string
  attempt: number
  attempted_at: Timestamp
  status: number | null
  error: string | null
  response_body: string | null
  response_truncated: boolean
  duration_ms: number
}

export interface Database {
  accounts: AccountsTable
  contacts: ContactsTable
  quotes: QuotesTable
  quote_revisions: QuoteRevisionsTable
  approval_requests: ApprovalRequestsTable
  approval_steps: ApprovalStepsTable
  delegations: DelegationsTable
  audit_log: AuditLogTable
  outbox_events: OutboxEventsTable
  contracts: ContractsTable
  contract_events: ContractEventsTable
  orders: OrdersTable
  order_lines: OrderLinesTable
  fulfilments: FulfilmentsTable
  fulfilment_lines: FulfilmentLinesTable
  billing_schedule_items: BillingScheduleItemsTable
  invoice_number_counters: InvoiceNumberCountersTable
  invoice_runs: InvoiceRunsTable
  invoices: InvoicesTable
  invoice_lines: InvoiceLinesTable
  invoice_drafts: InvoiceDraftsTable
  invoice_draft_lines: InvoiceDraftLinesTable
  invoice_draft_tax_lines: InvoiceDraftTaxLinesTable
  order_milestones: OrderMilestonesTable
  einvoice_submissions: EinvoiceSubmissionsTable
  einvoice_events: EinvoiceEventsTable
  einvoice_platform_cursors: EinvoicePlatformCursorsTable
  invoice_tax_lines: InvoiceTaxLinesTable
  credit_notes: CreditNotesTable
  credit_note_lines: CreditNoteLinesTable
  credit_note_tax_lines: CreditNoteTaxLinesTable
  payments: PaymentsTable
  refunds: RefundsTable
  invoice_allocations: InvoiceAllocationsTable
  journal_entries: JournalEntriesTable
  journal_lines: JournalLinesTable
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable
  rule_set_versions: RuleSetVersionsTable
  rule_set_activations: RuleSetActivationsTable
  decisions: DecisionsTable
  principals: PrincipalsTable
  api_keys: ApiKeysTable
  idempotency_keys: IdempotencyKeysTable
}

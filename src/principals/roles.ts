import { Type } from '@sinclair/typebox'

export const ROLES = ['sales_rep', 'sales_manager', 'deal_desk', 'finance', 'pricing_analyst', 'admin'] as const
export type Role = (typeof ROLES)[number]
export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)))

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

// Who may do what, one constant per permission, used by routes (`config.roles`) and services
// alike; docs/api.md's role table is checked against them (test/principals/permissions.test.ts).

/** Roles allowed to price and quote, and to keep the accounts they quote: every seller and every approver above them. */
export const SELLING_ROLES: readonly Role[] = ['sales_rep', 'sales_manager', 'deal_desk', 'finance', 'admin']

/** Who reads prices (catalog, price books, the rule set in service): sellers, and the analysts who maintain them. */
export const PRICE_READERS: readonly Role[] = [...SELLING_ROLES, 'pricing_analyst']

/** Who puts a changed rule set live: it reprices every quote, so only the analysts who write rules, and admins. */
export const RULE_SET_ACTIVATORS: readonly Role[] = ['pricing_analyst', 'admin']

/** Who replays a recorded decision: those who review prices after the fact, not the sellers who made them. */
export const DECISION_REPLAYERS: readonly Role[] = ['finance', 'pricing_analyst', 'deal_desk', 'admin']

/** Roles that approve (approval steps name one of them); a principal holding one may delegate it. */
export const APPROVER_ROLES: readonly Role[] = ['sales_manager', 'deal_desk', 'finance', 'admin']

/** Who verifies the audit trail and signs checkpoints: the controls owners, never the people audited. */
export const AUDIT_READERS: readonly Role[] = ['finance', 'admin']

/** Who manages principals and their keys: granting roles is the one power over all the others. */
export const PRINCIPAL_ADMINS: readonly Role[] = ['admin']

/** Who sees every account and quote, whoever owns it: the reviewers of deals (others see their own, managers their team's). */
export const SEE_ALL_ROLES: readonly Role[] = ['deal_desk', 'finance', 'admin']

/** Who sets how an account is billed (its seller legal entity, its billing alignment): finance's terms, not the seller's. */
export const BILLING_SETTERS: readonly Role[] = ['finance', 'admin']

/** Who runs invoicing (invoice runs bill every account): finance and administrators. */
export const INVOICE_RUNNERS: readonly Role[] = ['finance', 'admin']

/** Who credits an invoice (a credit note): finance and administrators, never the seller of the deal. */
export const CREDIT_NOTE_ISSUERS: readonly Role[] = ['finance', 'admin']

/** Who reads the journal and the trial balance: the books are finance's. */
export const LEDGER_READERS: readonly Role[] = ['finance', 'admin']

/** Who sees and starts background jobs: operators of the money side and administrators. */
export const JOB_OPERATORS: readonly Role[] = ['admin', 'finance']

/** Who registers webhook endpoints and reads their deliveries: a secret and a URL out of the system are an administrator's call. */
export const WEBHOOK_ADMINS: readonly Role[] = ['admin']

/** Who records fulfilments and cancels orders: the operations side of the deal (deal desk) and finance, never the seller who sold it. */
export const ORDER_OPERATORS: readonly Role[] = ['deal_desk', 'finance', 'admin']

/** Who records payments, applies and refunds credit, and reads receivables: the cash side is finance's, never the seller's. */
export const CASH_OPERATORS: readonly Role[] = ['finance', 'admin']

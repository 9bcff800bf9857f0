import { Type } from '@sinclair/typebox'

export const ROLES = ['sales_rep', 'sales_manager', 'deal_desk', 'finance', 'pricing_analyst', 'admin'] as const
export type Role = (typeof ROLES)[number]
export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)))

/** Roles allowed to price and quote: every seller and every approver above them. */
export const SELLING_ROLES: readonly Role[] = ['sales_rep', 'sales_manager', 'deal_desk', 'finance', 'admin']

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

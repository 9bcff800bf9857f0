import { AppError } from '../errors.js'

export const QUOTE_STATUSES = ['draft', 'pending_approval', 'approved', 'rejected', 'presented', 'accepted', 'declined', 'expired', 'canceled'] as const
export type QuoteStatus = (typeof QUOTE_STATUSES)[number]

/**
 * The quote state machine, as data: for each state, the states it may move to and the
 * action that moves it. Everything else is refused with 409 naming both states.
 *
 *   draft ─submit─► pending_approval ─approve (last level)─► approved ─present─► presented ─► accepted | declined
 *     │  └─submit (nothing to approve)──────────────────────►┘                      
 *     ◄─revise── pending_approval | approved | rejected | presented   (a new draft revision)
 *   pending_approval ─reject─► rejected
 *   draft | pending_approval | approved | presented ─expire─► expired   (past valid-until)
 *   any non-final ─cancel─► canceled
 */
export const QUOTE_TRANSITIONS: Readonly<Record<QuoteStatus, Readonly<Partial<Record<QuoteStatus, string>>>>> = {
  draft: { draft: 'revise', pending_approval: 'submit', approved: 'submit', expired: 'expire', canceled: 'cancel' },
  pending_approval: { approved: 'approve', rejected: 'reject', draft: 'revise', expired: 'expire', canceled: 'cancel' },
  approved: { presented: 'present', draft: 'revise', expired: 'expire', canceled: 'cancel' },
  rejected: { draft: 'revise', canceled: 'cancel' },
  presented: { accepted: 'accept', declined: 'decline', draft: 'revise', expired: 'expire', canceled: 'cancel' },
  accepted: {},
  declined: {},
  expired: {},
  canceled: {},
}

export const FINAL_STATUSES: readonly QuoteStatus[] = ['accepted', 'declined', 'expired', 'canceled']
export const EXPIRABLE_STATUSES: readonly QuoteStatus[] = ['draft', 'pending_approval', 'approved', 'presented']

export function canTransition(from: QuoteStatus, to: QuoteStatus): boolean {
  return QUOTE_TRANSITIONS[from][to] !== undefined
}

/** Guard for every status change: throws 409 INVALID_STATE_TRANSITION naming both states. */
export function assertQuoteTransition(from: QuoteStatus, to: QuoteStatus, action: string): void {
  if (!canTransition(from, to)) {
    throw new AppError('INVALID_STATE_TRANSITION', `Cannot ${action} a quote that is ${from} (it cannot become ${to}).`, { from, to, action })
  }
}

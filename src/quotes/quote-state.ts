import type { Transitions } from '../shared/state-machine.js'

export const QUOTE_STATUSES = ['draft', 'pending_approval', 'approved', 'rejected', 'presented', 'accepted', 'declined', 'expired', 'canceled'] as const
export type QuoteStatus = (typeof QUOTE_STATUSES)[number]

export const QUOTE_ACTIONS = ['revise', 'submit', 'approve', 'reject', 'present', 'accept', 'decline', 'expire', 'cancel'] as const
export type QuoteAction = (typeof QUOTE_ACTIONS)[number]

/**
 * The quote state machine, as data: for each state, the actions it allows and where each
 * leads. Everything else is refused with 409 naming the state and the action.
 *
 *   draft ─submit─► pending_approval ─approve (last level, or nothing to approve)─► approved ─present─► presented ─► accepted | declined
 *     ◄─revise── pending_approval | approved | rejected | presented   (a new draft revision)
 *   pending_approval ─reject─► rejected
 *   draft | pending_approval | approved | presented ─expire─► expired   (past valid-until)
 *   any non-final ─cancel─► canceled
 *
 * Leaving pending_approval withdraws the open approval request (an exit hook, see
 * transition-quote.ts), whichever action leaves it.
 */
export const QUOTE_TRANSITIONS: Transitions<QuoteStatus, QuoteAction> = {
  draft: { revise: 'draft', submit: 'pending_approval', expire: 'expired', cancel: 'canceled' },
  pending_approval: { approve: 'approved', reject: 'rejected', revise: 'draft', expire: 'expired', cancel: 'canceled' },
  approved: { present: 'presented', revise: 'draft', expire: 'expired', cancel: 'canceled' },
  rejected: { revise: 'draft', cancel: 'canceled' },
  presented: { accept: 'accepted', decline: 'declined', revise: 'draft', expire: 'expired', cancel: 'canceled' },
  accepted: {},
  declined: {},
  expired: {},
  canceled: {},
}

export const FINAL_STATUSES: readonly QuoteStatus[] = QUOTE_STATUSES.filter((s) => Object.keys(QUOTE_TRANSITIONS[s]).length === 0)
/** States a quote past its validity leaves by the `expire` action. */
export const EXPIRABLE_STATUSES: readonly QuoteStatus[] = QUOTE_STATUSES.filter((s) => QUOTE_TRANSITIONS[s].expire !== undefined)

/**
 * The approvals module's use cases, one per file; this index is what routes and other modules
 * import, so a use case can move without touching them.
 */
export type { ApprovalDeps, ApprovalQuote, ApprovalRequest, ApprovalRevision, ApprovalStep, ApprovalView, Delegation, QueueItem } from './approval.js'
export { openApprovalRequest } from './open-approval-request.js'
export { withdrawPendingRequest } from './withdraw-approval-request.js'
export { decideStep, quoteOfStep } from './decide-step.js'
export { approvalOf, approvalQueue } from './read-approvals.js'
export { createDelegation, listDelegations } from './delegations.js'
// Kept here for callers of the approvals module; the list itself lives with the other permissions.
export { APPROVER_ROLES } from '../principals/roles.js'

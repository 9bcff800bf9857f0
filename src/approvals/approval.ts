import type { Db } from '../db/database.js'
import type { EvaluationSnapshot } from '../evaluation/evaluation.js'
import type { Clock } from '../shared/clock.js'
import type { ApprovalRequest, ApprovalStep, Delegation } from './approval.repository.js'

/** The approvals domain: requests of a quote revision, their steps by level, and delegations. Use cases live one per file beside this one. */

export type { ApprovalRequest, ApprovalStep, Delegation }

export interface ApprovalDeps {
  db: Db
  clock: Clock
}

export interface ApprovalView extends ApprovalRequest {
  steps: ApprovalStep[]
}

/** What the approvals module needs of the quote it approves: it never reads the quotes' tables. */
export interface ApprovalQuote {
  id: string
  number: string
  ownerId: string
}

/** The revision submitted: what its evaluation requires, its fingerprint, and everyone who wrote a revision of the quote. */
export interface ApprovalRevision {
  revision: number
  evaluation: EvaluationSnapshot
  fingerprintHash: string
  authors: string[]
}

export interface QueueItem {
  step: ApprovalStep
  quote: { id: string; number: string; ownerId: string; revision: number; netTotal: string; currency: string }
  /** Set when the principal would act as a delegate. */
  actingFor: string | null
}

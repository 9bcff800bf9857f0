import type { Kysely, Selectable } from 'kysely'
import type { Money } from '../money/money-value.js'
import { givenColumns } from '../db/columns.js'
import type { ApprovalRequestsTable, ApprovalStepsTable, Database, DelegationsTable } from '../db/schema.js'
import type { BoundFacts } from './approval-binding.js'

type Executor = Kysely<Database>

export type StepStatus = 'waiting' | 'pending' | 'approved' | 'rejected' | 'skipped' | 'withdrawn'
export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn'

export interface ApprovalRequest {
  id: string
  quoteId: string
  revision: number
  status: RequestStatus
  createdBy: string
  createdAt: Date
  decidedAt: Date | null
}

/**
 * What an approval request decides about, kept with it so the approvals module never reads the
 * quotes' tables: the quote's number, owner and net total, and everyone who may not decide it
 * (owner, submitter, authors of its revisions).
 */
export interface ApprovalSubject {
  number: string
  ownerId: string
  involved: string[]
  netTotal: Money
}

export interface ApprovalStep {
  id: string
  requestId: string
  quoteId: string
  level: number
  role: string
  mode: 'all' | 'any'
  reasons: Array<{ ruleId: string | null; reason: string }>
  status: StepStatus
  boundFacts: BoundFacts
  fingerprintHash: string
  rerequestReason: string | null
  carriedFrom: string | null
  decidedBy: string | null
  actingFor: string | null
  comment: string | null
  decidedAt: Date | null
  createdAt: Date
}

export interface Delegation {
  id: string
  delegatorId: string
  delegateId: string
  startsOn: string
  endsOn: string
  createdAt: Date
  revokedAt: Date | null
}

function toRequest(r: Selectable<ApprovalRequestsTable>): ApprovalRequest {
  return {
    id: r.id,
    quoteId: r.quote_id,
    revision: r.revision,
    status: r.status as RequestStatus,
    createdBy: r.created_by,
    createdAt: r.created_at,
    decidedAt: r.decided_at,
  }
}

function toStep(r: Selectable<ApprovalStepsTable>): ApprovalStep {
  return {
    id: r.id,
    requestId: r.request_id,
    quoteId: r.quote_id,
    level: r.level,
    role: r.role,
    mode: r.mode as 'all' | 'any',
    reasons: r.reasons as ApprovalStep['reasons'],
    status: r.status as StepStatus,
    boundFacts: r.bound_facts as BoundFacts,
    fingerprintHash: r.fingerprint_hash,
    rerequestReason: r.rerequest_reason,
    carriedFrom: r.carried_from,
    decidedBy: r.decided_by,
    actingFor: r.acting_for,
    comment: r.comment,
    decidedAt: r.decided_at,
    createdAt: r.created_at,
  }
}

function toDelegation(r: Selectable<DelegationsTable>): Delegation {
  return {
    id: r.id,
    delegatorId: r.delegator_id,
    delegateId: r.delegate_id,
    startsOn: r.starts_on,
    endsOn: r.ends_on,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  }
}

export async function insertRequest(db: Executor, r: ApprovalRequest, subject: ApprovalSubject): Promise<void> {
  await db
    .insertInto('approval_requests')
    .values({
      id: r.id,
      quote_id: r.quoteId,
      revision: r.revision,
      status: r.status,
      created_by: r.createdBy,
      created_at: r.createdAt,
      decided_at: r.decidedAt,
      subject: JSON.stringify({ ...subject, netTotal: { minor: subject.netTotal.minor.toString(), currency: subject.netTotal.currency } }),
    })
    .execute()
}

export async function findSubject(db: Executor, requestId: string): Promise<ApprovalSubject | undefined> {
  const row = await db.selectFrom('approval_requests').select('subject').where('id', '=', requestId).executeTakeFirst()
  if (!row) return undefined
  const s = row.subject as Omit<ApprovalSubject, 'netTotal'> & { netTotal: { minor: string; currency: string } }
  return { number: s.number, ownerId: s.ownerId, involved: s.involved, netTotal: { minor: BigInt(s.netTotal.minor), currency: s.netTotal.currency } }
}

export async function insertStep(db: Executor, s: ApprovalStep): Promise<void> {
  await db
    .insertInto('approval_steps')
    .values({
      id: s.id,
      request_id: s.requestId,
      quote_id: s.quoteId,
      level: s.level,
      role: s.role,
      mode: s.mode,
      reasons: JSON.stringify(s.reasons),
      status: s.status,
      bound_facts: JSON.stringify(s.boundFacts),
      fingerprint_hash: s.fingerprintHash,
      rerequest_reason: s.rerequestReason,
      carried_from: s.carriedFrom,
      decided_by: s.decidedBy,
      acting_for: s.actingFor,
      comment: s.comment,
      decided_at: s.decidedAt,
      created_at: s.createdAt,
    })
    .execute()
}

export async function findPendingRequest(db: Executor, quoteId: string): Promise<ApprovalRequest | undefined> {
  const row = await db.selectFrom('approval_requests').selectAll().where('quote_id', '=', quoteId).where('status', '=', 'pending').executeTakeFirst()
  return row && toRequest(row)
}

export async function findLatestRequest(db: Executor, quoteId: string): Promise<ApprovalRequest | undefined> {
  const row = await db
    .selectFrom('approval_requests')
    .selectAll()
    .where('quote_id', '=', quoteId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row && toRequest(row)
}

/** Locks a request for the rest of the transaction: decisions on its steps are serialised. */
export async function lockRequest(db: Executor, id: string): Promise<ApprovalRequest | undefined> {
  const row = await db.selectFrom('approval_requests').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
  return row && toRequest(row)
}

export async function updateRequestStatus(db: Executor, id: string, status: RequestStatus, at: Date | null): Promise<void> {
  await db.updateTable('approval_requests').set({ status, decided_at: at }).where('id', '=', id).execute()
}

export async function findStep(db: Executor, id: string): Promise<ApprovalStep | undefined> {
  const row = await db.selectFrom('approval_steps').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toStep(row)
}

export async function stepsOfRequest(db: Executor, requestId: string): Promise<ApprovalStep[]> {
  return (await db.selectFrom('approval_steps').selectAll().where('request_id', '=', requestId).orderBy('level').orderBy('role').execute()).map(toStep)
}

/** The most recent approved step of a quote for a level and role: what a new request may carry over. */
export async function latestApprovedStep(db: Executor, quoteId: string, level: number, role: string): Promise<ApprovalStep | undefined> {
  const row = await db
    .selectFrom('approval_steps')
    .selectAll()
    .where('quote_id', '=', quoteId)
    .where('level', '=', level)
    .where('role', '=', role)
    .where('status', '=', 'approved')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row && toStep(row)
}

export async function updateStep(
  db: Executor,
  id: string,
  fromStatus: StepStatus,
  patch: Partial<Pick<ApprovalStep, 'status' | 'decidedBy' | 'actingFor' | 'comment' | 'decidedAt'>>,
): Promise<boolean> {
  const result = await db
    .updateTable('approval_steps')
    .set(givenColumns(patch, { status: 'status', decidedBy: 'decided_by', actingFor: 'acting_for', comment: 'comment', decidedAt: 'decided_at' }))
    .where('id', '=', id)
    .where('status', '=', fromStatus)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/**
 * Pending steps whose role is one of `roles`, oldest first (then by id), for approval queues;
 * `after` resumes the order after a step, so a queue can be read page by page.
 */
export async function pendingStepsForRoles(
  db: Executor,
  roles: string[],
  limit: number,
  after?: Pick<ApprovalStep, 'createdAt' | 'id'>,
): Promise<ApprovalStep[]> {
  if (roles.length === 0) return []
  let q = db.selectFrom('approval_steps').selectAll().where('status', '=', 'pending').where('role', 'in', roles)
  if (after) q = q.where(({ eb, refTuple, tuple }) => eb(refTuple('created_at', 'id'), '>', tuple(after.createdAt, after.id)))
  return (await q.orderBy('created_at').orderBy('id').limit(limit).execute()).map(toStep)
}

export async function insertDelegation(db: Executor, d: Delegation): Promise<void> {
  await db
    .insertInto('delegations')
    .values({
      id: d.id,
      delegator_id: d.delegatorId,
      delegate_id: d.delegateId,
      starts_on: d.startsOn,
      ends_on: d.endsOn,
      created_at: d.createdAt,
      revoked_at: d.revokedAt,
    })
    .execute()
}

/** Delegations to `delegateId` in force on `day`. */
export async function activeDelegationsTo(db: Executor, delegateId: string, day: string): Promise<Delegation[]> {
  return (
    await db
      .selectFrom('delegations')
      .selectAll()
      .where('delegate_id', '=', delegateId)
      .where('starts_on', '<=', day)
      .where('ends_on', '>=', day)
      .where('revoked_at', 'is', null)
      .execute()
  ).map(toDelegation)
}

export async function delegationsOf(db: Executor, principalId: string): Promise<Delegation[]> {
  return (
    await db
      .selectFrom('delegations')
      .selectAll()
      .where((eb) => eb.or([eb('delegator_id', '=', principalId), eb('delegate_id', '=', principalId)]))
      .orderBy('created_at', 'desc')
      .limit(100)
      .execute()
  ).map(toDelegation)
}

import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { renderSignedCopy } from '../documents/signed-copy.js'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import { canSeeOwned } from '../principals/visibility.js'
import { canonicalJson, sha256Hex } from '../shared/hash.js'
import { newId } from '../shared/ids.js'
import { assertTransition } from '../shared/state-machine.js'
import {
  CONSENT,
  CONTRACT_TRANSITIONS,
  OPEN_CONTRACT_STATUSES,
  type Contract,
  type ContractAction,
  type ContractEvent,
  type ContractStatus,
  type Lang,
  type SignatureEvidence,
  type TermsRecord,
} from './contract.js'
import * as repo from './contract.repository.js'

export type { Contract, ContractEvent, ContractStatus, Lang, SignatureEvidence, TermsRecord }
export { CONSENT }

type Executor = Kysely<Database>

const MACHINE = { entity: 'contract', transitions: CONTRACT_TRANSITIONS }

/** Where a buyer's request comes from: kept on the timeline and in the evidence. */
export interface RequestMeta {
  ip: string
  userAgent: string
}

export interface ContractView {
  contract: Contract
  timeline: ContractEvent[]
}

/** 256 random bits, URL-safe: the link is the buyer's only credential, so it must not be guessable. */
function newToken(): string {
  return randomBytes(32).toString('base64url')
}

function hashToken(token: string): string {
  return sha256Hex(token)
}

/** The day (UTC) of an instant, as the link's expiry is a day. */
function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10)
}

async function event(db: Executor, contract: Contract, type: string, at: Date, meta: Partial<RequestMeta> = {}, detail: string | null = null): Promise<void> {
  await repo.insertEvent(db, {
    id: newId('cev'),
    contractId: contract.id,
    type,
    at,
    ip: meta.ip ?? null,
    userAgent: meta.userAgent ?? null,
    detail,
  })
}

/** Moves a locked contract by an action of its machine (the guard names what the state allows); compare-and-swap on its version. */
async function transition(
  trx: Executor,
  contract: Contract,
  action: ContractAction,
  now: Date,
  patch: Omit<Parameters<typeof repo.updateContract>[3], 'status'> = {},
): Promise<Contract> {
  const to = assertTransition(MACHINE, contract.status, action)
  const updated = await repo.updateContract(trx, contract.id, contract.version, { ...patch, status: to }, now)
  if (!updated) throw new AppError('PRECONDITION_FAILED', `Contract ${contract.id} changed meanwhile; read it again.`)
  return updated
}

export interface IssueInput {
  quoteId: string
  revision: number
  quoteNumber: string
  accountId: string
  ownerId: string
  contactId: string
  lang: Lang
  expiresOn: string
  terms: TermsRecord
  document: Buffer
  /** The seller legal entity the document is issued by. */
  sellerId: string
}

/** `contract.sent`: the link for whatever e-mails it to the buyer (QTC sends no mail). */
async function emitSent(trx: Executor, contract: Contract, url: string, now: Date): Promise<void> {
  await appendEvent(trx, now, {
    type: 'contract.sent',
    aggregateType: 'contract',
    aggregateId: contract.id,
    payload: {
      contractId: contract.id,
      quoteId: contract.quoteId,
      quoteNumber: contract.quoteNumber,
      contactId: contract.contactId,
      signingUrl: url,
      expiresOn: contract.expiresOn,
    },
  })
}

/**
 * Issues the contract of a presented revision in the caller's transaction: the document and
 * its SHA-256 stored, a signing link whose token is returned once and stored hashed, the
 * `sent` event, an audit entry and a `contract.sent` outbox event carrying the link (e-mail
 * delivery is another system's job).
 */
export async function issueContract(
  trx: Executor,
  actor: Principal,
  input: IssueInput,
  signingUrl: (token: string) => string,
  now: Date,
): Promise<{ contract: Contract; signingUrl: string }> {
  const token = newToken()
  const contract = await repo.insertContract(trx, {
    id: newId('ctr'),
    ...input,
    status: 'sent',
    tokenHash: hashToken(token),
    documentSha256: sha256Hex(input.document),
    createdBy: actor.id,
    createdAt: now,
    updatedAt: now,
  })
  await event(trx, contract, 'sent', now, {}, `by ${actor.id}`)
  const url = signingUrl(token)
  await appendAudit(trx, now, {
    actorId: actor.id,
    action: 'contract.sent',
    entityType: 'contract',
    entityId: contract.id,
    after: {
      quoteId: contract.quoteId,
      revision: contract.revision,
      contactId: contract.contactId,
      documentSha256: contract.documentSha256,
      terms: contract.terms,
    },
  })
  await emitSent(trx, contract, url, now)
  return { contract, signingUrl: url }
}

/**
 * A fresh link for an open contract (the first was lost, or went to the wrong inbox): the old
 * token stops working at once.
 */
export async function reissueLink(
  trx: Executor,
  actor: Principal,
  contractId: string,
  signingUrl: (token: string) => string,
  now: Date,
): Promise<{ contract: Contract; signingUrl: string }> {
  const contract = await repo.lockContract(trx, contractId)
  if (!contract || !(await canSeeOwned(trx, actor, contract.ownerId))) throw new AppError('NOT_FOUND', `No contract ${contractId}.`)
  if (!OPEN_CONTRACT_STATUSES.includes(contract.status))
    throw new AppError('INVALID_STATE_TRANSITION', `Contract ${contract.id} is ${contract.status}: its link cannot be reissued.`, {
      from: contract.status,
      action: 'reissue',
    })
  const token = newToken()
  const updated = await repo.updateContract(trx, contract.id, contract.version, { tokenHash: hashToken(token) }, now)
  if (!updated) throw new AppError('PRECONDITION_FAILED', `Contract ${contract.id} changed meanwhile; read it again.`)
  await event(trx, updated, 'link_reissued', now, {}, `by ${actor.id}`)
  const url = signingUrl(token)
  await appendAudit(trx, now, { actorId: actor.id, action: 'contract.link_reissued', entityType: 'contract', entityId: contract.id })
  await emitSent(trx, contract, url, now)
  return { contract: updated, signingUrl: url }
}

/**
 * Closes the open contract of a quote that leaves `presented` other than by the buyer: revised
 * or canceled → withdrawn, past its validity → expired. The buyer's link then says so.
 */
export async function closeOpenContract(trx: Executor, quoteId: string, reason: 'withdraw' | 'expire', actorId: string | null, now: Date): Promise<void> {
  const contract = await repo.lockOpenOfQuote(trx, quoteId)
  if (!contract) return
  const closed = await transition(trx, contract, reason, now)
  await event(trx, closed, closed.status, now, {}, actorId ? `by ${actorId}` : null)
  await appendAudit(trx, now, {
    actorId,
    action: `contract.${reason}`,
    entityType: 'contract',
    entityId: contract.id,
    before: { status: contract.status },
    after: { status: closed.status },
  })
  await appendEvent(trx, now, {
    type: reason === 'expire' ? 'contract.expired' : 'contract.withdrawn',
    aggregateType: 'contract',
    aggregateId: contract.id,
    payload: { contractId: contract.id, quoteId, from: contract.status, to: closed.status },
  })
}

/**
 * The contract a buyer's link names. Looked up by the token's SHA-256 (the token is never
 * stored), then compared in constant time, so neither the lookup nor the comparison tells an
 * attacker how much of a guess was right. Undefined for an unknown link.
 */
export async function contractByToken(db: Executor, token: string, options: { lock?: boolean } = {}): Promise<Contract | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined
  const hash = hashToken(token)
  const found = await repo.findByTokenHash(db, hash, options.lock ?? false)
  if (!found || !timingSafeEqual(Buffer.from(found.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) return undefined
  const { tokenHash: _, ...contract } = found
  return contract
}

/** Whether a link still signs, and if not why: the page the buyer sees depends on it. */
export type LinkState = 'open' | 'signed' | 'declined' | 'expired' | 'withdrawn'

export function linkState(contract: Contract, now: Date): LinkState {
  if (OPEN_CONTRACT_STATUSES.includes(contract.status)) return dayOf(now) > contract.expiresOn ? 'expired' : 'open'
  return contract.status as Exclude<ContractStatus, 'sent' | 'viewed'>
}

function assertOpen(contract: Contract, now: Date): void {
  const state = linkState(contract, now)
  if (state !== 'open') throw new AppError('SIGNING_LINK_CLOSED', `This signing link is closed: the contract is ${state}.`, { state })
}

/** A view or a download by the buyer: on the timeline; the first view moves the contract to viewed. */
export async function recordBuyerVisit(db: Executor, contract: Contract, type: 'viewed' | 'downloaded', meta: RequestMeta, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const locked = await repo.lockContract(trx, contract.id)
    assert(locked, `contract ${contract.id} exists`)
    await event(trx, locked, type, now, meta)
    if (type === 'viewed' && locked.status === 'sent') await transition(trx, locked, 'view', now)
  })
}

export interface SignatureInput {
  signer: { name: string; title: string; email: string }
  consentVersion: string
}

/**
 * Signs a locked, open contract: refuses if the stored document is no longer the one whose
 * hash the link was issued with; records the evidence and its hash, renders the signed copy
 * (the original pages and a certificate page), and appends the signature to the audit chain
 * with the buyer as actor — all in the caller's transaction.
 */
export async function signContract(trx: Executor, contract: Contract, input: SignatureInput, meta: RequestMeta, now: Date): Promise<Contract> {
  assertOpen(contract, now)
  if (input.consentVersion !== CONSENT.version)
    throw new AppError('VALIDATION_FAILED', 'The consent given is not the current one; reload the page.', {
      errors: [{ pointer: '/consentVersion', detail: `must be ${CONSENT.version}` }],
    })
  const document = await repo.findDocument(trx, contract.id, 'document')
  assert(document, `contract ${contract.id} has its document`)
  if (sha256Hex(document) !== contract.documentSha256)
    throw new AppError(
      'DOCUMENT_CHANGED',
      'The document no longer matches the one this link was issued for; nothing was signed. Ask the seller for a new link.',
    )
  const evidence: SignatureEvidence = {
    contractId: contract.id,
    quoteNumber: contract.quoteNumber,
    revision: contract.revision,
    signer: input.signer,
    consent: { version: CONSENT.version, text: CONSENT.text[contract.lang] },
    terms: contract.terms,
    signedAt: now.toISOString(),
    ip: meta.ip,
    userAgent: meta.userAgent,
    documentSha256: contract.documentSha256,
  }
  const evidenceHash = sha256Hex(canonicalJson(evidence))
  await event(trx, contract, 'signed', now, meta, input.signer.name)
  const timeline = await repo.listEvents(trx, contract.id)
  const signedDocument = await renderSignedCopy(document, {
    lang: contract.lang,
    quoteNumber: contract.quoteNumber,
    revision: contract.revision,
    contractId: contract.id,
    signer: input.signer,
    signedAt: now,
    ip: meta.ip,
    userAgent: meta.userAgent,
    documentSha256: contract.documentSha256,
    evidenceHash,
    consent: evidence.consent,
    terms: contract.terms,
    timeline: timeline.map((e) => ({ at: e.at, type: e.type, ip: e.ip, userAgent: e.userAgent, detail: e.detail })),
  })
  const signed = await transition(trx, contract, 'sign', now, {
    evidence,
    evidenceHash,
    signedDocument,
    signedDocumentSha256: sha256Hex(signedDocument),
  })
  const buyer = { kind: 'buyer' as const, ref: contract.contactId }
  await appendAudit(trx, now, {
    actorId: null,
    externalActor: buyer,
    action: 'contract.signed',
    entityType: 'contract',
    entityId: contract.id,
    before: { status: contract.status },
    after: { status: 'signed', evidenceHash, documentSha256: contract.documentSha256, signedDocumentSha256: signed.signedDocumentSha256 },
  })
  await appendEvent(trx, now, {
    type: 'contract.signed',
    aggregateType: 'contract',
    aggregateId: contract.id,
    payload: { contractId: contract.id, quoteId: contract.quoteId, quoteNumber: contract.quoteNumber, evidenceHash },
  })
  return signed
}

/** Declines a locked, open contract with the buyer's reason, in the caller's transaction. */
export async function declineContract(trx: Executor, contract: Contract, reason: string, meta: RequestMeta, now: Date): Promise<Contract> {
  assertOpen(contract, now)
  await event(trx, contract, 'declined', now, meta, reason)
  const declined = await transition(trx, contract, 'decline', now, { declineReason: reason })
  await appendAudit(trx, now, {
    actorId: null,
    externalActor: { kind: 'buyer', ref: contract.contactId },
    action: 'contract.declined',
    entityType: 'contract',
    entityId: contract.id,
    before: { status: contract.status },
    after: { status: 'declined', reason },
  })
  await appendEvent(trx, now, {
    type: 'contract.declined',
    aggregateType: 'contract',
    aggregateId: contract.id,
    payload: { contractId: contract.id, quoteId: contract.quoteId, quoteNumber: contract.quoteNumber, reason },
  })
  return declined
}

/** Locks a contract known by its id (the signing use case re-reads it under lock). */
export async function lockContract(trx: Executor, id: string): Promise<Contract> {
  const contract = await repo.lockContract(trx, id)
  assert(contract, `contract ${id} exists (contracts are never deleted)`)
  return contract
}

/** A contract and its timeline, if the principal may see its quote. */
export async function getContract(db: Executor, actor: Principal, id: string): Promise<ContractView> {
  const contract = await repo.findContract(db, id)
  if (!contract || !(await canSeeOwned(db, actor, contract.ownerId))) throw new AppError('NOT_FOUND', `No contract ${id}.`)
  return { contract, timeline: await repo.listEvents(db, id) }
}

/** The latest contract of a quote the caller already may see, or undefined. */
export async function latestContractOfQuote(db: Executor, quoteId: string): Promise<ContractView | undefined> {
  const contract = await repo.findLatestOfQuote(db, quoteId)
  return contract && { contract, timeline: await repo.listEvents(db, contract.id) }
}

/** The stored document (as presented) or the signed copy; a copy not signed yet is 404. */
export async function contractFile(
  db: Executor,
  actor: Principal | null,
  id: string,
  which: 'document' | 'signed',
): Promise<{ contract: Contract; bytes: Buffer }> {
  const contract = await repo.findContract(db, id)
  if (!contract || (actor && !(await canSeeOwned(db, actor, contract.ownerId)))) throw new AppError('NOT_FOUND', `No contract ${id}.`)
  const bytes = await repo.findDocument(db, id, which === 'document' ? 'document' : 'signed_document')
  if (!bytes) throw new AppError('NOT_FOUND', `Contract ${id} is ${contract.status}: it has no signed copy.`)
  return { contract, bytes }
}

import type { Kysely, Selectable } from 'kysely'
import type { ContractEventsTable, ContractsTable, Database } from '../db/schema.js'
import type { Contract, ContractEvent, ContractStatus, Lang, SignatureEvidence, TermsRecord } from './contract.js'

type Executor = Kysely<Database>

/** Every column but the documents' bytes, which only the downloads read. */
const CONTRACT_COLUMNS = [
  'id',
  'quote_id',
  'revision',
  'quote_number',
  'account_id',
  'owner_id',
  'contact_id',
  'status',
  'lang',
  'expires_on',
  'terms',
  'document_sha256',
  'signed_document_sha256',
  'evidence',
  'evidence_hash',
  'decline_reason',
  'created_by',
  'seller_id',
  'version',
  'created_at',
  'updated_at',
] as const

type ContractRow = Pick<Selectable<ContractsTable>, (typeof CONTRACT_COLUMNS)[number]>

function toContract(r: ContractRow): Contract {
  return {
    id: r.id,
    quoteId: r.quote_id,
    revision: r.revision,
    quoteNumber: r.quote_number,
    accountId: r.account_id,
    ownerId: r.owner_id,
    contactId: r.contact_id,
    status: r.status as ContractStatus,
    lang: r.lang as Lang,
    expiresOn: r.expires_on,
    terms: r.terms as TermsRecord,
    documentSha256: r.document_sha256,
    signedDocumentSha256: r.signed_document_sha256,
    evidence: (r.evidence as SignatureEvidence | null) ?? null,
    evidenceHash: r.evidence_hash,
    declineReason: r.decline_reason,
    createdBy: r.created_by,
    sellerId: r.seller_id,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

function toEvent(r: Selectable<ContractEventsTable>): ContractEvent {
  return { id: r.id, contractId: r.contract_id, type: r.type, at: r.at, ip: r.ip, userAgent: r.user_agent, detail: r.detail }
}

export async function insertContract(
  db: Executor,
  c: Omit<Contract, 'version' | 'signedDocumentSha256' | 'evidence' | 'evidenceHash' | 'declineReason'> & { tokenHash: string; document: Buffer },
): Promise<Contract> {
  const row = await db
    .insertInto('contracts')
    .values({
      id: c.id,
      quote_id: c.quoteId,
      revision: c.revision,
      quote_number: c.quoteNumber,
      account_id: c.accountId,
      owner_id: c.ownerId,
      contact_id: c.contactId,
      status: c.status,
      lang: c.lang,
      token_hash: c.tokenHash,
      expires_on: c.expiresOn,
      terms: JSON.stringify(c.terms),
      document: c.document,
      document_sha256: c.documentSha256,
      created_by: c.createdBy,
      seller_id: c.sellerId,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    })
    .returning(CONTRACT_COLUMNS)
    .executeTakeFirstOrThrow()
  return toContract(row)
}

export async function findContract(db: Executor, id: string): Promise<Contract | undefined> {
  const row = await db.selectFrom('contracts').select(CONTRACT_COLUMNS).where('id', '=', id).executeTakeFirst()
  return row && toContract(row)
}

/** The contract a link's token hash names, with its row locked when `lock` (signing, declining). */
export async function findByTokenHash(db: Executor, tokenHash: string, lock = false): Promise<(Contract & { tokenHash: string }) | undefined> {
  let query = db
    .selectFrom('contracts')
    .select([...CONTRACT_COLUMNS, 'token_hash'])
    .where('token_hash', '=', tokenHash)
  if (lock) query = query.forUpdate()
  const row = await query.executeTakeFirst()
  return row && { ...toContract(row), tokenHash: row.token_hash }
}

export async function lockContract(db: Executor, id: string): Promise<Contract | undefined> {
  const row = await db.selectFrom('contracts').select(CONTRACT_COLUMNS).where('id', '=', id).forUpdate().executeTakeFirst()
  return row && toContract(row)
}

/** The latest contract of a quote (the one of its latest presented revision). */
export async function findLatestOfQuote(db: Executor, quoteId: string): Promise<Contract | undefined> {
  const row = await db.selectFrom('contracts').select(CONTRACT_COLUMNS).where('quote_id', '=', quoteId).orderBy('revision', 'desc').limit(1).executeTakeFirst()
  return row && toContract(row)
}

export async function lockOpenOfQuote(db: Executor, quoteId: string): Promise<Contract | undefined> {
  const row = await db
    .selectFrom('contracts')
    .select(CONTRACT_COLUMNS)
    .where('quote_id', '=', quoteId)
    .where('status', 'in', ['sent', 'viewed'])
    .forUpdate()
    .executeTakeFirst()
  return row && toContract(row)
}

export async function findDocument(db: Executor, id: string, which: 'document' | 'signed_document'): Promise<Buffer | null | undefined> {
  const row = await db.selectFrom('contracts').select(which).where('id', '=', id).executeTakeFirst()
  return row ? row[which] : undefined
}

/** Compare-and-swap on the version: a contract changed meanwhile is not overwritten. */
export async function updateContract(
  db: Executor,
  id: string,
  expectedVersion: number,
  patch: {
    status?: ContractStatus
    tokenHash?: string
    signedDocument?: Buffer
    signedDocumentSha256?: string
    evidence?: SignatureEvidence
    evidenceHash?: string
    declineReason?: string
  },
  now: Date,
): Promise<Contract | undefined> {
  const row = await db
    .updateTable('contracts')
    .set((eb) => ({
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.tokenHash !== undefined ? { token_hash: patch.tokenHash } : {}),
      ...(patch.signedDocument !== undefined ? { signed_document: patch.signedDocument } : {}),
      ...(patch.signedDocumentSha256 !== undefined ? { signed_document_sha256: patch.signedDocumentSha256 } : {}),
      ...(patch.evidence !== undefined ? { evidence: JSON.stringify(patch.evidence) } : {}),
      ...(patch.evidenceHash !== undefined ? { evidence_hash: patch.evidenceHash } : {}),
      ...(patch.declineReason !== undefined ? { decline_reason: patch.declineReason } : {}),
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .returning(CONTRACT_COLUMNS)
    .executeTakeFirst()
  return row && toContract(row)
}

export async function insertEvent(db: Executor, e: ContractEvent): Promise<void> {
  await db
    .insertInto('contract_events')
    .values({ id: e.id, contract_id: e.contractId, type: e.type, at: e.at, ip: e.ip, user_agent: e.userAgent, detail: e.detail })
    .execute()
}

/** The timeline, oldest first; bounded (a link opened thousands of times keeps its first events). */
export async function listEvents(db: Executor, contractId: string, limit = 500): Promise<ContractEvent[]> {
  const rows = await db.selectFrom('contract_events').selectAll().where('contract_id', '=', contractId).orderBy('at').orderBy('id').limit(limit).execute()
  return rows.map(toEvent)
}

import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { assert } from '../errors.js'

/**
 * The events QTC emits, one entry per type: its version, a description and the TypeBox
 * schema of its payload. This is the contract receivers of webhooks rely on: a change of a
 * payload's shape is a new version, never an edit. `appendEvent` accepts only these types,
 * with their payloads typed at compile time and checked again (in their JSON form) when written.
 *
 * This module imports no other module of QTC, so every module can emit events without a cycle.
 */

const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description })
const QuoteNumber = Type.String({ pattern: '^Q-\\d{4}-\\d{6}$', description: 'The quote number (Q-<year>-<six digits>)' })
const QuoteStatus = Type.Union(
  ['draft', 'pending_approval', 'approved', 'rejected', 'presented', 'accepted', 'declined', 'expired', 'canceled'].map((s) => Type.Literal(s)),
  { description: 'A quote status' },
)
const InvoiceStatus = Type.Union(
  ['issued', 'partially_paid', 'paid', 'overdue', 'credited'].map((s) => Type.Literal(s)),
  { description: 'An invoice status' },
)
const Currency = Type.String({ pattern: '^[A-Z]{3}$' })
const Decimal = (description: string) => Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: `${description}, a decimal string in the currency` })
const Allocated = Type.Object(
  { invoiceId: Id('The invoice'), number: Type.String({ maxLength: 40 }), amount: Type.String({ pattern: '^\\d+(\\.\\d+)?$' }) },
  { additionalProperties: false },
)
const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A calendar date' })
const IsoInstant = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$', description: 'An instant (UTC)' })
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' })

/** A signed statement of the audit chain's head; also the `audit.checkpoint` payload. */
export const AuditCheckpointSchema = Type.Object(
  {
    seq: Type.String({ pattern: '^(0|[1-9][0-9]{0,18})$', description: 'The head entry (0: an empty chain)' }),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: "The head entry's hash" }),
    // A pattern rather than format: 'date-time', so the CLI checks it with TypeBox alone.
    at: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$', description: 'When it was signed (UTC)' }),
    mac: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'HMAC-SHA256 with QTC_AUDIT_KEY of the canonical JSON of seq, hash and at' }),
  },
  { additionalProperties: false, description: 'A signed audit checkpoint' },
)

const QuoteTransition = Type.Object(
  {
    quoteId: Id('The quote'),
    number: QuoteNumber,
    from: QuoteStatus,
    to: QuoteStatus,
    fingerprintHash: Type.Optional(Type.String({ ...Sha256, description: 'The submitted revision (on submission)' })),
    reason: Type.Optional(Type.String({ maxLength: 200, description: 'Why the quote moved without a person deciding (an approval with nothing to approve)' })),
    validUntil: Type.Optional(Type.String({ ...IsoDate, description: 'The validity the quote passed (on expiry)' })),
    contractId: Type.Optional(Id('The contract the buyer signed or declined (on acceptance or decline)')),
    evidenceHash: Type.Optional(Type.Union([Type.String({ ...Sha256, description: "The signature evidence's SHA-256 (on acceptance)" }), Type.Null()])),
    orderId: Type.Optional(Id('The order created by the acceptance, in the same transaction (on acceptance)')),
  },
  { additionalProperties: false },
)
const ContractStatus = Type.Union(
  ['sent', 'viewed', 'signed', 'declined', 'expired', 'withdrawn'].map((s) => Type.Literal(s)),
  { description: 'A contract status' },
)
const ContractRef = {
  contractId: Id('The contract'),
  quoteId: Id('Its quote'),
}
const ContractClosed = Type.Object({ ...ContractRef, from: ContractStatus, to: ContractStatus }, { additionalProperties: false })

const OrderRef = {
  orderId: Id('The order'),
  number: Type.String({ pattern: '^O-\\d{4}-\\d{6,}$', description: 'The order number (O-<year>-<six digits>)' }),
}
const OrderClosed = Type.Object(
  { ...OrderRef, quoteId: Id('Its quote'), reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Why it was canceled' })) },
  { additionalProperties: false },
)

const ApprovalDecision = Type.Object(
  {
    stepId: Id('The approval step decided'),
    level: Type.Integer({ minimum: 1, maximum: 100, description: 'Its level in the chain' }),
    role: Type.String({ minLength: 1, maxLength: 64, description: 'The role the step asked for' }),
    actingFor: Type.Union([Id('The principal the decider stood in for, by delegation'), Type.Null()]),
  },
  { additionalProperties: false },
)

/** What a certified platform reported of a document: the fields of both e-invoicing status events. */
const PlatformReport = {
  platform: Type.String({ maxLength: 64 }),
  status: Type.Union(
    ['deposited', 'received', 'made_available', 'approved', 'disputed', 'refused', 'payment_sent', 'collected', 'rejected'].map((s) => Type.Literal(s)),
  ),
  code: Type.Integer({ minimum: 200, maximum: 299, description: "The status's code in the French lifecycle (200 déposée … 213 rejetée)" }),
  reason: Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]),
  occurredAt: IsoInstant,
}

function event<P extends TSchema>(version: number, description: string, aggregateType: string, payload: P) {
  return { version, description, aggregateType, payload }
}

const transition = (status: string, what: string) => event(1, `A quote ${what} (status ${status}). Aggregate: the quote.`, 'quote', QuoteTransition)

export const EVENT_CATALOGUE = {
  'quote.created': event(
    1,
    'A quote was created as a draft at revision 1. Aggregate: the quote.',
    'quote',
    Type.Object({ quoteId: Id('The quote'), number: QuoteNumber }, { additionalProperties: false }),
  ),
  'quote.revised': event(
    1,
    'A quote got a new draft revision (its cart or terms changed). Aggregate: the quote.',
    'quote',
    Type.Object(
      { quoteId: Id('The quote'), revision: Type.Integer({ minimum: 1, description: 'The new revision' }), from: QuoteStatus },
      { additionalProperties: false },
    ),
  ),
  'quote.pending_approval': transition('pending_approval', 'was submitted and waits for approval'),
  'quote.approved': transition('approved', 'was approved (every level, or nothing needed approval)'),
  'quote.rejected': transition('rejected', 'was rejected by an approver'),
  'quote.presented': transition('presented', 'was presented to the customer'),
  'quote.accepted': transition('accepted', 'was accepted by the customer'),
  'quote.declined': transition('declined', 'was declined by the customer'),
  'quote.expired': transition('expired', 'passed its validity'),
  'quote.canceled': transition('canceled', 'was canceled'),
  'contract.sent': event(
    1,
    "A contract was sent for signature (on presenting a quote, or with a new link): the buyer's link, for the system that e-mails it. Aggregate: the contract.",
    'contract',
    Type.Object(
      {
        ...ContractRef,
        quoteNumber: QuoteNumber,
        contactId: Id('The contact who may sign'),
        signingUrl: Type.String({ maxLength: 2200, description: "The buyer's signing link (the only place it is given besides the presenting answer)" }),
        expiresOn: Type.String({ ...IsoDate, description: 'The last day the link signs' }),
      },
      { additionalProperties: false },
    ),
  ),
  'contract.signed': event(
    1,
    'The buyer signed: the evidence is kept and a signed copy made. Aggregate: the contract.',
    'contract',
    Type.Object({ ...ContractRef, quoteNumber: QuoteNumber, evidenceHash: Sha256 }, { additionalProperties: false }),
  ),
  'contract.declined': event(
    1,
    'The buyer declined, with a reason. Aggregate: the contract.',
    'contract',
    Type.Object({ ...ContractRef, quoteNumber: QuoteNumber, reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
  ),
  'contract.withdrawn': event(1, 'A contract was withdrawn: its quote was revised or canceled. Aggregate: the contract.', 'contract', ContractClosed),
  'contract.expired': event(1, 'A contract expired with its quote. Aggregate: the contract.', 'contract', ContractClosed),
  'order.created': event(
    1,
    'An accepted quote became an order (its lines copied from the signed revision). Aggregate: the order.',
    'order',
    Type.Object(
      {
        ...OrderRef,
        quoteId: Id('The accepted quote'),
        quoteNumber: QuoteNumber,
        revision: Type.Integer({ minimum: 1, description: 'The accepted revision' }),
        accountId: Id('The buyer'),
        currency: Type.String({ pattern: '^[A-Z]{3}$' }),
        net: Type.String({ pattern: '^-?\\d+(\\.\\d+)?$', description: 'Net over the whole contract, a decimal string in the currency' }),
      },
      { additionalProperties: false },
    ),
  ),
  'order.fulfilment_recorded': event(
    1,
    'Quantities of an order were shipped, delivered or activated. Aggregate: the order.',
    'order',
    Type.Object(
      {
        ...OrderRef,
        fulfilmentId: Id('The fulfilment record'),
        occurredOn: IsoDate,
        lines: Type.Array(
          Type.Object(
            {
              line: Type.Integer({ minimum: 0, description: "The order line (the accepted snapshot's line index)" }),
              sku: Type.String({ maxLength: 64 }),
              kind: Type.Union(['shipped', 'delivered', 'activated'].map((k) => Type.Literal(k))),
              quantity: Type.String({ pattern: '^\\d+(\\.\\d{1,3})?$', description: 'The quantity, exact (thousandths at most)' }),
            },
            { additionalProperties: false },
          ),
          { minItems: 1 },
        ),
      },
      { additionalProperties: false },
    ),
  ),
  'order.milestone_reached': event(
    1,
    'A line billed on milestones reached one: its share falls due for the next invoice run. Aggregate: the order.',
    'order',
    Type.Object(
      {
        ...OrderRef,
        line: Type.Integer({ minimum: 0 }),
        milestone: Type.String({ maxLength: 100, description: "The milestone's id in the catalog" }),
        reachedOn: IsoDate,
        amount: Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: 'What it bills, net of VAT, a decimal string in the currency' }),
        currency: Type.String({ pattern: '^[A-Z]{3}$' }),
      },
      { additionalProperties: false },
    ),
  ),
  'order.fulfilled': event(1, 'Every line of an order was fulfilled. Aggregate: the order.', 'order', OrderClosed),
  'order.canceled': event(1, 'An order was canceled before anything was fulfilled, with a reason. Aggregate: the order.', 'order', OrderClosed),
  'invoice.issued': event(
    1,
    'An invoice was issued by an invoice run, with its gapless number. Aggregate: the invoice.',
    'invoice',
    Type.Object(
      {
        invoiceId: Id('The invoice'),
        number: Type.String({
          pattern: '^[A-Z][A-Z0-9-]{0,9}-\\d{4}-\\d{6}$',
          description: "<seller's prefix>-<year>-<six digits>, gapless per seller and year",
        }),
        accountId: Id('The buyer'),
        sellerId: Id('The seller legal entity'),
        currency: Type.String({ pattern: '^[A-Z]{3}$' }),
        total: Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: 'Total with VAT, a decimal string in the currency' }),
        issueDate: IsoDate,
        dueDate: IsoDate,
        orderIds: Type.Array(Id('An order billed'), { minItems: 1 }),
      },
      { additionalProperties: false },
    ),
  ),
  'invoice.status_changed': event(
    1,
    'What is open of an invoice changed its status: paid, partially paid, credited, overdue, or owed again after a refund. Aggregate: the invoice.',
    'invoice',
    Type.Object(
      {
        invoiceId: Id('The invoice'),
        number: Type.String({ maxLength: 40 }),
        accountId: Id('The buyer'),
        from: InvoiceStatus,
        to: InvoiceStatus,
        currency: Type.String({ pattern: '^[A-Z]{3}$' }),
        amountDue: Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: 'What remains open, a decimal string in the currency' }),
      },
      { additionalProperties: false },
    ),
  ),
  'invoice.drafted': event(
    1,
    'An invoice run drafted an invoice for review: no number yet, nothing posted; it is issued or discarded later. Aggregate: the draft.',
    'invoice_draft',
    Type.Object(
      {
        draftId: Id('The draft'),
        accountId: Id('The buyer'),
        sellerId: Id('The seller legal entity'),
        currency: Type.String({ pattern: '^[A-Z]{3}$' }),
        total: Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: 'Total with VAT, a decimal string in the currency' }),
        draftedOn: IsoDate,
        orderIds: Type.Array(Id('An order billed'), { minItems: 1 }),
      },
      { additionalProperties: false },
    ),
  ),
  'invoice.draft_discarded': event(
    1,
    'A draft invoice was discarded, with a reason: its items are due again. Aggregate: the draft.',
    'invoice_draft',
    Type.Object(
      {
        draftId: Id('The draft'),
        accountId: Id('The buyer'),
        reason: Type.String({ maxLength: 500 }),
      },
      { additionalProperties: false },
    ),
  ),
  'invoice.reissued': event(
    1,
    'An invoice the certified platform rejected or the buyer refused was credited in full and reissued: the replacement bills the same items. Aggregate: the invoice replaced.',
    'invoice',
    Type.Object(
      {
        invoiceId: Id('The invoice replaced'),
        number: Type.String({ maxLength: 40, description: 'Its number' }),
        creditNoteId: Id('The credit note that cancels it'),
        replacementId: Id('The invoice that replaces it'),
        replacementNumber: Type.String({ maxLength: 40, description: "The replacement's number" }),
      },
      { additionalProperties: false },
    ),
  ),
  'invoice.einvoicing_status': event(
    1,
    'The certified platform reported a lifecycle status of an invoice (déposée, rejetée, refusée, encaissée…). Aggregate: the invoice.',
    'invoice',
    Type.Object(
      {
        invoiceId: Id('The invoice'),
        number: Type.String({ maxLength: 40 }),
        ...PlatformReport,
      },
      { additionalProperties: false },
    ),
  ),
  'credit_note.einvoicing_status': event(
    1,
    'The certified platform reported a lifecycle status of a credit note (déposée, rejetée…). Aggregate: the credit note.',
    'credit_note',
    Type.Object(
      {
        creditNoteId: Id('The credit note'),
        number: Type.String({ maxLength: 40 }),
        invoiceId: Id('The invoice it credits'),
        ...PlatformReport,
      },
      { additionalProperties: false },
    ),
  ),
  'credit_note.issued': event(
    1,
    'A credit note credited an invoice, in full or in part, with its own gapless number. Aggregate: the invoice.',
    'invoice',
    Type.Object(
      {
        creditNoteId: Id('The credit note'),
        number: Type.String({ pattern: '^[A-Z][A-Z0-9-]{0,9}-\\d{4}-\\d{6}$', description: "<seller's creditNotePrefix>-<year>-<six digits>" }),
        invoiceId: Id('The invoice credited'),
        invoiceNumber: Type.String({ maxLength: 40 }),
        accountId: Id('The buyer'),
        currency: Type.String({ pattern: '^[A-Z]{3}$' }),
        total: Type.String({ pattern: '^\\d+(\\.\\d+)?$', description: 'Total credited with VAT, a decimal string in the currency' }),
        issueDate: IsoDate,
      },
      { additionalProperties: false },
    ),
  ),
  'payment.received': event(
    1,
    "A payment was received and allocated: to the invoices named, or oldest due first; what settled none went to the account's credit. Aggregate: the payment.",
    'payment',
    Type.Object(
      {
        paymentId: Id('The payment'),
        accountId: Id('The payer'),
        method: Type.Union(['bank_transfer', 'card', 'direct_debit'].map((m) => Type.Literal(m))),
        currency: Currency,
        amount: Decimal('The amount received'),
        receivedDate: IsoDate,
        allocations: Type.Array(Allocated, { maxItems: 1000 }),
        toCredit: Decimal("What settled no invoice: added to the account's credit balance"),
      },
      { additionalProperties: false },
    ),
  ),
  'payment.refunded': event(
    1,
    "A payment was refunded, in part or in full: from the account's credit first, then by reopening invoices it had settled. Aggregate: the payment.",
    'payment',
    Type.Object(
      {
        paymentId: Id('The payment'),
        refundId: Id('The refund'),
        accountId: Id('The payer'),
        currency: Currency,
        amount: Decimal('The amount refunded'),
        fromCredit: Decimal("Taken from the account's credit balance"),
        reopened: Type.Array(Allocated, { maxItems: 1000, description: 'Invoices owed again, and how much of each' }),
        status: Type.Union([Type.Literal('partially_refunded'), Type.Literal('refunded')]),
      },
      { additionalProperties: false },
    ),
  ),
  'credit.applied': event(
    1,
    "An account's credit balance settled invoices. Aggregate: the account.",
    'account',
    Type.Object(
      {
        applicationId: Id('The application'),
        accountId: Id('The account'),
        currency: Currency,
        allocations: Type.Array(Allocated, { minItems: 1, maxItems: 1000 }),
        creditLeft: Decimal('The credit balance after'),
        automatic: Type.Boolean({ description: 'Applied by the account setting when an invoice was issued, not by a person' }),
      },
      { additionalProperties: false },
    ),
  ),
  'credit.refunded': event(
    1,
    "Part or all of an account's credit balance was paid back to the customer. Aggregate: the account.",
    'account',
    Type.Object(
      {
        refundId: Id('The refund'),
        accountId: Id('The account'),
        currency: Currency,
        amount: Decimal('The amount paid back'),
        creditLeft: Decimal('The credit balance after'),
      },
      { additionalProperties: false },
    ),
  ),
  'approval.approved': event(1, 'An approval step was approved. Aggregate: the quote.', 'quote', ApprovalDecision),
  'approval.rejected': event(1, 'An approval step was rejected. Aggregate: the quote.', 'quote', ApprovalDecision),
  'account.created': event(
    1,
    'An account was created. Aggregate: the account.',
    'account',
    Type.Object({ accountId: Id('The account') }, { additionalProperties: false }),
  ),
  'delegation.created': event(
    1,
    'A principal delegated their approvals for a period. Aggregate: the delegating principal.',
    'principal',
    Type.Object(
      {
        id: Id('The delegation'),
        delegatorId: Id('Who delegates'),
        delegateId: Id('Who decides in their stead'),
        startsOn: IsoDate,
        endsOn: IsoDate,
        createdAt: IsoInstant,
        revokedAt: Type.Union([IsoInstant, Type.Null()]),
      },
      { additionalProperties: false },
    ),
  ),
  'audit.checkpoint': event(
    1,
    'A signed checkpoint of the audit chain: keep it outside QTC to prove the log was not cut or rewritten. Aggregate: the audit log.',
    'audit_log',
    AuditCheckpointSchema,
  ),
} as const

type Catalogue = typeof EVENT_CATALOGUE
export type EventType = keyof Catalogue
/** The payload of an event type, as written (dates may still be Date objects: they are stored as their JSON form). */
export type EventPayload<T extends EventType> = Jsonable<Static<Catalogue[T]['payload']>>
type Jsonable<T> = T extends string ? T | (string extends T ? Date : never) : T extends object ? { [K in keyof T]: Jsonable<T[K]> } : T

export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[]

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_CATALOGUE, value)
}

const checkers = new Map<EventType, TypeCheck<TSchema>>(EVENT_TYPES.map((type) => [type, TypeCompiler.Compile(EVENT_CATALOGUE[type].payload)]))

/**
 * The payload's JSON form, checked against its type's schema. A mismatch is a programming
 * error (the compiler already checked the shape; this catches what it cannot, such as a
 * pattern or an extra property), so it throws and the use case's transaction rolls back.
 */
export function checkedPayload<T extends EventType>(type: T, payload: EventPayload<T>): unknown {
  const checker = checkers.get(type)
  assert(checker, `event type ${JSON.stringify(type)} is not in the catalogue`)
  const json: unknown = JSON.parse(JSON.stringify(payload))
  if (!checker.Check(json)) {
    const first = checker.Errors(json).First()
    throw new Error(`Assertion failed: ${type} payload does not match its schema: ${first?.path || '/'} ${first?.message}`)
  }
  return json
}

/** The catalogue as the API and docs publish it: each type with its version, description and payload's JSON Schema. */
export function publishedCatalogue() {
  return EVENT_TYPES.map((type) => ({
    type,
    version: EVENT_CATALOGUE[type].version,
    description: EVENT_CATALOGUE[type].description,
    aggregateType: EVENT_CATALOGUE[type].aggregateType,
    payloadSchema: EVENT_CATALOGUE[type].payload as unknown as { type: 'object'; [keyword: string]: unknown },
  }))
}

/**
 * A certified e-invoicing platform ("plateforme agréée", PA): since September 2026 French
 * invoices between businesses go through one. QTC deposits each invoice and credit note there
 * and reads back their lifecycle statuses. A real platform is configuration plus an implementation of this
 * interface (docs/invoicing.md, "Certified platform"); `TestPlatform` is the one shipped.
 */

/**
 * The lifecycle statuses QTC keeps (the French reform's codes in brackets): the four every
 * platform must report — déposée (200), rejetée (213), refusée (210), encaissée (212) — and
 * those in between that platforms commonly pass on.
 */
export const LIFECYCLE_STATUSES = [
  'deposited',
  'received',
  'made_available',
  'approved',
  'disputed',
  'refused',
  'payment_sent',
  'collected',
  'rejected',
] as const
export type LifecycleStatus = (typeof LIFECYCLE_STATUSES)[number]

/** Each status with its code and French name in the reform's lifecycle, as the timeline shows them. */
export const LIFECYCLE_CODES: Readonly<Record<LifecycleStatus, { code: number; label: string }>> = {
  deposited: { code: 200, label: 'Déposée' },
  received: { code: 202, label: 'Reçue par la plateforme' },
  made_available: { code: 203, label: 'Mise à disposition' },
  approved: { code: 205, label: 'Approuvée' },
  disputed: { code: 207, label: 'En litige' },
  refused: { code: 210, label: 'Refusée' },
  payment_sent: { code: 211, label: 'Paiement transmis' },
  collected: { code: 212, label: 'Encaissée' },
  rejected: { code: 213, label: 'Rejetée' },
}

/** The statuses after which an invoice must be cancelled by a credit note and reissued. */
export const VOIDING_STATUSES: readonly LifecycleStatus[] = ['rejected', 'refused']

export interface Deposit {
  /** The invoice's or the credit note's number: with the seller, what the platform keys a deposit by. */
  number: string
  /** An invoice (CII type 380) or a credit note (381). */
  kind: 'invoice' | 'credit_note'
  /** The seller's SIREN: the platform files the invoice under its issuer. */
  sellerSiren: string | null
  /** The Factur-X PDF (PDF/A-3 with the CII XML embedded) and the CII XML alone: a platform takes one or the other. */
  facturX: Buffer
  xml: string
}

export interface PlatformEvent {
  /** The platform's id of this status report: the same report read twice is kept once. */
  id: string
  /** The platform's id of the invoice, as `deposit` returned it. */
  reference: string
  status: LifecycleStatus
  /** Why, for a rejection, a refusal or a dispute. */
  reason?: string
  occurredAt: Date
}

export interface EInvoicePlatform {
  /** Stable name, stored with every deposit and status (`QTC_EINVOICING_PLATFORM`). */
  readonly name: string
  /**
   * Deposits one invoice and returns the platform's id for it. Called again for the same
   * invoice after an answer was lost, it must not deposit a second one: platforms refuse a
   * second invoice of the same seller and number, and an adapter returns the first one's id.
   */
  deposit(deposit: Deposit): Promise<{ reference: string }>
  /** The status reports after `cursor` (null: from the start), oldest first, at most `limit`, with the cursor to read on from. */
  statuses(cursor: string | null, limit: number): Promise<{ events: PlatformEvent[]; cursor: string | null }>
}

/**
 * The platform shipped for tests and demonstrations, in memory: it accepts every deposit
 * (QTC records it déposée), is told to fail the next deposits, and reports the statuses a test
 * gives it. Deposits are keyed by invoice number, as a real platform's are.
 */
export class TestPlatform implements EInvoicePlatform {
  readonly name = 'test'
  readonly deposits = new Map<string, { reference: string; deposit: Deposit }>()
  private readonly feed: PlatformEvent[] = []
  private failures: string[] = []
  private sequence = 0

  /** The next `count` deposits fail with `message` (a platform down, a timeout). */
  failNextDeposits(count: number, message = 'platform unavailable'): void {
    this.failures = Array.from({ length: count }, () => message)
  }

  async deposit(deposit: Deposit): Promise<{ reference: string }> {
    const failure = this.failures.shift()
    if (failure) throw new Error(failure)
    const known = this.deposits.get(deposit.number)
    if (known) return { reference: known.reference }
    const reference = `TP-${String(++this.sequence).padStart(8, '0')}`
    this.deposits.set(deposit.number, { reference, deposit })
    return { reference }
  }

  /** Reports a status of a deposited invoice or credit note, as the platform would; returns the report's id. */
  report(number: string, status: LifecycleStatus, reason?: string, occurredAt = new Date()): string {
    const known = this.deposits.get(number)
    if (!known) throw new Error(`document ${number} was not deposited`)
    const id = `EV-${this.feed.length + 1}`
    this.feed.push({ id, reference: known.reference, status, occurredAt, ...(reason ? { reason } : {}) })
    return id
  }

  async statuses(cursor: string | null, limit: number): Promise<{ events: PlatformEvent[]; cursor: string | null }> {
    const from = cursor === null ? 0 : Number(cursor)
    const events = this.feed.slice(from, from + limit)
    return { events, cursor: String(from + events.length) }
  }
}

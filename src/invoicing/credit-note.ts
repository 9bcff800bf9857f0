import type { Transaction } from 'kysely'
import { Temporal } from 'temporal-polyfill'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { Database } from '../db/schema.js'
import { AppError, assert, type FieldError } from '../errors.js'
import { revenueAccountOf, type LedgerAccount } from '../ledger/chart.js'
import { postEntry } from '../ledger/journal.js'
import { MoneyError, parseAmount } from '../money/money.js'
import { formatMoney, moneyOf } from '../money/money-value.js'
import type { Principal } from '../principals/principal.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import * as notes from './credit-note.repository.js'
import * as einvoices from './einvoice.repository.js'
import { openMinorOf, settlementOf, type CreditNote, type CreditNoteLine, type CreditNoteView, type InvoicingDeps, type VatLine } from './invoice.js'
import * as repo from './invoice.repository.js'
import { today } from './invoice-run.js'
import { resettle } from './settle-invoice.js'
import { creditedVat } from './vat-breakdown.js'

export interface CreditNoteInput {
  reason: string
  /** What to credit per invoice line (a decimal amount, net of VAT); every line's remainder when absent: a full credit. */
  lines?: Array<{ line: number; amount: string }>
}

/**
 * Credits an invoice, in full or in part, by a credit note: never more than remains
 * creditable on each line (checked under the invoice's row lock), its own gapless number per
 * seller and year, the VAT reversed per rate — computed once on the credited base, and for the
 * credit that completes a rate, exactly what remains of that rate's tax, so credits never
 * exceed the invoice to the cent. Posts the reversing journal entry (debit revenue or deferred
 * revenue and VAT, credit the receivable — and the customer's credit balance with what was
 * paid beyond what the credit leaves owed) in the same transaction. Idempotent with a key.
 */
export async function issueCreditNote(
  deps: InvoicingDeps,
  actor: Principal,
  invoiceId: string,
  input: CreditNoteInput,
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<CreditNoteView>> {
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => ({ status: 201, body: await creditInvoice(trx, deps, actor, invoiceId, input) }),
  )
}

/** The credit note of `issueCreditNote`, inside the caller's transaction (a reissue credits and reissues in one). */
export async function creditInvoice(
  trx: Transaction<Database>,
  deps: InvoicingDeps,
  actor: Principal,
  invoiceId: string,
  input: CreditNoteInput,
): Promise<CreditNoteView> {
  if (!(await notes.lockInvoiceRow(trx, invoiceId))) throw new AppError('NOT_FOUND', `No invoice ${invoiceId}.`)
  const invoice = (await repo.findInvoice(trx, invoiceId))!
  const lines = await repo.invoiceLines(trx, invoice)
  const vat = await repo.vatLines(trx, invoice)
  const credited = await notes.creditedOf(trx, invoice.id)
  const remaining = (lineNo: number, net: bigint) => net - (credited.lines.get(lineNo) ?? 0n)

  const errors: FieldError[] = []
  const asked = new Map<number, bigint>()
  if (input.lines) {
    input.lines.forEach((l, i) => {
      const line = lines.find((x) => x.lineNo === l.line)
      if (!line) return void errors.push({ pointer: `/lines/${i}/line`, detail: `invoice ${invoice.number} has no line ${l.line}` })
      if (asked.has(l.line)) return void errors.push({ pointer: `/lines/${i}/line`, detail: `line ${l.line} is given twice` })
      let amount: bigint
      try {
        amount = parseAmount(l.amount, invoice.currency)
      } catch (error) {
        if (!(error instanceof MoneyError)) throw error
        return void errors.push({ pointer: `/lines/${i}/amount`, detail: error.message })
      }
      const left = remaining(line.lineNo, line.net.minor)
      if (amount <= 0n) errors.push({ pointer: `/lines/${i}/amount`, detail: 'must be more than 0' })
      else if (amount > left)
        errors.push({
          pointer: `/lines/${i}/amount`,
          detail: `at most ${formatMoney(moneyOf(left, invoice.currency))} remains creditable on line ${line.lineNo}`,
        })
      asked.set(l.line, amount)
    })
  } else {
    for (const line of lines) {
      const left = remaining(line.lineNo, line.net.minor)
      if (left > 0n) asked.set(line.lineNo, left)
    }
    if (asked.size === 0) errors.push({ pointer: '', detail: `invoice ${invoice.number} is credited in full already` })
  }
  if (errors.length > 0) throw new AppError('CREDIT_NOTE_INVALID', `The credit note does not fit invoice ${invoice.number}.`, { errors })

  const noteLines: CreditNoteLine[] = [...asked].map(([lineNo, amount], i) => {
    const line = lines.find((x) => x.lineNo === lineNo)!
    return {
      lineNo: i + 1,
      invoiceLineNo: lineNo,
      description: line.description,
      net: moneyOf(amount, invoice.currency),
      vatCategory: line.vat.category,
      vatRateBp: line.vat.rateBp,
    }
  })
  const noteVat: VatLine[] = creditedVat(
    vat.map((v) => ({ ...v, base: v.base.minor, tax: v.tax.minor })),
    credited.rates,
    noteLines.map((l) => ({ net: l.net.minor, vatCategory: l.vatCategory, vatRateBp: l.vatRateBp })),
  ).map((v) => ({ ...v, base: moneyOf(v.base, invoice.currency), tax: moneyOf(v.tax, invoice.currency) }))
  const net = noteLines.reduce((s, l) => s + l.net.minor, 0n)
  const tax = noteVat.reduce((s, v) => s + v.tax.minor, 0n)
  assert(credited.total + net + tax <= invoice.total.minor, `credit notes of ${invoice.number} stay within its total`)

  const seller = deps.sellers.byId(invoice.sellerId)
  assert(seller, `seller ${invoice.sellerId} of invoice ${invoice.number} exists`)
  const issueDate = today(deps)
  const year = Temporal.PlainDate.from(issueDate).year
  const sequence = await repo.takeNumber(trx, seller.id, 'credit_note', year)
  const now = deps.clock.now()
  const note: CreditNote = {
    id: newId('cn'),
    number: `${seller.creditNotePrefix ?? `${seller.invoicePrefix}-CN`}-${year}-${String(sequence).padStart(6, '0')}`,
    sellerId: seller.id,
    invoiceId: invoice.id,
    accountId: invoice.accountId,
    ownerId: invoice.ownerId,
    currency: invoice.currency,
    issueDate,
    reason: input.reason,
    net: moneyOf(net, invoice.currency),
    tax: moneyOf(tax, invoice.currency),
    total: moneyOf(net + tax, invoice.currency),
    createdBy: actor.id,
    createdAt: now,
  }
  await notes.insertCreditNote(trx, { ...note, year, sequence }, noteLines, noteVat)
  // Deposited like the invoices: a French seller's credit notes go through the certified platform too.
  if (deps.platform && seller.address.country === 'FR')
    await einvoices.insertSubmission(trx, { document: { kind: 'credit_note', id: note.id }, platform: deps.platform.name, now })

  // The invoice's entry, reversed for what is credited.
  const revenue = new Map<LedgerAccount, bigint>()
  for (const l of noteLines) {
    const account = revenueAccountOf(lines.find((x) => x.lineNo === l.invoiceLineNo)!)
    revenue.set(account, (revenue.get(account) ?? 0n) + l.net.minor)
  }
  // What the buyer had paid beyond what now remains is theirs again: released to their credit balance.
  const open = openMinorOf(settlementOf(invoice))
  const released = net + tax > open ? net + tax - open : 0n
  const entryId = await postEntry(
    trx,
    {
      date: issueDate,
      currency: invoice.currency,
      sourceType: 'credit_note',
      sourceId: note.id,
      memo: `Credit note ${note.number} for invoice ${invoice.number}`,
      lines: [
        ...[...revenue].map(([account, amount]) => ({ account, debit: amount })),
        { account: 'vatCollected', debit: tax },
        { account: 'receivable', credit: net + tax - released, partyId: invoice.accountId },
        { account: 'customerCredit', credit: released, partyId: invoice.accountId },
      ],
    },
    now,
  )
  if (released > 0n)
    await repo.insertAllocation(trx, {
      invoiceId: invoice.id,
      accountId: invoice.accountId,
      currency: invoice.currency,
      source: 'credit_note',
      creditNoteId: note.id,
      amountMinor: -released,
      journalEntryId: entryId,
      allocatedOn: issueDate,
      createdBy: actor.id,
      createdAt: now,
    })
  await resettle(trx, invoice, { creditedMinor: invoice.credited.minor + net + tax, paidMinor: invoice.paid.minor - released }, issueDate, now)
  await appendAudit(trx, now, {
    actorId: actor.id,
    action: 'credit_note.issued',
    entityType: 'invoice',
    entityId: invoice.id,
    after: { creditNoteId: note.id, number: note.number, total: formatMoney(note.total), currency: note.currency, reason: note.reason },
  })
  await appendEvent(trx, now, {
    type: 'credit_note.issued',
    aggregateType: 'invoice',
    aggregateId: invoice.id,
    payload: {
      creditNoteId: note.id,
      number: note.number,
      invoiceId: invoice.id,
      invoiceNumber: invoice.number,
      accountId: invoice.accountId,
      currency: note.currency,
      total: formatMoney(note.total),
      issueDate,
    },
  })
  return { ...note, invoiceNumber: invoice.number, lines: noteLines, vat: noteVat }
}

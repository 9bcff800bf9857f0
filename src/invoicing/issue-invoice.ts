import type { Transaction } from 'kysely'
import { Temporal } from 'temporal-polyfill'
import { accountForInvoicing } from '../accounts/account.service.js'
import { appendAudit, appendEvent } from '../audit/audit.service.js'
import type { LegalEntity } from '../documents/legal-entities.js'
import type { Database } from '../db/schema.js'
import { assert } from '../errors.js'
import { decideTax, type TaxDecision } from '../evaluation/stages/tax.js'
import { postEntry, type JournalLineInput } from '../ledger/journal.js'
import { revenueAccountOf, type LedgerAccount } from '../ledger/chart.js'
import { formatMoney, moneyOf } from '../money/money-value.js'
import { formatQty, lockBillableOrders } from '../orders/order.service.js'
import { newId } from '../shared/ids.js'
import { dueLines, type DueLine } from './billable-lines.js'
import type { Invoice, InvoiceDraft, InvoiceGroup, InvoiceLine, InvoiceRun, InvoicingDeps, Party } from './invoice.js'
import * as drafts from './invoice-draft.repository.js'
import * as einvoices from './einvoice.repository.js'
import * as repo from './invoice.repository.js'
import { vatBreakdown } from './vat-breakdown.js'

function describe(due: DueLine): string {
  const { line, item } = due
  if (item.periodStart && item.periodEnd) return `${line.name} (${item.periodStart} – ${item.periodEnd})`
  if (item.milestone) return `${line.name}: ${item.milestone.name} (${item.milestone.percent} %)`
  if (item.trigger === 'fulfilment') return `${line.name} (${formatQty(due.qtyMilli)} ${line.unit})`
  return line.name
}

/**
 * Makes and issues the invoices of one group, in one transaction: locks its orders, works out
 * what is due under the locks (so a concurrent run waits, then finds it billed), asks the tax
 * rules for each line's VAT, and issues what is due as one invoice — or two when some lines are
 * not subject to VAT (category O) and others are, since EN 16931 (BR-O-11 to BR-O-14) wants an
 * invoice not subject to VAT to hold nothing else. Each invoice takes the next gapless number
 * of the seller's sequence for the year, is written with its lines and VAT breakdown, posts its
 * journal entry, is audited and emits `invoice.issued` — or, for a run that drafts, is written
 * as a draft for review (see invoice-drafts.ts). Returns [] when nothing is due any more
 * (another run billed or drafted it). A failure rolls everything back, the numbers included.
 */
export async function issueInvoicesFor(deps: InvoicingDeps, run: InvoiceRun, group: InvoiceGroup, issueDate: string): Promise<Array<Invoice | InvoiceDraft>> {
  const seller = deps.sellers.byId(group.sellerId)
  assert(seller, `seller legal entity ${group.sellerId} of orders ${group.orderIds.join(', ')} exists`)
  const ruleSet = deps.ruleSet()
  return deps.db.transaction().execute(async (trx) => {
    const billable = await lockBillableOrders(trx, group.orderIds, run.asOf)
    const billed = await repo.billedThrough(
      trx,
      billable.map((b) => b.order.id),
    )
    const due = billable.flatMap((b) => dueLines(b, billed, run.asOf))
    if (due.length === 0) return []
    const account = await accountForInvoicing(trx, group.accountId)
    const decisions = await decideTax(ruleSet, {
      date: issueDate,
      currency: group.currency,
      seller: { id: seller.id, country: seller.address.country },
      buyer: { country: account.billingAddress.country, vatId: account.vatId, segment: account.segment },
      lines: due.map((d) => ({ sku: d.line.sku, type: d.line.productType, taxCategory: d.line.taxCategory })),
    })
    const lines = due.map((d, i) => ({ ...lineOf(d, group.currency), vat: vatOf(decisions[i]!) }))
    const parts = [lines.filter((l) => l.vat.category !== 'O'), lines.filter((l) => l.vat.category === 'O')].filter((part) => part.length > 0)
    const made: Array<Invoice | InvoiceDraft> = []
    for (const part of parts) {
      const context: InvoiceToWrite = {
        deps,
        seller,
        buyer: buyerOf(account),
        ruleSetHash: ruleSet.hash,
        issueDate,
        paymentTermsDays: group.paymentTermsDays,
        currency: group.currency,
        runId: run.id,
        actorId: run.requestedBy,
        replaces: null,
      }
      made.push(run.drafts ? await writeDraft(trx, context, part) : await writeInvoice(trx, context, part))
    }
    return made
  })
}

/** An invoice line's VAT, as the tax rules decided it. */
export function vatOf(decision: TaxDecision): InvoiceLine['vat'] {
  return {
    category: decision.category,
    rateBp: Number(decision.rateBasisPoints),
    mention: decision.mention,
    exemptionCode: decision.exemptionCode,
    ruleId: decision.ruleId,
  }
}

/** What a due item bills, as an invoice line without its number and VAT. */
function lineOf(d: DueLine, currency: string): Omit<InvoiceLine, 'lineNo' | 'vat'> {
  return {
    orderId: d.order.id,
    orderNumber: d.order.number,
    orderLineNo: d.line.lineNo,
    scheduleSeq: d.item.seq,
    quoteNumber: d.order.quoteNumber,
    sku: d.line.sku,
    description: describe(d),
    qtyMilli: d.item.trigger === 'fulfilment' ? d.qtyMilli : d.line.qtyMilli,
    unit: d.line.unit,
    periodStart: d.item.periodStart,
    periodEnd: d.item.periodEnd,
    discountHundredths: d.line.discountHundredths,
    net: moneyOf(d.net, currency),
    revenueTreatment: d.line.revenueTreatment,
    productTaxCategory: d.line.taxCategory,
    billedThroughMilli: d.billedThroughMilli,
    generation: 0,
  }
}

/** Who an invoice bills: the account, its owner (who sees the invoice) and the party as printed. */
export interface Buyer {
  accountId: string
  ownerId: string
  party: Party
}

export function buyerOf(account: Awaited<ReturnType<typeof accountForInvoicing>>): Buyer {
  return { accountId: account.id, ownerId: account.ownerId, party: { name: account.name, address: account.billingAddress, vatId: account.vatId } }
}

export interface InvoiceToWrite {
  deps: InvoicingDeps
  seller: LegalEntity
  buyer: Buyer
  /** The rule set whose tax rules decided the lines' VAT. */
  ruleSetHash: string
  issueDate: string
  paymentTermsDays: number
  currency: string
  runId: string | null
  actorId: string | null
  /** The rejected or refused invoice this one reissues. */
  replaces: Invoice | null
  /** The draft this invoice is issued from, when it was drafted for review. */
  draftId?: string
}

/** The seller as an invoice prints it, frozen at issue (or when drafted). */
export function sellerParty(seller: LegalEntity): Party {
  return { name: seller.name, address: seller.address, vatId: seller.vatId ?? null, siren: seller.siren ?? null }
}

/** The lines given, numbered, with their VAT breakdown (once per category and rate) and totals. */
function totalled(given: Array<Omit<InvoiceLine, 'lineNo'>>, currency: string) {
  const lines: InvoiceLine[] = given.map((l, i) => ({ ...l, lineNo: i + 1 }))
  const breakdown = vatBreakdown(
    lines.map((l) => ({
      net: l.net.minor,
      vatCategory: l.vat.category,
      vatRateBp: l.vat.rateBp,
      vatMention: l.vat.mention,
      vatExemptionCode: l.vat.exemptionCode,
    })),
  )
  const net = lines.reduce((s, l) => s + l.net.minor, 0n)
  const tax = breakdown.reduce((s, v) => s + v.tax, 0n)
  const vat = breakdown.map((v) => ({
    category: v.vatCategory,
    rateBp: v.vatRateBp,
    base: moneyOf(v.base, currency),
    tax: moneyOf(v.tax, currency),
    mention: v.mention,
    exemptionCode: v.exemptionCode,
  }))
  return { lines, vat, net, tax }
}

/**
 * Writes one invoice of the lines given as a draft for review, inside the caller's
 * transaction: no number, no journal entry, no deposit — its lines hold their items so that no
 * other run bills them meanwhile. Audited; emits `invoice.drafted`. `context.issueDate` is the
 * day drafted (the VAT was decided for it).
 */
export async function writeDraft(trx: Transaction<Database>, context: InvoiceToWrite, given: Array<Omit<InvoiceLine, 'lineNo'>>): Promise<InvoiceDraft> {
  const { deps, seller, buyer, currency } = context
  const { lines, vat, net, tax } = totalled(given, currency)
  const now = deps.clock.now()
  const draft: InvoiceDraft = {
    id: newId('invd'),
    status: 'draft',
    runId: context.runId,
    sellerId: seller.id,
    accountId: buyer.accountId,
    ownerId: buyer.ownerId,
    currency,
    paymentTermsDays: context.paymentTermsDays,
    buyer: buyer.party,
    seller: sellerParty(seller),
    net: moneyOf(net, currency),
    tax: moneyOf(tax, currency),
    total: moneyOf(net + tax, currency),
    ruleSetHash: context.ruleSetHash,
    draftedOn: context.issueDate,
    invoiceId: null,
    discardReason: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
  }
  await drafts.insertDraft(trx, draft, lines, vat)
  await appendAudit(trx, now, {
    actorId: context.actorId,
    action: 'invoice.drafted',
    entityType: 'invoice_draft',
    entityId: draft.id,
    after: {
      runId: context.runId,
      accountId: buyer.accountId,
      total: formatMoney(draft.total),
      currency,
      lines: lines.length,
      ruleSetHash: context.ruleSetHash,
    },
  })
  await appendEvent(trx, now, {
    type: 'invoice.drafted',
    aggregateType: 'invoice_draft',
    aggregateId: draft.id,
    payload: {
      draftId: draft.id,
      accountId: buyer.accountId,
      sellerId: seller.id,
      currency,
      total: formatMoney(draft.total),
      draftedOn: draft.draftedOn,
      orderIds: [...new Set(lines.map((l) => l.orderId))],
    },
  })
  return draft
}

/**
 * Writes and issues one invoice of the lines given (VAT decided), inside the caller's
 * transaction: the next gapless number of the seller's sequence for the year, the invoice,
 * its lines and VAT breakdown, its journal entry, its deposit on the certified platform when
 * one is configured (sent by the einvoices.sync job), the audit record and `invoice.issued`.
 */
export async function writeInvoice(trx: Transaction<Database>, context: InvoiceToWrite, given: Array<Omit<InvoiceLine, 'lineNo'>>): Promise<Invoice> {
  const { deps, seller, buyer, ruleSetHash, issueDate, currency, paymentTermsDays } = context
  const { lines, vat, net, tax } = totalled(given, currency)
  const year = Temporal.PlainDate.from(issueDate).year
  const sequence = await repo.takeNumber(trx, seller.id, 'invoice', year)
  const now = deps.clock.now()
  const invoice: Invoice = {
    id: newId('inv'),
    number: `${seller.invoicePrefix}-${year}-${String(sequence).padStart(6, '0')}`,
    sellerId: seller.id,
    accountId: buyer.accountId,
    ownerId: buyer.ownerId,
    currency,
    status: 'issued',
    issueDate,
    dueDate: Temporal.PlainDate.from(issueDate).add({ days: paymentTermsDays }).toString(),
    paymentTermsDays,
    buyer: buyer.party,
    seller: sellerParty(seller),
    net: moneyOf(net, currency),
    tax: moneyOf(tax, currency),
    total: moneyOf(net + tax, currency),
    credited: moneyOf(0n, currency),
    paid: moneyOf(0n, currency),
    ruleSetHash,
    runId: context.runId,
    replacesInvoiceId: context.replaces?.id ?? null,
    version: 1,
    createdAt: now,
    updatedAt: now,
  }
  await repo.insertInvoice(trx, { invoice: { ...invoice, year, sequence }, lines, vat })
  // The French reform's platforms take the invoices of sellers established in France; others are not deposited.
  if (deps.platform && seller.address.country === 'FR')
    await einvoices.insertSubmission(trx, { document: { kind: 'invoice', id: invoice.id }, platform: deps.platform.name, now })

  // Receivable = revenue (or deferred revenue) + VAT collected, posted with the invoice.
  const revenue = new Map<LedgerAccount, bigint>()
  for (const l of lines) {
    const account = revenueAccountOf(l)
    revenue.set(account, (revenue.get(account) ?? 0n) + l.net.minor)
  }
  const journal: JournalLineInput[] = [
    { account: 'receivable', debit: net + tax, partyId: buyer.accountId },
    ...[...revenue].map(([code, amount]) => ({ account: code, credit: amount })),
    { account: 'vatCollected', credit: tax },
  ]
  await postEntry(
    trx,
    { date: issueDate, currency: currency, sourceType: 'invoice', sourceId: invoice.id, memo: `Invoice ${invoice.number}`, lines: journal },
    now,
  )

  const orderIds = [...new Set(lines.map((l) => l.orderId))]
  await appendAudit(trx, now, {
    actorId: context.actorId,
    action: 'invoice.issued',
    entityType: 'invoice',
    entityId: invoice.id,
    after: {
      number: invoice.number,
      runId: context.runId,
      ...(context.replaces ? { replaces: context.replaces.number } : {}),
      ...(context.draftId ? { draftId: context.draftId } : {}),
      accountId: buyer.accountId,
      total: formatMoney(invoice.total),
      currency: invoice.currency,
      lines: lines.length,
      ruleSetHash,
    },
  })
  await appendEvent(trx, now, {
    type: 'invoice.issued',
    aggregateType: 'invoice',
    aggregateId: invoice.id,
    payload: {
      invoiceId: invoice.id,
      number: invoice.number,
      accountId: buyer.accountId,
      sellerId: seller.id,
      currency: invoice.currency,
      total: formatMoney(invoice.total),
      issueDate,
      dueDate: invoice.dueDate,
      orderIds,
    },
  })
  return invoice
}

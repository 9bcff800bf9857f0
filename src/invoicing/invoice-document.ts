import { ciiInvoiceXml as writeCii, EInvoiceError } from '../documents/cii-invoice.js'
import { type InvoiceDocumentInput, renderInvoiceDocument, sirenOfVatId } from '../documents/invoice-document.js'
import type { Lang } from '../documents/locale.js'
import { Temporal } from 'temporal-polyfill'
import { AppError, assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { CreditNoteView, InvoiceView, InvoicingDeps } from './invoice.js'
import * as repo from './invoice.repository.js'
import { getDraft } from './invoice-drafts.js'
import { getCreditNote, getInvoice, viewOf } from './read-invoices.js'

type Deps = Pick<InvoicingDeps, 'db' | 'sellers'>

/** What an invoice document prints of an invoice — or of a draft, which has no number yet. */
type Printable = Pick<InvoiceView, 'sellerId' | 'seller' | 'buyer' | 'issueDate' | 'dueDate' | 'currency' | 'net' | 'tax' | 'total' | 'lines' | 'vat'> & {
  number: string | null
}

/**
 * What an invoice's documents are made of, from what was issued (the parties as frozen, the
 * lines and VAT as stored): the same invoice always gives the same PDF and the same XML, and
 * the two say the same. French by default for a seller established in France (French invoices
 * are written in French), English otherwise.
 */
function documentInput(deps: Deps, invoice: Printable, lang?: Lang): InvoiceDocumentInput {
  const seller = deps.sellers.byId(invoice.sellerId)
  assert(seller, `seller ${invoice.sellerId} of invoice ${invoice.number ?? '(draft)'} exists`)
  return {
    lang: lang ?? (seller.address.country === 'FR' ? 'fr' : 'en'),
    // The seller as issued (name, address, identifiers) over the file's current entry: a later edit of the file changes no invoice.
    seller: {
      ...seller,
      name: invoice.seller.name,
      address: invoice.seller.address,
      vatId: invoice.seller.vatId ?? undefined,
      siren: invoice.seller.siren ?? undefined,
    },
    buyer: { name: invoice.buyer.name, address: invoice.buyer.address, vatId: invoice.buyer.vatId, siren: sirenOfVatId(invoice.buyer.vatId) },
    invoice: {
      number: invoice.number,
      issueDate: invoice.issueDate,
      dueDate: invoice.dueDate,
      currency: invoice.currency,
      net: invoice.net,
      tax: invoice.tax,
      total: invoice.total,
    },
    credits: null,
    lines: invoice.lines.map((l) => ({
      lineNo: l.lineNo,
      description: l.description,
      sku: l.sku,
      quoteNumber: l.quoteNumber,
      orderNumber: l.orderNumber,
      qtyMilli: l.qtyMilli,
      unit: l.unit,
      discountHundredths: l.discountHundredths,
      net: l.net,
      periodStart: l.periodStart,
      periodEnd: l.periodEnd,
      vatCategory: l.vat.category,
      vatRateBp: l.vat.rateBp,
      nature: l.productTaxCategory === 'goods' ? 'goods' : 'services',
    })),
    vat: invoice.vat.map((v) => ({ category: v.category, rateBp: v.rateBp, base: v.base, tax: v.tax, mention: v.mention, exemptionCode: v.exemptionCode })),
  }
}

/**
 * A credit note's documents: the parties of the invoice it credits (as issued then), each line
 * the invoice line it credits — its product, references, quantity and period — for the amount
 * credited, and the VAT it reverses.
 */
function creditNoteInput(deps: Deps, note: CreditNoteView, invoice: InvoiceView, lang?: Lang): InvoiceDocumentInput {
  const base = documentInput(deps, invoice, lang)
  const byLineNo = new Map(base.lines.map((l) => [l.lineNo, l]))
  return {
    ...base,
    invoice: { number: note.number, issueDate: note.issueDate, dueDate: null, currency: note.currency, net: note.net, tax: note.tax, total: note.total },
    credits: { number: invoice.number, issueDate: invoice.issueDate, reason: note.reason },
    lines: note.lines.map((l) => {
      const credited = byLineNo.get(l.invoiceLineNo)
      assert(credited, `line ${l.invoiceLineNo} of invoice ${invoice.number} exists`)
      // A partial credit keeps the line's quantity: what is credited is an amount, its price follows.
      return { ...credited, lineNo: l.lineNo, net: l.net, discountHundredths: 0n }
    }),
    vat: note.vat.map((v) => ({ category: v.category, rateBp: v.rateBp, base: v.base, tax: v.tax, mention: v.mention, exemptionCode: v.exemptionCode })),
  }
}

async function creditNoteDocumentInput(deps: Deps, actor: Principal, id: string, lang?: Lang): Promise<{ note: CreditNoteView; input: InvoiceDocumentInput }> {
  const note = await getCreditNote(deps, actor, id)
  return { note, input: await creditNoteInputOf(deps, note, lang) }
}

async function creditNoteInputOf(deps: Deps, note: CreditNoteView, lang?: Lang): Promise<InvoiceDocumentInput> {
  const invoice = await viewOf(deps.db, (await repo.findInvoice(deps.db, note.invoiceId))!)
  return creditNoteInput(deps, note, invoice, lang)
}

/** The CII XML of an invoice, or 422 EINVOICE_UNAVAILABLE when EN 16931 cannot express it. */
function ciiInvoiceXml(input: InvoiceDocumentInput): string {
  try {
    return writeCii(input)
  } catch (error) {
    if (error instanceof EInvoiceError) throw new AppError('EINVOICE_UNAVAILABLE', error.message, { reason: error.reason })
    throw error
  }
}

/** An invoice's PDF, for people. */
export async function invoiceDocument(deps: Deps, actor: Principal, id: string, lang?: Lang): Promise<{ number: string; bytes: Buffer }> {
  const invoice = await getInvoice(deps, actor, id)
  return { number: invoice.number, bytes: await renderInvoiceDocument(documentInput(deps, invoice, lang)) }
}

/** An invoice's CII XML (EN 16931), for machines: what a certified platform receives. */
export async function invoiceXml(deps: Deps, actor: Principal, id: string): Promise<{ number: string; xml: string }> {
  const invoice = await getInvoice(deps, actor, id)
  return { number: invoice.number, xml: ciiInvoiceXml(documentInput(deps, invoice)) }
}

/** An invoice's Factur-X: its PDF as PDF/A-3 with its CII XML embedded, for both at once. */
export async function facturXDocument(deps: Deps, actor: Principal, id: string): Promise<{ number: string; bytes: Buffer }> {
  const invoice = await getInvoice(deps, actor, id)
  return { number: invoice.number, bytes: (await eInvoiceFiles(deps, invoice)).facturX }
}

/** The CII XML and the Factur-X PDF of an invoice: what a certified platform is given. */
export async function eInvoiceFiles(deps: Deps, invoice: InvoiceView): Promise<{ xml: string; facturX: Buffer }> {
  return filesOf(documentInput(deps, invoice))
}

/** The same of a credit note (CII type 381). */
export async function creditNoteEInvoiceFiles(deps: Deps, note: CreditNoteView): Promise<{ xml: string; facturX: Buffer }> {
  return filesOf(await creditNoteInputOf(deps, note))
}

async function filesOf(input: InvoiceDocumentInput): Promise<{ xml: string; facturX: Buffer }> {
  const xml = ciiInvoiceXml(input)
  return { xml, facturX: await renderInvoiceDocument(input, { xml }) }
}

/** A credit note's PDF, for people. */
export async function creditNoteDocument(deps: Deps, actor: Principal, id: string, lang?: Lang): Promise<{ number: string; bytes: Buffer }> {
  const { note, input } = await creditNoteDocumentInput(deps, actor, id, lang)
  return { number: note.number, bytes: await renderInvoiceDocument(input) }
}

/** A credit note's CII XML (EN 16931, type 381). */
export async function creditNoteXml(deps: Deps, actor: Principal, id: string): Promise<{ number: string; xml: string }> {
  const { note, input } = await creditNoteDocumentInput(deps, actor, id)
  return { number: note.number, xml: ciiInvoiceXml(input) }
}

/** A credit note's Factur-X: its PDF as PDF/A-3 with its CII XML embedded. */
export async function creditNoteFacturX(deps: Deps, actor: Principal, id: string): Promise<{ number: string; bytes: Buffer }> {
  const { note, input } = await creditNoteDocumentInput(deps, actor, id)
  return { number: note.number, bytes: (await filesOf(input)).facturX }
}

/**
 * A draft's PDF, for review: the invoice it will be, titled as a draft with no number, dated as
 * if issued the day it was drafted (issuing it dates it anew). A draft already issued or
 * discarded has none: 409 (the issued invoice has its own).
 */
export async function draftDocument(deps: Deps, actor: Principal, id: string, lang?: Lang): Promise<{ bytes: Buffer }> {
  const draft = await getDraft(deps, actor, id)
  if (draft.status !== 'draft') {
    throw new AppError('INVALID_STATE_TRANSITION', `Invoice draft ${draft.id} is ${draft.status}: it has no draft document any more.`, {
      from: draft.status,
      action: 'document',
      ...(draft.invoiceId ? { invoiceId: draft.invoiceId } : {}),
    })
  }
  const input = documentInput(
    deps,
    {
      ...draft,
      number: null,
      issueDate: draft.draftedOn,
      dueDate: Temporal.PlainDate.from(draft.draftedOn).add({ days: draft.paymentTermsDays }).toString(),
    },
    lang,
  )
  return { bytes: await renderInvoiceDocument(input) }
}

import { renderInvoiceDocument } from '../documents/invoice-document.js'
import type { Lang } from '../documents/locale.js'
import { assert } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { InvoicingDeps } from './invoice.js'
import { getInvoice } from './read-invoices.js'

/**
 * An invoice's PDF, rendered from what was issued (the parties as frozen, the lines and VAT as
 * stored): the same invoice always gives the same document. French by default for a seller
 * established in France (French invoices are written in French), English otherwise.
 */
export async function invoiceDocument(
  deps: Pick<InvoicingDeps, 'db' | 'sellers'>,
  actor: Principal,
  id: string,
  lang?: Lang,
): Promise<{ number: string; bytes: Buffer }> {
  const invoice = await getInvoice(deps, actor, id)
  const seller = deps.sellers.byId(invoice.sellerId)
  assert(seller, `seller ${invoice.sellerId} of invoice ${invoice.number} exists`)
  const bytes = await renderInvoiceDocument({
    lang: lang ?? (seller.address.country === 'FR' ? 'fr' : 'en'),
    // The seller as issued (name, address, identifiers) over the file's current entry: a later edit of the file changes no invoice.
    seller: {
      ...seller,
      name: invoice.seller.name,
      address: invoice.seller.address,
      vatId: invoice.seller.vatId ?? undefined,
      siren: invoice.seller.siren ?? undefined,
    },
    buyer: { name: invoice.buyer.name, address: invoice.buyer.address, vatId: invoice.buyer.vatId },
    invoice: {
      number: invoice.number,
      issueDate: invoice.issueDate,
      dueDate: invoice.dueDate,
      currency: invoice.currency,
      net: invoice.net,
      tax: invoice.tax,
      total: invoice.total,
    },
    lines: invoice.lines.map((l) => ({
      description: l.description,
      sku: l.sku,
      quoteNumber: l.quoteNumber,
      orderNumber: l.orderNumber,
      qtyMilli: l.qtyMilli,
      unit: l.unit,
      discountHundredths: l.discountHundredths,
      net: l.net,
      vatRateBp: l.vat.rateBp,
      nature: l.productTaxCategory === 'goods' ? 'goods' : 'services',
    })),
    vat: invoice.vat.map((v) => ({ category: v.category, rateBp: v.rateBp, base: v.base, tax: v.tax, mention: v.mention })),
  })
  return { number: invoice.number, bytes }
}

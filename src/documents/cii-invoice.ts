import { assert } from '../errors.js'
import { create } from 'xmlbuilder2'
import { currencyExponent } from '../money/currency.js'
import { formatAmount, formatScaled } from '../money/money.js'
import type { Money } from '../money/money-value.js'
import { type InvoiceDocumentInput, paymentNotes, paymentTerms } from './invoice-document.js'

/**
 * The invoice as UN/CEFACT Cross Industry Invoice (CII D16B) XML, EN 16931 profile — the XML a
 * Factur-X PDF embeds and a French certified platform receives. Written from the same input as
 * the PDF, so the two never disagree. Business terms (BT-n) are those of EN 16931-1; the
 * element order is the D16B schema's.
 *
 * Choices the standard leaves open (docs/invoicing.md, "Factur-X"):
 * - a line's net price (BT-146) is its net divided by its quantity when that is a decimal of at
 *   most 4 places, else the line's net for its whole quantity (price base quantity BT-149 = the
 *   quantity), so that quantity × price is the line net exactly, never rounded;
 * - the discount, already in the line net, is said in the line's note, with the quote and order;
 * - the invoicing period (BG-14) spans the lines' periods; an invoice of deliveries only ends
 *   its period on the issue date (it bills what was delivered by then);
 * - the delivery country (BT-80) is the buyer's billing country: accounts have one address.
 */

export class EInvoiceError extends Error {
  constructor(
    readonly reason: 'seller_unidentified' | 'currency_exponent',
    message: string,
  ) {
    super(message)
    this.name = 'EInvoiceError'
  }
}

const NS = {
  rsm: 'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100',
  ram: 'urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100',
  qdt: 'urn:un:unece:uncefact:data:standard:QualifiedDataType:100',
  udt: 'urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100',
} as const

/** The EN 16931 specification identifier (BT-24): Factur-X's "EN 16931" profile, the full core invoice. */
export const EN16931_GUIDELINE = 'urn:cen.eu:en16931:2017'

/** UN/ECE Recommendation 20 codes of the units QTC sells in; any other unit is a piece ("one", C62). */
const UNIT_CODES: Readonly<Record<string, string>> = { day: 'DAY', days: 'DAY', hour: 'HUR', hours: 'HUR', month: 'MON', months: 'MON', year: 'ANN' }

/**
 * The French "cadre de facturation" (BT-23) a platform routes by: an invoice of goods (B1), of
 * services (S1) or of both (M1) — the operation category the 2026 reform adds.
 */
const BUSINESS_PROCESS = { goods: 'B1', services: 'S1', both: 'M1' } as const

const date102 = (iso: string) => ({ 'udt:DateTimeString': { '@format': '102', '#': iso.replaceAll('-', '') } })

/** A decimal without trailing zeros: 2000 hundredths → "20", 550 → "5.5". */
function trimmed(value: bigint, digits: number): string {
  const s = formatScaled(value, digits)
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s
}

const quantity = (milli: bigint) => trimmed(milli, 3)

/**
 * The net price of one unit when `net` / `qty` is a decimal of at most 4 places, as
 * [price, undefined]; else [net, qty]: the price of the whole quantity (BT-149 base quantity).
 */
function netPrice(net: Money, qtyMilli: bigint): [string, string | undefined] {
  const exponent = currencyExponent(net.currency)
  // price × 10^4 = net_minor × 10^(4 − exponent) × 1000 / qty_milli, exact when it divides.
  const scaled = net.minor * 10n ** BigInt(4 - exponent) * 1000n
  if (scaled % qtyMilli === 0n) return [trimmed(scaled / qtyMilli, 4), undefined]
  return [formatAmount(net.minor, net.currency), quantity(qtyMilli)]
}

/**
 * The CII XML (EN 16931) of an invoice, or of a credit note when `credits` is set: type code
 * 381, the invoice it credits as the preceding invoice (BG-3), its reason as a note, its
 * amounts positive (EN 16931 gives a credit note's amounts the sign of what it credits).
 */
export function ciiInvoiceXml(input: InvoiceDocumentInput): string {
  const { seller, buyer, invoice, credits } = input
  assert(invoice.number !== null, 'a draft has no e-invoice: only an issued invoice is sent')
  if (currencyExponent(invoice.currency) > 2) {
    // EN 16931 amounts have at most two decimals (BR-DEC-*): a three-decimal currency cannot be written exactly.
    throw new EInvoiceError('currency_exponent', `EN 16931 amounts have at most 2 decimals; ${invoice.currency} has ${currencyExponent(invoice.currency)}`)
  }
  const notSubject = input.vat.some((v) => v.category === 'O')
  // BR-O-02: an invoice "not subject to VAT" names no VAT identifier, of the seller or the buyer.
  const sellerVatId = notSubject ? undefined : seller.vatId
  const buyerVatId = notSubject ? null : buyer.vatId
  // BR-CO-26: the buyer must be able to identify the seller by an identifier, a legal registration or a VAT id.
  if (!seller.siren && !sellerVatId) {
    throw new EInvoiceError('seller_unidentified', `seller ${seller.name} has neither a SIREN nor, on this invoice, a VAT number (EN 16931 BR-CO-26)`)
  }
  const amount = (m: Money) => formatAmount(m.minor, m.currency)
  const natures = new Set(input.lines.map((l) => l.nature))
  const processCode = natures.size > 1 ? BUSINESS_PROCESS.both : natures.has('goods') ? BUSINESS_PROCESS.goods : BUSINESS_PROCESS.services

  const starts = input.lines.flatMap((l) => (l.periodStart ? [l.periodStart] : [])).sort()
  const ends = input.lines.flatMap((l) => (l.periodEnd ? [l.periodEnd] : [])).sort()
  const period = starts.length > 0 ? { start: starts[0]!, end: ends.at(-1) ?? starts.at(-1)! } : { start: undefined, end: invoice.issueDate }

  const address = (a: InvoiceDocumentInput['buyer']['address']) => ({
    'ram:PostcodeCode': a.postalCode,
    'ram:LineOne': a.line1,
    ...(a.line2 ? { 'ram:LineTwo': a.line2 } : {}),
    'ram:CityName': a.city,
    'ram:CountryID': a.country,
  })
  const buyerSiren = buyer.siren

  const lineItems = input.lines.map((line) => {
    const [price, basis] = netPrice(line.net, line.qtyMilli)
    const unitCode = UNIT_CODES[line.unit.toLowerCase()] ?? 'C62'
    const notes = [
      `${line.quoteNumber} / ${line.orderNumber}`,
      ...(line.discountHundredths > 0n ? [`${input.lang === 'fr' ? 'Remise' : 'Discount'} ${trimmed(line.discountHundredths, 2)} %`] : []),
      ...(unitCode === 'C62' && line.unit ? [`${quantity(line.qtyMilli)} ${line.unit}`] : []),
    ]
    return {
      'ram:AssociatedDocumentLineDocument': { 'ram:LineID': String(line.lineNo), 'ram:IncludedNote': { 'ram:Content': notes.join(' · ') } },
      'ram:SpecifiedTradeProduct': { 'ram:SellerAssignedID': line.sku, 'ram:Name': line.description },
      'ram:SpecifiedLineTradeAgreement': {
        'ram:NetPriceProductTradePrice': {
          'ram:ChargeAmount': price,
          ...(basis ? { 'ram:BasisQuantity': { '@unitCode': unitCode, '#': basis } } : {}),
        },
      },
      'ram:SpecifiedLineTradeDelivery': { 'ram:BilledQuantity': { '@unitCode': unitCode, '#': quantity(line.qtyMilli) } },
      'ram:SpecifiedLineTradeSettlement': {
        'ram:ApplicableTradeTax': {
          'ram:TypeCode': 'VAT',
          'ram:CategoryCode': line.vatCategory,
          // BR-O-05: a line not subject to VAT has no rate.
          ...(line.vatCategory === 'O' ? {} : { 'ram:RateApplicablePercent': trimmed(BigInt(line.vatRateBp), 2) }),
        },
        ...(line.periodStart && line.periodEnd
          ? { 'ram:BillingSpecifiedPeriod': { 'ram:StartDateTime': date102(line.periodStart), 'ram:EndDateTime': date102(line.periodEnd) } }
          : {}),
        'ram:SpecifiedTradeSettlementLineMonetarySummation': { 'ram:LineTotalAmount': amount(line.net) },
      },
    }
  })

  // UNTDID 4451 subjects French invoices use: PMD late-payment penalties, PMT the fixed recovery indemnity, AAB the early-payment discount;
  // a credit note's reason is its only note (nothing is paid late on it).
  const notes = credits ? [{ 'ram:Content': credits.reason }] : paymentNotes(input.lang).map((n) => ({ 'ram:Content': n.text, 'ram:SubjectCode': n.subject }))
  const taxes = input.vat.map((v) => ({
    'ram:CalculatedAmount': amount(v.tax),
    'ram:TypeCode': 'VAT',
    // BR-S-10: standard-rated VAT has no exemption reason; the others must give one (BR-AE-10, BR-IC-10, BR-G-10, BR-O-10).
    ...(v.category !== 'S' && v.mention ? { 'ram:ExemptionReason': v.mention } : {}),
    'ram:BasisAmount': amount(v.base),
    'ram:CategoryCode': v.category,
    ...(v.category !== 'S' && v.exemptionCode ? { 'ram:ExemptionReasonCode': v.exemptionCode } : {}),
    // BT-8: VAT on debits is due when invoiced (UNTDID 2005 code 5, the invoice date).
    ...(seller.vatOnDebits && v.category === 'S' ? { 'ram:DueDateTypeCode': '5' } : {}),
    ...(v.category === 'O' ? {} : { 'ram:RateApplicablePercent': trimmed(BigInt(v.rateBp), 2) }),
  }))
  const contracts = [...new Set(input.lines.map((l) => l.quoteNumber))]

  const document = {
    'rsm:CrossIndustryInvoice': {
      '@xmlns:rsm': NS.rsm,
      '@xmlns:ram': NS.ram,
      '@xmlns:qdt': NS.qdt,
      '@xmlns:udt': NS.udt,
      'rsm:ExchangedDocumentContext': {
        'ram:BusinessProcessSpecifiedDocumentContextParameter': { 'ram:ID': processCode },
        'ram:GuidelineSpecifiedDocumentContextParameter': { 'ram:ID': EN16931_GUIDELINE },
      },
      'rsm:ExchangedDocument': {
        'ram:ID': invoice.number,
        // UNTDID 1001: 380 commercial invoice, 381 credit note.
        'ram:TypeCode': credits ? '381' : '380',
        'ram:IssueDateTime': date102(invoice.issueDate),
        'ram:IncludedNote': notes,
      },
      'rsm:SupplyChainTradeTransaction': {
        'ram:IncludedSupplyChainTradeLineItem': lineItems,
        'ram:ApplicableHeaderTradeAgreement': {
          'ram:SellerTradeParty': {
            'ram:Name': seller.name,
            // BT-30 with ISO 6523 scheme 0002: the French SIREN.
            ...(seller.siren ? { 'ram:SpecifiedLegalOrganization': { 'ram:ID': { '@schemeID': '0002', '#': seller.siren } } } : {}),
            'ram:PostalTradeAddress': address(seller.address),
            ...(seller.email ? { 'ram:URIUniversalCommunication': { 'ram:URIID': { '@schemeID': 'EM', '#': seller.email } } } : {}),
            ...(sellerVatId ? { 'ram:SpecifiedTaxRegistration': { 'ram:ID': { '@schemeID': 'VA', '#': sellerVatId } } } : {}),
          },
          'ram:BuyerTradeParty': {
            'ram:Name': buyer.name,
            ...(buyerSiren ? { 'ram:SpecifiedLegalOrganization': { 'ram:ID': { '@schemeID': '0002', '#': buyerSiren } } } : {}),
            'ram:PostalTradeAddress': address(buyer.address),
            ...(buyerVatId ? { 'ram:SpecifiedTaxRegistration': { 'ram:ID': { '@schemeID': 'VA', '#': buyerVatId } } } : {}),
          },
          // BT-12: the signed quote is the contract, when the invoice bills one.
          ...(contracts.length === 1 ? { 'ram:ContractReferencedDocument': { 'ram:IssuerAssignedID': contracts[0]! } } : {}),
        },
        'ram:ApplicableHeaderTradeDelivery': {
          // BT-80 (BR-IC-12): where the goods or services go.
          'ram:ShipToTradeParty': { 'ram:PostalTradeAddress': { 'ram:CountryID': buyer.address.country } },
        },
        'ram:ApplicableHeaderTradeSettlement': {
          // BT-83: the transfer's remittance information is the invoice number (a credit note is not paid by transfer).
          ...(credits ? {} : { 'ram:PaymentReference': invoice.number }),
          'ram:InvoiceCurrencyCode': invoice.currency,
          ...(seller.iban && !credits
            ? {
                'ram:SpecifiedTradeSettlementPaymentMeans': {
                  // UNTDID 4461: 58 SEPA credit transfer, 30 any other credit transfer.
                  'ram:TypeCode': invoice.currency === 'EUR' ? '58' : '30',
                  'ram:PayeePartyCreditorFinancialAccount': { 'ram:IBANID': seller.iban },
                  ...(seller.bic ? { 'ram:PayeeSpecifiedCreditorFinancialInstitution': { 'ram:BICID': seller.bic } } : {}),
                },
              }
            : {}),
          'ram:ApplicableTradeTax': taxes,
          'ram:BillingSpecifiedPeriod': {
            ...(period.start ? { 'ram:StartDateTime': date102(period.start) } : {}),
            'ram:EndDateTime': date102(period.end),
          },
          // BR-CO-25: a positive amount due has a due date or payment terms; a credit note says how its amount is settled.
          'ram:SpecifiedTradePaymentTerms': {
            'ram:Description': paymentTerms(input.lang, input),
            ...(invoice.dueDate && !credits ? { 'ram:DueDateDateTime': date102(invoice.dueDate) } : {}),
          },
          'ram:SpecifiedTradeSettlementHeaderMonetarySummation': {
            'ram:LineTotalAmount': amount(invoice.net),
            'ram:TaxBasisTotalAmount': amount(invoice.net),
            'ram:TaxTotalAmount': { '@currencyID': invoice.currency, '#': amount(invoice.tax) },
            'ram:GrandTotalAmount': amount(invoice.total),
            'ram:DuePayableAmount': amount(invoice.total),
          },
          // BG-3: the invoice a credit note credits.
          ...(credits
            ? {
                'ram:InvoiceReferencedDocument': {
                  'ram:IssuerAssignedID': credits.number,
                  'ram:FormattedIssueDateTime': { 'qdt:DateTimeString': { '@format': '102', '#': credits.issueDate.replaceAll('-', '') } },
                },
              }
            : {}),
        },
      },
    },
  }
  return create({ version: '1.0', encoding: 'UTF-8' }, document).end({ prettyPrint: true })
}

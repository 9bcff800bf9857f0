import type { RuleSetName } from './rule-file.schema.js'

/**
 * The facts rules may name, what each holds, and from which stage on it is known. Rule
 * files are checked against this catalogue at load time, so a misspelt fact or property is
 * an error with its file and path instead of a condition that silently never matches.
 * Numbers in facts are plain numbers in major units (39.9 = 39.90 EUR): facts are for
 * comparisons only, and every amount QTC computes or returns stays exact.
 */
export type FactType = 'object' | 'string' | 'number' | 'boolean' | 'string[]' | 'date' | 'string|null' | 'number|null'

interface FactProperty {
  type: FactType
  description: string
  /** Only known after pricing: usable in guardrails, approvals and recommendations. */
  priced?: boolean
  /** Only known after the guardrails: usable in approvals and recommendations. */
  guarded?: boolean
}

export const LINE_FACT: Record<string, FactProperty> = {
  index: { type: 'number', description: 'Position of the line in the evaluated cart (0-based)' },
  sku: { type: 'string', description: 'Product sku' },
  name: { type: 'string', description: 'Product name' },
  family: { type: 'string', description: 'Product family (catalog)' },
  category: { type: 'string', description: 'Product category (catalog)' },
  type: { type: 'string', description: 'one_time, recurring or usage' },
  unit: { type: 'string', description: 'Unit of measure' },
  billingPeriod: { type: 'string|null', description: 'month, quarter or year for recurring lines' },
  quantity: { type: 'number', description: 'Quantity' },
  termMonths: { type: 'number|null', description: 'Subscription term in months (recurring lines)' },
  startDate: { type: 'date', description: 'Service start date (defaults to the cart date)' },
  options: { type: 'string[]', description: 'Skus of the options chosen on a bundle line' },
  source: { type: 'string', description: 'cart, option (of a bundle) or rule (added by config.require)' },
  parentSku: { type: 'string|null', description: 'Bundle sku of an option line' },
  manualDiscountPercent: { type: 'number', description: 'Discount the rep typed on the line (0 if none)' },
  listUnitPrice: { type: 'number', description: 'Price-book unit price per billing period, before any rule' },
  unitCost: { type: 'number|null', description: 'Price-book unit cost, if known' },
  netUnitPrice: { type: 'number', description: 'Unit price after every adjustment', priced: true },
  netAmount: { type: 'number', description: 'Line amount per billing period after every adjustment', priced: true },
  contractAmount: { type: 'number', description: 'Line amount over the whole term (one-time lines: the net amount)', priced: true },
  discountPercent: {
    type: 'number',
    description: 'Discount off the standard price (list after volume tiers and set prices): rule adjustments and manual discount, in percent',
    priced: true,
  },
  offListPercent: { type: 'number', description: 'Everything off the list price, volume tiers included, in percent', priced: true },
  marginPercent: { type: 'number|null', description: 'Margin over cost, in percent of the net amount (null without cost)', priced: true },
}

export const QUOTE_FACT: Record<string, FactProperty> = {
  currency: { type: 'string', description: 'ISO 4217 currency of the cart' },
  date: { type: 'date', description: 'Pricing date of the cart' },
  channel: { type: 'string', description: 'direct, partner or web' },
  promoCodes: { type: 'string[]', description: 'Promotion codes entered' },
  paymentTermsDays: { type: 'number', description: 'Net payment terms in days' },
  priceBookId: { type: 'string', description: 'Id of the price book that applies' },
  skus: { type: 'string[]', description: 'Every sku in the cart (after configuration)' },
  families: { type: 'string[]', description: 'Every product family in the cart' },
  categories: { type: 'string[]', description: 'Every product category in the cart' },
  lineCount: { type: 'number', description: 'Number of lines' },
  hasRecurring: { type: 'boolean', description: 'Whether any line is a subscription' },
  maxTermMonths: { type: 'number', description: 'Longest subscription term (0 if none)' },
  quantityBySku: {
    type: 'object',
    description: 'Quantity per sku, for json-logic params: { "var": "quote.quantityBySku.GW-200" } (conditions use cartQuantity)',
  },
  quantityByCategory: { type: 'object', description: 'Quantity per product category, for json-logic params (conditions use categoryQuantity)' },
  listTotal: { type: 'number', description: 'Sum of list amounts over the contract', priced: true },
  netTotal: { type: 'number', description: 'Sum of net amounts over the contract (total contract value)', priced: true },
  oneTimeTotal: { type: 'number', description: 'Net amount of one-time lines', priced: true },
  annualRecurringTotal: { type: 'number', description: 'Net recurring amount per year (first year)', priced: true },
  discountPercent: {
    type: 'number',
    description: 'Discount of the whole quote off its standard price, in percent (first-year amounts over the term)',
    priced: true,
  },
  maxLineDiscountPercent: { type: 'number', description: 'Largest discount of any line, in percent', priced: true },
  minLineMarginPercent: { type: 'number|null', description: 'Smallest margin of any line with a cost, in percent', priced: true },
  guardrailOutcome: { type: 'string', description: 'allowed, needs_approval or blocked (approvals and recommendations only)', priced: true, guarded: true },
}

export const ACCOUNT_FACT: Record<string, FactProperty> = {
  id: { type: 'string', description: 'Account id' },
  segment: { type: 'string', description: 'smb, mid_market, enterprise, public_sector…' },
  country: { type: 'string', description: 'ISO 3166 alpha-2 country' },
  vatId: { type: 'string|null', description: 'VAT identification number' },
  hasVatId: { type: 'boolean', description: 'Whether a VAT id was given' },
  purchasedSkus: { type: 'string[]', description: 'Skus the account bought before (purchase history)' },
}

/**
 * The facts of the tax rules, which decide each invoice line's VAT: the line's product, the
 * account (the buyer) with what its VAT status needs, the seller legal entity, the invoice.
 */
export const TAX_LINE_FACT: Record<string, FactProperty> = {
  sku: { type: 'string', description: 'Product sku' },
  type: { type: 'string', description: 'one_time, recurring or usage' },
  taxCategory: { type: 'string', description: "The product's tax category (catalog), e.g. goods, services, saas, books" },
}

export const TAX_ACCOUNT_FACT: Record<string, FactProperty> = {
  country: { type: 'string', description: "The buyer's ISO 3166 alpha-2 country (its billing address)" },
  vatId: { type: 'string|null', description: "The buyer's VAT identification number" },
  hasVatId: { type: 'boolean', description: 'Whether the buyer gave a VAT id' },
  vatIdWellFormed: {
    type: 'boolean',
    description: 'Whether the VAT id is well formed for its country, check digits included (format only: not a VIES lookup)',
  },
  vatIdCountry: { type: 'string|null', description: 'The ISO country of the VAT id (EL is Greece: GR), null without one' },
  inEu: { type: 'boolean', description: 'Whether the buyer is in an EU member state' },
  segment: { type: 'string', description: 'smb, mid_market, enterprise, public_sector…' },
}

export const SELLER_FACT: Record<string, FactProperty> = {
  id: { type: 'string', description: 'Seller legal entity id (legal-entities/)' },
  country: { type: 'string', description: "The seller's ISO 3166 alpha-2 country" },
}

export const INVOICE_FACT: Record<string, FactProperty> = {
  date: { type: 'date', description: 'Issue date of the invoice (the tax point)' },
  currency: { type: 'string', description: 'ISO 4217 currency of the invoice' },
}

/**
 * An own property of a record, never one inherited from Object.prototype: names come from
 * rule files, and `toString` or `constructor` must be unknown names, not built-in functions.
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined
}

/** The base facts the dynamic facts are computed from. */
export interface BaseFacts {
  quote: Record<string, unknown>
  account: Record<string, unknown>
}

export interface DynamicFact {
  params: Record<string, FactType>
  type: FactType
  description: string
  /**
   * The fact's value, from the base facts and the condition's params. The one definition
   * both runners use; it never throws, whatever a rule file passes as params.
   */
  compute(facts: BaseFacts, params: unknown): unknown
}

/** A param as a name; anything but a string names nothing (the static checks require strings). */
function param(params: unknown, name: string): string | undefined {
  const value = (params as Record<string, unknown> | null | undefined)?.[name]
  return typeof value === 'string' ? value : undefined
}

/** A count from a `{ key: number }` fact, 0 when absent (an own key only: a sku may be named anything). */
function countOf(counts: unknown, key: string | undefined): unknown {
  return key !== undefined && counts !== null && typeof counts === 'object' && Object.hasOwn(counts, key) ? (counts as Record<string, unknown>)[key] : 0
}

/** Facts computed on demand by name, with params. Their values are numbers or booleans, so they take no path. */
export const DYNAMIC_FACTS: Record<string, DynamicFact> = {
  cartQuantity: {
    params: { sku: 'string' },
    type: 'number',
    description: 'Total quantity of a sku over the cart (0 if absent)',
    compute: (facts, params) => countOf(facts.quote?.quantityBySku, param(params, 'sku')),
  },
  categoryQuantity: {
    params: { category: 'string' },
    type: 'number',
    description: 'Total quantity of a product category over the cart (0 if absent)',
    compute: (facts, params) => countOf(facts.quote?.quantityByCategory, param(params, 'category')),
  },
  purchased: {
    params: { sku: 'string' },
    type: 'boolean',
    description: 'Whether the account bought the sku before (purchase history)',
    compute: (facts, params) => {
      const skus = facts.account?.purchasedSkus
      const sku = param(params, 'sku')
      return sku !== undefined && Array.isArray(skus) && skus.includes(sku)
    },
  },
}

/**
 * json-rules-engine's "comparing facts": a condition whose `value` is `{ fact, path?, params? }`
 * compares with that fact's value instead of a literal. Any object with its own `fact` key
 * counts, as json-rules-engine decides.
 */
export interface FactReference {
  fact: string
  path?: string
  params?: Record<string, unknown>
}

export function isFactReference(value: unknown): value is FactReference {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, 'fact')
}

export const STATIC_FACTS = { line: LINE_FACT, quote: QUOTE_FACT, account: ACCOUNT_FACT } as const
export type StaticFactName = keyof typeof STATIC_FACTS

export const TAX_FACTS = { line: TAX_LINE_FACT, account: TAX_ACCOUNT_FACT, seller: SELLER_FACT, invoice: INVOICE_FACT } as const

/** The facts (by name, their properties) the rules of a set see: tax rules see an invoice's, every other set a cart's. */
export function staticFactsOf(set: RuleSetName): Readonly<Record<string, Record<string, FactProperty>>> {
  return set === 'tax' ? TAX_FACTS : STATIC_FACTS
}

/** Whether a set's rules may use the dynamic facts (computed from the cart). */
export function seesDynamicFacts(set: RuleSetName): boolean {
  return set !== 'tax'
}

/** Whether rules of a set see facts decided by the guardrails (they run after them). */
export function seesGuardedFacts(set: RuleSetName): boolean {
  return set === 'approvals' || set === 'recommendations'
}

/** Whether rules of a set see priced facts (they run after pricing). */
export function seesPricedFacts(set: RuleSetName): boolean {
  return set === 'guardrails' || set === 'approvals' || set === 'recommendations'
}

/** Which scopes a set allows: approvals and recommendations decide for the whole quote, tax for each line. */
export function allowedScopes(set: RuleSetName): Array<'line' | 'quote'> {
  if (set === 'tax') return ['line']
  return set === 'approvals' || set === 'recommendations' ? ['quote'] : ['line', 'quote']
}

/** json-rules-engine's own operators plus QTC's, each with a description for the docs. */
export const OPERATORS: Record<string, string> = {
  equal: 'fact equals value',
  notEqual: 'fact differs from value',
  lessThan: 'fact < value',
  lessThanInclusive: 'fact ≤ value',
  greaterThan: 'fact > value',
  greaterThanInclusive: 'fact ≥ value',
  in: 'fact is one of the values (value is a list)',
  notIn: 'fact is none of the values',
  contains: 'fact (a list) contains value',
  doesNotContain: 'fact (a list) does not contain value',
  startsWith: 'fact (a string) starts with value',
  containsAny: 'fact (a list) contains at least one of the values',
  between: 'value is [min, max]; min ≤ fact ≤ max',
  onOrAfter: 'fact (a date) is on or after value (YYYY-MM-DD)',
  before: 'fact (a date) is before value (YYYY-MM-DD)',
}

export type OperatorFn = (factValue: unknown, value: unknown) => boolean

/** QTC's custom operators; json-rules-engine supplies the others. */
export const CUSTOM_OPERATORS: Record<string, OperatorFn> = {
  startsWith: (fact, value) => typeof fact === 'string' && typeof value === 'string' && fact.startsWith(value),
  containsAny: (fact, value) => Array.isArray(fact) && Array.isArray(value) && value.some((v) => fact.includes(v)),
  between: (fact, value) => typeof fact === 'number' && Array.isArray(value) && value.length === 2 && fact >= Number(value[0]) && fact <= Number(value[1]),
  onOrAfter: (fact, value) => typeof fact === 'string' && typeof value === 'string' && fact >= value,
  before: (fact, value) => typeof fact === 'string' && typeof value === 'string' && fact < value,
}

import type { PriceBooks } from '../catalog/catalog.js'
import { PERIOD_MONTHS } from '../catalog/catalog.schema.js'
import { currencyExponent, isCurrency } from '../money/currency.js'
import { MoneyError, parseAmount } from '../money/money.js'
import { isCountry } from '../shared/countries.js'
import { isLogic } from './json-logic.js'
import type { LoadError } from '../shared/source-files.js'
import type { LoadedRule } from './rule.js'
import { topLevelConstraints } from './static-checks.js'

/**
 * Load-time checks of the values rules write literally: amounts must fit the currencies the
 * rule can price in (never rounded later), and the segments, channels, countries and
 * currencies conditions compare with must exist — a typo would make a rule silently never
 * fire. Each error names the file, the rule and the JSON path.
 */

type Leaf = { fact: string; path?: string; operator: string; value: unknown }
type Node = Leaf | { all: Node[] } | { any: Node[] } | { not: Node }

function* leaves(node: Node, at: string): Generator<[Leaf, string]> {
  if ('all' in node) for (const [i, c] of node.all.entries()) yield* leaves(c, `${at}/all/${i}`)
  else if ('any' in node) for (const [i, c] of node.any.entries()) yield* leaves(c, `${at}/any/${i}`)
  else if ('not' in node) yield* leaves(node.not, `${at}/not`)
  else yield [node, at]
}

/** The currencies a rule can price in: those its top-level conditions pin (currency or price book), else every book's. */
export function currenciesOf(rule: LoadedRule, priceBooks: PriceBooks): string[] {
  const constraints = topLevelConstraints(rule)
  const all = [...new Set(priceBooks.books.map((b) => b.currency))].sort()
  let currencies = all
  const pinned = constraints.get('quote.currency')?.values
  if (pinned) currencies = currencies.filter((c) => pinned.has(c))
  const books = constraints.get('quote.priceBookId')?.values
  if (books) currencies = currencies.filter((c) => priceBooks.books.some((b) => books.has(b.id) && b.currency === c))
  return currencies
}

function amountErrors(rule: LoadedRule, currencies: string[], value: unknown, path: string): LoadError[] {
  if (typeof value !== 'string' || isLogic(value)) return []
  const errors: LoadError[] = []
  for (const currency of currencies) {
    try {
      parseAmount(value.startsWith('-') ? value.slice(1) : value, currency)
    } catch (error) {
      if (!(error instanceof MoneyError)) throw error
      errors.push({
        file: rule.file,
        ruleId: rule.id,
        path: `${rule.pointer}${path}`,
        message: `${value} is not an amount in ${currency} (${currencyExponent(currency)} decimals), a currency this rule can price in: amounts are never rounded`,
      })
      break
    }
  }
  return errors
}

/** Every value check of one rule. */
export function valueChecks(rule: LoadedRule, priceBooks: PriceBooks): LoadError[] {
  const errors: LoadError[] = []
  const errorAt = (path: string, message: string) => errors.push({ file: rule.file, ruleId: rule.id, path: `${rule.pointer}${path}`, message })
  const { catalog, books } = priceBooks
  const e = rule.event
  const currencies = currenciesOf(rule, priceBooks)
  if (e.type === 'price.set') errors.push(...amountErrors(rule, currencies, e.params.unitPrice, '/event/params/unitPrice'))
  if (e.type === 'price.tiered')
    e.params.tiers.forEach((t, i) => errors.push(...amountErrors(rule, currencies, t.unitPrice, `/event/params/tiers/${i}/unitPrice`)))
  if (e.type === 'price.adjust') errors.push(...amountErrors(rule, currencies, e.params.amount, '/event/params/amount'))
  if (e.type === 'guardrail.limit' && e.params.metric === 'netUnitPrice') {
    errors.push(...amountErrors(rule, currencies, e.params.min, '/event/params/min'), ...amountErrors(rule, currencies, e.params.max, '/event/params/max'))
  }
  if (e.type === 'config.require' && e.params.termMonths !== undefined) {
    const product = catalog.products.get(e.params.sku)
    if (product?.type !== 'recurring') errorAt('/event/params/termMonths', `${e.params.sku} is not a subscription: it has no term`)
    else if (e.params.termMonths % PERIOD_MONTHS[product.billingPeriod!] !== 0)
      errorAt(
        '/event/params/termMonths',
        `must be a multiple of ${PERIOD_MONTHS[product.billingPeriod!]} (${e.params.sku} is billed per ${product.billingPeriod})`,
      )
  }

  // Closed lists: what a condition compares account.segment, quote.channel, account.country or quote.currency with must exist.
  const offered = new Set(books.map((b) => b.currency))
  const known: Record<string, [string, (v: string) => boolean]> = {
    'account.$.segment': ['segment', (v) => catalog.segments.has(v)],
    'quote.$.channel': ['channel', (v) => catalog.channels.has(v)],
    'account.$.country': ['ISO 3166-1 country', isCountry],
    'quote.$.currency': ['currency offered by a price book', (v) => isCurrency(v) && offered.has(v)],
  }
  for (const [leaf, at] of leaves(rule.conditions as Node, '/conditions')) {
    const check = Object.hasOwn(known, `${leaf.fact}.${leaf.path}`) ? known[`${leaf.fact}.${leaf.path}`] : undefined
    if (!check || !['equal', 'notEqual', 'in', 'notIn'].includes(leaf.operator)) continue
    const [what, isKnown] = check
    const values = Array.isArray(leaf.value) ? leaf.value : [leaf.value]
    values.forEach((v, i) => {
      if (typeof v === 'string' && !isKnown(v)) errorAt(`${at}/value${Array.isArray(leaf.value) ? `/${i}` : ''}`, `unknown ${what} ${JSON.stringify(v)}`)
    })
  }
  return errors
}

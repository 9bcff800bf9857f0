import { selectPriceBook, type PriceBook, type PriceEntry } from '../catalog/catalog.js'
import { PERIOD_MONTHS, type Product } from '../catalog/catalog.schema.js'
import type { FieldError } from '../errors.js'
import { isCurrency } from '../money/currency.js'
import type { RuleSet } from '../rules/rule-set.js'
import { isCountry } from '../shared/countries.js'
import type { Cart } from './cart.schema.js'
import type { WorkLine } from './context.js'
import type { Issue } from './evaluation.js'
import { rateOf } from './rate.js'
import { toQtyMilli } from './pricing.js'

/** The cart cannot be evaluated as sent (unknown sku, no price book…): each problem names its field. */
export class CartError extends Error {
  override name = 'CartError'
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.pointer}: ${e.detail}`).join('; '))
  }
}

/**
 * Before any rule: the cart against the closed lists, the price book that applies, and each
 * line (and each bundle option) against catalog and book. What the caller must fix is a
 * CartError naming its field; an option count out of its group's bounds is a configuration
 * finding (the quote can be saved and fixed).
 */
export function resolveCart(ruleSet: RuleSet, cart: Cart, channel: string, configErrors: Issue[]): { book: PriceBook; lines: WorkLine[] } {
  const errors: FieldError[] = []
  const { books, catalog } = ruleSet.priceBooks
  // Closed lists first: a typo in a segment or channel must be refused, not priced without its discounts.
  if (!isCurrency(cart.currency)) errors.push({ pointer: '/currency', detail: `${cart.currency} is not an ISO 4217 currency` })
  else if (!books.some((b) => b.currency === cart.currency))
    errors.push({ pointer: '/currency', detail: `no price book is in ${cart.currency}; books are in ${[...new Set(books.map((b) => b.currency))].join(', ')}` })
  if (!catalog.segments.has(cart.account.segment))
    errors.push({ pointer: '/account/segment', detail: `unknown segment ${cart.account.segment}; one of ${[...catalog.segments].join(', ')}` })
  if (!catalog.channels.has(channel)) errors.push({ pointer: '/channel', detail: `unknown channel ${channel}; one of ${[...catalog.channels].join(', ')}` })
  if (!isCountry(cart.account.country)) errors.push({ pointer: '/account/country', detail: `${cart.account.country} is not an ISO 3166-1 country code` })
  if (errors.length > 0) throw new CartError(errors)
  const book = selectPriceBook(books, {
    currency: cart.currency,
    date: cart.date,
    segment: cart.account.segment,
    channel,
    country: cart.account.country,
  })
  if (!book) {
    const inCurrency = books.filter((b) => b.currency === cart.currency)
    const onDate = inCurrency.filter((b) => b.validFrom <= cart.date && (b.validTo === null || cart.date <= b.validTo))
    // Name what the caller must change: the date when no book of the currency is valid then, else the account or channel.
    if (onDate.length === 0) {
      const from = inCurrency.map((b) => b.validFrom).sort()[0]
      throw new CartError([{ pointer: '/date', detail: `no ${cart.currency} price book is valid on ${cart.date} (the first starts ${from})` }])
    }
    throw new CartError([
      {
        pointer: '/account',
        detail: `no ${cart.currency} price book valid on ${cart.date} applies to segment ${cart.account.segment}, channel ${channel}, country ${cart.account.country}`,
      },
    ])
  }
  const { products, bundles } = catalog
  const lines: WorkLine[] = []
  const resolve = (sku: string, pointer: string): { product: Product; entry: PriceEntry } | undefined => {
    const product = products.get(sku)
    if (!product) return void errors.push({ pointer, detail: `unknown sku ${sku}` })
    if (!product.active) return void errors.push({ pointer, detail: `${sku} is no longer sold (inactive)` })
    const entry = book.entries.get(sku)
    if (!entry) return void errors.push({ pointer, detail: `${sku} has no price in price book ${book.id}` })
    return { product, entry }
  }

  cart.lines.forEach((cartLine, i) => {
    const at = `/lines/${i}`
    const resolved = resolve(cartLine.sku, `${at}/sku`)
    if (!resolved) return
    const { product, entry } = resolved
    const qtyMilli = toQtyMilli(cartLine.quantity)
    if (qtyMilli === null || (!product.fractionalQuantity && qtyMilli % 1000n !== 0n)) {
      errors.push({ pointer: `${at}/quantity`, detail: product.fractionalQuantity ? 'at most 3 decimals' : `${product.unit} quantities must be whole numbers` })
      return
    }
    let termMonths: number | null = null
    if (product.type === 'recurring') {
      termMonths = cartLine.termMonths ?? product.defaultTermMonths ?? 12
      const periodMonths = PERIOD_MONTHS[product.billingPeriod!]
      if (termMonths % periodMonths !== 0)
        errors.push({ pointer: `${at}/termMonths`, detail: `must be a multiple of ${periodMonths} (billed per ${product.billingPeriod})` })
    } else if (cartLine.termMonths !== undefined) {
      errors.push({ pointer: `${at}/termMonths`, detail: `${product.sku} is not a subscription` })
    }
    const startDate = cartLine.startDate ?? cart.date
    if (startDate < book.validFrom) errors.push({ pointer: `${at}/startDate`, detail: `before price book ${book.id} starts (${book.validFrom})` })
    if (book.validTo && startDate > book.validTo) errors.push({ pointer: `${at}/startDate`, detail: `after price book ${book.id} ends (${book.validTo})` })
    const manualDiscount = cartLine.manualDiscountPercent ? rateOf(cartLine.manualDiscountPercent) : null
    if (manualDiscount && manualDiscount.num > 100n * manualDiscount.den) errors.push({ pointer: `${at}/manualDiscountPercent`, detail: 'at most 100' })

    const bundle = bundles.get(product.sku)
    const chosen = cartLine.options ?? []
    if (chosen.length > 0 && !bundle) errors.push({ pointer: `${at}/options`, detail: `${product.sku} is not a bundle and has no options` })
    const parentIndex = lines.length
    lines.push({
      product,
      entry,
      source: 'cart',
      cartIndex: i,
      parentIndex: null,
      addedBy: null,
      quantity: cartLine.quantity,
      qtyMilli,
      termMonths,
      startDate,
      options: chosen.map((o) => o.sku),
      manualDiscount,
    })
    if (!bundle) return

    // Options: each must belong to a group; groups left empty take their defaults; counts are configuration findings.
    const seen = new Set<string>()
    const picked: Array<{ sku: string; quantity: number; pointer: string }> = []
    chosen.forEach((option, j) => {
      const pointer = `${at}/options/${j}/sku`
      if (seen.has(option.sku)) errors.push({ pointer, detail: `${option.sku} chosen twice` })
      seen.add(option.sku)
      const group = bundle.optionGroups.find((g) => g.options.some((o) => o.sku === option.sku))
      if (!group) errors.push({ pointer, detail: `${option.sku} is not an option of ${product.sku}` })
      else picked.push({ sku: option.sku, quantity: option.quantity ?? group.options.find((o) => o.sku === option.sku)!.quantity, pointer })
    })
    for (const group of bundle.optionGroups) {
      let inGroup = picked.filter((p) => group.options.some((o) => o.sku === p.sku))
      if (inGroup.length === 0) {
        inGroup = group.options.filter((o) => o.default).map((d) => ({ sku: d.sku, quantity: d.quantity, pointer: `${at}/options` }))
        picked.push(...inGroup)
      }
      if (inGroup.length < group.min || inGroup.length > group.max) {
        configErrors.push({
          code: 'OPTION_GROUP_COUNT',
          message: `${product.sku}: choose ${group.min === group.max ? group.min : `${group.min} to ${group.max}`} of "${group.name}" (${inGroup.length} chosen)`,
          line: parentIndex,
        })
      }
    }
    for (const option of picked) {
      const r = resolve(option.sku, option.pointer)
      if (!r) continue
      const optionTerm = r.product.type === 'recurring' ? (termMonths ?? r.product.defaultTermMonths ?? 12) : null
      if (optionTerm !== null && optionTerm % PERIOD_MONTHS[r.product.billingPeriod!] !== 0) {
        errors.push({
          pointer: `${at}/termMonths`,
          detail: `must be a multiple of ${PERIOD_MONTHS[r.product.billingPeriod!]} for option ${r.product.sku} (billed per ${r.product.billingPeriod})`,
        })
        continue
      }
      const optionMilli = qtyMilli * BigInt(option.quantity)
      lines.push({
        product: r.product,
        entry: r.entry,
        source: 'option',
        cartIndex: i,
        parentIndex,
        addedBy: null,
        quantity: Number(optionMilli) / 1000,
        qtyMilli: optionMilli,
        termMonths: optionTerm,
        startDate,
        options: [],
        manualDiscount,
      })
    }
  })
  if (errors.length > 0) throw new CartError(errors)
  return { book, lines }
}

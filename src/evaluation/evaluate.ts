import { PERIOD_MONTHS, type Product } from '../catalog/catalog.schema.js'
import { compareText } from '../shared/hash.js'
import { selectPriceBook, type PriceBook, type PriceEntry } from '../catalog/catalog.js'
import { currencyExponent, isCurrency } from '../money/currency.js'
import { moneyOf, type Money } from '../money/money-value.js'
import { isCountry } from '../shared/countries.js'
import { formatAmount, formatScaled, MoneyError, parseAmount } from '../money/money.js'
import { compareRatio, rateOf, type Rate } from './rate.js'
import type { FieldError } from '../errors.js'
import { applyLogic, isLogic } from '../rules/json-logic.js'
import { RuleEvaluationError, type RuleFacts, type RuleOutcome, type RuleRunner } from '../rules/rule-runner.js'
import type { LoadedRule, RuleSet } from '../rules/rule-set.js'
import type { EventOf, RuleSetName } from '../rules/rule-file.schema.js'
import { DEFAULT_PAYMENT_TERMS_DAYS, type Cart } from './cart.schema.js'
import {
  SNAPSHOT_VERSION,
  worst,
  type Adjustment,
  type ApprovalStep,
  type Breach,
  type Evaluation,
  type GuardrailOutcome,
  type Issue,
  type PricedLine,
  type Recommendation,
  type Suppressed,
  type TraceEntry,
  type TraceLevel,
  type Totals,
} from './evaluation.js'
import {
  clampAdjustment,
  extend,
  formatPercent,
  MILLI,
  netUnitPrice,
  percentHundredths,
  percentNumber,
  percentOff,
  rampSchedule,
  tieredAmount,
  toQtyMilli,
} from './pricing.js'

/** The cart cannot be evaluated as sent (unknown sku, no price book…): each problem names its field. */
export class CartError extends Error {
  override name = 'CartError'
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.pointer}: ${e.detail}`).join('; '))
  }
}

/** A line while it moves through the pipeline: what the cart said, resolved against catalog and book. */
interface WorkLine {
  product: Product
  entry: PriceEntry
  source: PricedLine['source']
  cartIndex: number | null
  parentIndex: number | null
  addedBy: string | null
  quantity: number
  qtyMilli: bigint
  termMonths: number | null
  startDate: string
  options: string[]
  manualDiscount: Rate | null
}

interface Context {
  ruleSet: RuleSet
  cart: Cart
  book: PriceBook
  channel: string
  trace: TraceLevel
  traceEntries: TraceEntry[]
  /** 10^exponent of the cart currency: minor units per major unit, for numeric facts. */
  scale: number
  runners: Partial<Record<RuleSetName, Partial<Record<'line' | 'quote', RuleRunner>>>>
  account: Record<string, unknown>
}

/** A fact number in major units (39.9 for 39.90 EUR): facts are for comparisons only. */
function majorNumber(money: Money): number {
  return Number(money.minor) / 10 ** currencyExponent(money.currency)
}

/**
 * The `line` fact. Built as one object literal with every property (priced ones undefined
 * before pricing): a stable shape, and no object spread, which is slow on hot paths.
 */
function lineFacts(line: WorkLine, index: number, lines: WorkLine[], scale: number, priced?: PricedLine): Record<string, unknown> {
  return {
    index,
    sku: line.product.sku,
    name: line.product.name,
    family: line.product.family,
    category: line.product.category,
    type: line.product.type,
    unit: line.product.unit,
    billingPeriod: line.product.billingPeriod ?? null,
    quantity: line.quantity,
    termMonths: line.termMonths,
    startDate: line.startDate,
    options: line.options,
    source: line.source,
    parentSku: line.parentIndex === null ? null : lines[line.parentIndex]!.product.sku,
    manualDiscountPercent: line.manualDiscount ? Number(line.manualDiscount.text) : 0,
    listUnitPrice: Number(line.entry.listMinor) / scale,
    unitCost: line.entry.costMinor === null ? null : Number(line.entry.costMinor) / scale,
    netUnitPrice: priced ? Number(priced.netUnitPrice.units) / 10 ** priced.netUnitPrice.decimals : undefined,
    netAmount: priced ? Number(priced.netAmount.minor) / scale : undefined,
    contractAmount: priced ? Number(priced.contractAmount.minor) / scale : undefined,
    discountPercent: priced ? percentNumber(priced.discountHundredths) : undefined,
    offListPercent: priced ? percentNumber(priced.offListHundredths) : undefined,
    marginPercent: priced ? (priced.marginHundredths === null ? null : percentNumber(priced.marginHundredths)) : undefined,
  }
}

function quoteFacts(ctx: Context, lines: WorkLine[]): Record<string, unknown> {
  const quantityBySku: Record<string, number> = {}
  const quantityByCategory: Record<string, number> = {}
  for (const l of lines) {
    quantityBySku[l.product.sku] = (quantityBySku[l.product.sku] ?? 0) + l.quantity
    quantityByCategory[l.product.category] = (quantityByCategory[l.product.category] ?? 0) + l.quantity
  }
  const unique = (values: string[]) => [...new Set(values)].sort()
  return {
    currency: ctx.cart.currency,
    date: ctx.cart.date,
    channel: ctx.channel,
    promoCodes: ctx.cart.promoCodes ?? [],
    paymentTermsDays: ctx.cart.paymentTermsDays ?? DEFAULT_PAYMENT_TERMS_DAYS,
    priceBookId: ctx.book.id,
    skus: unique(lines.map((l) => l.product.sku)),
    families: unique(lines.map((l) => l.product.family)),
    categories: unique(lines.map((l) => l.product.category)),
    lineCount: lines.length,
    hasRecurring: lines.some((l) => l.product.type === 'recurring'),
    maxTermMonths: lines.reduce((max, l) => Math.max(max, l.termMonths ?? 0), 0),
    quantityBySku,
    quantityByCategory,
  }
}

/** A rule's outcome with its trace entry (when traced), so the stage can record what the event did. */
type TracedOutcome = RuleOutcome & { entry?: TraceEntry }

/** Runs one set's rules of one scope and records the trace; returns the outcomes in priority order. */
async function runRules(
  ctx: Context,
  set: RuleSetName,
  scope: 'line' | 'quote',
  facts: RuleFacts,
  line?: number,
  options: { withFacts?: boolean } = {},
): Promise<TracedOutcome[]> {
  // Looked up once per evaluation: this runs for every line of every stage.
  const runners = (ctx.runners[set] ??= {})
  const runner = (runners[scope] ??= ctx.ruleSet.runner(set, scope, ctx.cart.date))
  // withFacts: the stage needs the facts each fired rule looked at, whatever trace was asked for.
  const outcomes: TracedOutcome[] = await runner.run(facts, options.withFacts && ctx.trace === 'none' ? 'fired' : ctx.trace)
  if (ctx.trace !== 'none') {
    for (const o of outcomes) {
      if (!o.fired && ctx.trace !== 'full') continue
      const entry: TraceEntry = {
        stage: set,
        ruleId: o.rule.id,
        ...(line === undefined ? {} : { line }),
        fired: o.fired,
        // A fired rule applies unless its stage says otherwise (notApplied).
        ...(o.fired ? { applied: true } : {}),
        ...(o.facts ? { facts: o.facts } : {}),
        ...(o.failed ? { failed: o.failed } : {}),
      }
      ctx.traceEntries.push(entry)
      o.entry = entry
    }
  }
  return outcomes
}

/** Records in the trace that a rule fired but its event changed nothing, and why. */
function notApplied(entry: TraceEntry | undefined, reason: string): void {
  if (!entry) return
  entry.applied = false
  entry.reason = reason
}

/** Evaluates an event param: literal, or json-logic over the rule's facts. Errors name the rule and param. */
function param(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts): unknown {
  if (!isLogic(value)) return value
  try {
    return applyLogic(value.$logic, facts)
  } catch (error) {
    throw new RuleEvaluationError(rule.id, `event param ${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function decimalParam(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts): Rate {
  const v = param(rule, name, value, facts)
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string') {
    try {
      return rateOf(v)
    } catch {
      // fall through to the error below
    }
  }
  throw new RuleEvaluationError(rule.id, `event param ${name} is not a finite number (got ${JSON.stringify(v)})`)
}

/**
 * An amount param in minor units of the cart's currency. Never rounded: an amount with more
 * decimals than the currency has ("1000.5" on a JPY cart, a computed 35.919 EUR) stops the
 * evaluation naming the rule, as a price book refuses it; a computed amount is rounded by the
 * rule itself (json-logic `round`).
 */
function amountParam(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts, currency: string): bigint {
  const v = decimalParam(rule, name, value, facts)
  try {
    return parseAmount(v.text, currency)
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error
    const hint = isLogic(value) ? `; round it in the rule, e.g. { "round": [<value>, ${currencyExponent(currency)}] }` : ''
    throw new RuleEvaluationError(
      rule.id,
      `event param ${name} ${v.text} is not an amount in ${currency} (${currencyExponent(currency)} decimals): ${error.message}${hint}`,
    )
  }
}

function quantityParam(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts): number {
  const v = param(rule, name, value ?? 1, facts)
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 10_000_000) {
    throw new RuleEvaluationError(rule.id, `event param ${name} must be a whole number from 1 (got ${JSON.stringify(v)})`)
  }
  return v
}

function eventOf<T extends LoadedRule['event']['type']>(rule: LoadedRule, type: T): EventOf<T> | undefined {
  return rule.event.type === type ? (rule.event as EventOf<T>) : undefined
}

// ---------------------------------------------------------------------------------------
// 0. Resolve the cart against catalog and price book
// ---------------------------------------------------------------------------------------

function resolveCart(ruleSet: RuleSet, cart: Cart, channel: string, configErrors: Issue[]): { book: PriceBook; lines: WorkLine[] } {
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

// ---------------------------------------------------------------------------------------
// 1. Configure
// ---------------------------------------------------------------------------------------

async function configure(ctx: Context, lines: WorkLine[], result: Evaluation['configuration']): Promise<WorkLine[]> {
  const { cart } = ctx
  const quote = quoteFacts(ctx, lines)
  const fired: Array<{ rule: LoadedRule; facts: RuleFacts; line?: number; entry?: TraceEntry }> = []
  for (const o of await runRules(ctx, 'configuration', 'quote', { quote, account: ctx.account })) {
    if (o.fired) fired.push({ rule: o.rule, facts: { quote, account: ctx.account }, ...(o.entry ? { entry: o.entry } : {}) })
  }
  for (const [i, line] of lines.entries()) {
    const facts = { line: lineFacts(line, i, lines, ctx.scale), quote, account: ctx.account }
    for (const o of await runRules(ctx, 'configuration', 'line', facts, i))
      if (o.fired) fired.push({ rule: o.rule, facts, line: i, ...(o.entry ? { entry: o.entry } : {}) })
  }

  type Need = { sku: string; quantity: number; termMonths: number | undefined; rule: LoadedRule; reason: string; entries: Array<TraceEntry | undefined> }
  const requiredByRule = new Map<string, Need>()
  const required = new Map<string, Need>()
  const excludes: Array<{ rule: LoadedRule; params: EventOf<'config.exclude'>['params']; at: { line?: number }; entry: TraceEntry | undefined }> = []
  for (const { rule, facts, line, entry } of fired) {
    const at = line === undefined ? {} : { line }
    const e = rule.event
    if (e.type === 'config.invalid') result.errors.push({ code: 'CONFIGURATION_INVALID', message: e.params.message, ruleId: rule.id, ...at })
    else if (e.type === 'config.warn') result.warnings.push({ code: 'CONFIGURATION_WARNING', message: e.params.message, ruleId: rule.id, ...at })
    else if (e.type === 'config.exclude') excludes.push({ rule, params: e.params, at, entry })
    else if (e.type === 'config.require') {
      // One rule firing on several lines adds up ("a mount per gateway" over two gateway lines).
      const key = `${rule.id}|${e.params.sku}`
      const previous = requiredByRule.get(key)
      const quantity = quantityParam(rule, 'quantity', e.params.quantity, facts) + (previous?.quantity ?? 0)
      requiredByRule.set(key, {
        sku: e.params.sku,
        quantity,
        termMonths: e.params.termMonths,
        rule,
        reason: e.params.reason,
        entries: [...(previous?.entries ?? []), entry],
      })
    }
  }
  // Different rules requiring one sku ask for the same thing: the largest demand wins, they do not add up.
  for (const need of requiredByRule.values()) {
    const current = required.get(need.sku)
    if (!current || need.quantity > current.quantity) {
      if (current) for (const entry of current.entries) notApplied(entry, `${need.rule.id} requires more ${need.sku}`)
      required.set(need.sku, need)
    } else for (const entry of need.entries) notApplied(entry, `${current.rule.id} requires as many ${need.sku} or more`)
  }

  // The deal's term: a line added by a rule (support, a service plan) runs as long as the
  // longest subscription of the cart, unless the rule names a term.
  const dealTermMonths = lines.reduce((max, l) => Math.max(max, l.termMonths ?? 0), 0)
  const added: WorkLine[] = []
  for (const [sku, need] of required) {
    // Summed in thousandths (bigint): 0.7 + 0.6 + 0.7 days are exactly 2, not 1.9999999999999998.
    const haveMilli = lines.filter((l) => l.product.sku === sku).reduce((sum, l) => sum + l.qtyMilli, 0n)
    const have = Number(haveMilli) / 1000
    if (haveMilli >= BigInt(need.quantity) * MILLI) {
      for (const entry of need.entries) notApplied(entry, `the cart already has ${have} × ${sku}`)
      continue
    }
    if (have > 0) {
      result.errors.push({
        code: 'CONFIGURATION_REQUIRES',
        message: `${need.reason}: at least ${need.quantity} × ${sku} (cart has ${have})`,
        ruleId: need.rule.id,
      })
      continue
    }
    const product = ctx.ruleSet.priceBooks.catalog.products.get(sku)!
    const entry = ctx.book.entries.get(sku)
    if (!product.active || !entry) {
      result.errors.push({
        code: 'CONFIGURATION_REQUIRES',
        message: `${need.reason}: ${sku} is required but not sold in price book ${ctx.book.id}`,
        ruleId: need.rule.id,
      })
      continue
    }
    let termMonths: number | null = null
    if (product.type === 'recurring') {
      const periodMonths = PERIOD_MONTHS[product.billingPeriod!]
      termMonths = need.termMonths ?? (dealTermMonths > 0 && dealTermMonths % periodMonths === 0 ? dealTermMonths : (product.defaultTermMonths ?? 12))
      if (termMonths % periodMonths !== 0)
        throw new RuleEvaluationError(
          need.rule.id,
          `event param termMonths ${termMonths} is not a multiple of ${periodMonths} (${sku} is billed per ${product.billingPeriod})`,
        )
    }
    added.push({
      product,
      entry,
      source: 'rule',
      cartIndex: null,
      parentIndex: null,
      addedBy: need.rule.id,
      quantity: need.quantity,
      qtyMilli: BigInt(need.quantity) * 1000n,
      termMonths,
      startDate: cart.date,
      options: [],
      manualDiscount: null,
    })
    result.added.push({ sku, quantity: need.quantity, ruleId: need.rule.id, reason: need.reason })
  }

  const all = [...lines, ...added]
  // Exclusions are checked after additions, so a required line cannot bring in an excluded sku unnoticed.
  const present = new Set(all.map((l) => l.product.sku))
  for (const { rule, params, at, entry } of excludes) {
    const found = params.skus.filter((s) => present.has(s))
    if (found.length > 0) result.errors.push({ code: 'CONFIGURATION_EXCLUDED', message: `${params.reason} (${found.join(', ')})`, ruleId: rule.id, ...at })
    else notApplied(entry, 'none of the excluded skus is in the cart')
  }
  const totals = new Map<string, bigint>()
  for (const l of all) totals.set(l.product.sku, (totals.get(l.product.sku) ?? 0n) + l.qtyMilli)
  for (const [sku, milli] of totals) {
    const p = ctx.ruleSet.priceBooks.catalog.products.get(sku)!
    const quantity = Number(milli) / 1000
    if (p.minQuantity && milli < BigInt(p.minQuantity) * MILLI)
      result.errors.push({ code: 'QUANTITY_BELOW_MINIMUM', message: `${sku}: at least ${p.minQuantity} ${p.unit} (cart has ${quantity})` })
    if (p.maxQuantity && milli > BigInt(p.maxQuantity) * MILLI)
      result.errors.push({ code: 'QUANTITY_ABOVE_MAXIMUM', message: `${sku}: at most ${p.maxQuantity} ${p.unit} (cart has ${quantity})` })
  }
  return all
}

// ---------------------------------------------------------------------------------------
// 2. Price
// ---------------------------------------------------------------------------------------

function appliesTo(rule: LoadedRule, line: WorkLine): boolean {
  const target = eventOf(rule, 'price.adjust')?.params.appliesTo
  if (!target) return true
  const { sku, family, category } = line.product
  return Boolean(target.skus?.includes(sku) || target.families?.includes(family) || target.categories?.includes(category))
}

async function price(ctx: Context, lines: WorkLine[], warnings: Issue[]): Promise<PricedLine[]> {
  const { cart } = ctx
  const currency = cart.currency
  const quote = quoteFacts(ctx, lines)
  const quoteOutcomes = (await runRules(ctx, 'pricing', 'quote', { quote, account: ctx.account })).filter((o) => o.fired)
  const quoteFired = quoteOutcomes.map((o) => o.rule)
  // A quote rule adjusts lines: it applied if it adjusted at least one; otherwise the trace says why not.
  const quoteApplied = new Set<string>()
  const quoteNotApplied = new Map<string, string>()
  const promoCodes = new Set(cart.promoCodes ?? [])
  const promoApplied = new Set<string>()
  const priced: PricedLine[] = []
  const exponent = currencyExponent(currency)
  const money = (minor: bigint) => moneyOf(minor, currency)

  for (const [i, line] of lines.entries()) {
    const facts: RuleFacts = { line: lineFacts(line, i, lines, ctx.scale), quote, account: ctx.account }
    const lineOutcomes = (await runRules(ctx, 'pricing', 'line', facts, i)).filter((o) => o.fired)
    const lineFired = lineOutcomes.map((o) => o.rule)
    const entries = new Map(lineOutcomes.map((o) => [o.rule.id, o.entry]))
    const adjustments: Adjustment[] = []
    const suppressed: Suppressed[] = []
    /** A rule that fired for this line but does not change it: listed on the line and in the trace. */
    const suppress = (rule: LoadedRule, reason: string) => {
      suppressed.push({ ruleId: rule.id, reason })
      if (rule.scope === 'line') notApplied(entries.get(rule.id), reason)
      else if (!quoteNotApplied.has(rule.id)) quoteNotApplied.set(rule.id, reason)
    }
    const listAmount = extend(line.entry.listMinor, line.qtyMilli)
    let running = listAmount

    // A. Base price: the highest-priority price.set / price.tiered rule, else the book's tiers, else list.
    const baseRules = lineFired.filter((r) => r.event.type === 'price.set' || r.event.type === 'price.tiered')
    const baseRule = baseRules[0]
    for (const other of baseRules.slice(1)) suppress(other, `base price already set by ${baseRule!.id} (higher priority)`)
    if (baseRule) {
      const set = eventOf(baseRule, 'price.set')
      const tiered = eventOf(baseRule, 'price.tiered')
      let amount: bigint
      if (set) {
        const unit = amountParam(baseRule, 'unitPrice', set.params.unitPrice, facts, currency)
        if (unit < 0n) throw new RuleEvaluationError(baseRule.id, `event param unitPrice is negative (${formatAmount(unit, currency)})`)
        amount = extend(unit, line.qtyMilli)
      } else {
        const tiers = tiered!.params.tiers.map((t) => ({ upTo: t.upTo, unitMinor: amountParamLiteral(baseRule, t.unitPrice, currency) }))
        amount = tieredAmount({ mode: tiered!.params.mode, tiers }, line.qtyMilli).amountMinor
      }
      adjustments.push({ ruleId: baseRule.id, kind: set ? 'set' : 'tier', label: (set ?? tiered)!.params.label, amount: money(amount - running) })
      running = amount
    } else if (line.entry.tiering) {
      const { amountMinor, tierIndex } = tieredAmount(line.entry.tiering, line.qtyMilli)
      if (amountMinor !== running) {
        adjustments.push({
          ruleId: null,
          kind: 'book_tier',
          label: `${ctx.book.name}: ${line.entry.tiering.mode} tier ${tierIndex + 1}`,
          amount: money(amountMinor - running),
        })
      }
      running = amountMinor
    }
    const baseAmount = running

    // B. Adjustments in priority order: promotions need their code; one per stacking group; an exclusive one stands alone.
    let candidates = [
      ...lineFired.filter((r) => r.event.type === 'price.adjust'),
      ...quoteFired.filter((r) => r.event.type === 'price.adjust' && appliesTo(r, line)),
    ]
    candidates.sort((a, b) => b.priority - a.priority || compareText(a.id, b.id))
    candidates = candidates.filter((r) => {
      const code = eventOf(r, 'price.adjust')!.params.promoCode
      if (code && !promoCodes.has(code)) {
        suppress(r, `promotion code ${code} not entered`)
        return false
      }
      return true
    })
    const exclusive = candidates.find((r) => eventOf(r, 'price.adjust')!.params.exclusive)
    if (exclusive) {
      for (const r of candidates) if (r !== exclusive) suppress(r, `exclusive adjustment ${exclusive.id} applies alone`)
      candidates = [exclusive]
    }
    const groups = new Map<string, string>()
    for (const rule of candidates) {
      const p = eventOf(rule, 'price.adjust')!.params
      if (p.group) {
        const holder = groups.get(p.group)
        if (holder) {
          suppress(rule, `stacking group ${p.group} already used by ${holder}`)
          continue
        }
        groups.set(p.group, rule.id)
      }
      let amountMinor: bigint
      let percent: string | undefined
      if (p.percent !== undefined) {
        const pct = decimalParam(rule, 'percent', p.percent, facts)
        if (pct.num > 100n * pct.den || pct.num < -1000n * pct.den)
          throw new RuleEvaluationError(rule.id, `event param percent ${pct.text} is outside -1000..100`)
        percent = pct.text
        amountMinor = percentOff(running, pct)
      } else {
        const amount = amountParam(rule, 'amount', p.amount, facts, currency)
        amountMinor = clampAdjustment(running, -(p.per === 'line' ? amount : extend(amount, line.qtyMilli)))
      }
      if (p.promoCode) promoApplied.add(p.promoCode)
      if (rule.scope === 'quote') quoteApplied.add(rule.id)
      const adjustment: Adjustment = { ruleId: rule.id, kind: percent === undefined ? 'amount' : 'percent', label: p.label, amount: money(amountMinor) }
      if (percent !== undefined) adjustment.percent = percent
      if (p.promoCode) adjustment.promoCode = p.promoCode
      if (p.group) adjustment.group = p.group
      adjustments.push(adjustment)
      running += amountMinor
    }

    // C. The rep's manual discount, last, on what the rules left.
    if (line.manualDiscount && line.manualDiscount.num > 0n) {
      const amountMinor = percentOff(running, line.manualDiscount)
      adjustments.push({ ruleId: null, kind: 'manual', label: 'Manual discount', percent: line.manualDiscount.text, amount: money(amountMinor) })
      running += amountMinor
    }

    // D. Term: periods, and the year-over-year ramp of multi-year subscriptions.
    const recurring = line.product.type === 'recurring'
    const periodMonths = recurring ? PERIOD_MONTHS[line.product.billingPeriod!] : 0
    const periods = recurring ? line.termMonths! / periodMonths : 1
    const rampRule = lineFired.find((r) => r.event.type === 'price.ramp')
    let ramp: PricedLine['ramp'] = null
    let contractAmount = running * BigInt(periods)
    if (recurring) {
      const uplift =
        rampRule && line.termMonths! > 12 ? decimalParam(rampRule, 'upliftPercent', eventOf(rampRule, 'price.ramp')!.params.upliftPercent, facts) : null
      if (uplift && (uplift.num < 0n || uplift.num >= 100n * uplift.den))
        throw new RuleEvaluationError(rampRule!.id, `event param upliftPercent ${uplift.text} is outside 0..100`)
      if (rampRule && !uplift) suppress(rampRule, 'a ramp needs a term over 12 months')
      const years = rampSchedule(running, line.termMonths!, periodMonths, uplift)
      contractAmount = years.reduce((sum, y) => sum + y.amountMinor, 0n)
      if (uplift) ramp = years.map((y) => ({ year: y.year, periods: y.periods, amountPerPeriod: money(y.amountPerPeriodMinor), amount: money(y.amountMinor) }))
    }

    const costAmount = line.entry.costMinor === null ? null : extend(line.entry.costMinor, line.qtyMilli)
    priced.push({
      index: i,
      sku: line.product.sku,
      name: line.product.name,
      family: line.product.family,
      category: line.product.category,
      type: line.product.type,
      unit: line.product.unit,
      billingPeriod: line.product.billingPeriod ?? null,
      source: line.source,
      cartIndex: line.cartIndex,
      parentIndex: line.parentIndex,
      addedBy: line.addedBy,
      quantity: line.quantity,
      qtyMilli: line.qtyMilli,
      termMonths: line.termMonths,
      startDate: line.startDate,
      periods,
      listUnitPrice: money(line.entry.listMinor),
      unitCost: line.entry.costMinor === null ? null : money(line.entry.costMinor),
      listAmount: money(listAmount),
      baseAmount: money(baseAmount),
      netAmount: money(running),
      netUnitPrice: netUnitPrice(running, line.qtyMilli, exponent),
      contractAmount: money(contractAmount),
      cost: costAmount === null ? null : money(costAmount),
      adjustments,
      suppressed,
      ramp,
      discountHundredths: percentHundredths(baseAmount - running, baseAmount) ?? 0n,
      offListHundredths: percentHundredths(listAmount - running, listAmount) ?? 0n,
      marginHundredths: costAmount === null ? null : percentHundredths(running - costAmount, running),
      guardrail: { outcome: 'allowed', breaches: [] },
    })
  }

  for (const code of promoCodes) {
    if (!promoApplied.has(code)) warnings.push({ code: 'PROMO_CODE_NOT_APPLIED', message: `promotion code ${code} does not apply to this cart` })
  }
  for (const o of quoteOutcomes) {
    if (!quoteApplied.has(o.rule.id)) notApplied(o.entry, quoteNotApplied.get(o.rule.id) ?? 'its appliesTo matches no line of the cart')
  }
  return priced
}

/** Tier prices in a rule are literal decimals, checked against the books' currencies at load time; never rounded. */
function amountParamLiteral(rule: LoadedRule, value: string, currency: string): bigint {
  try {
    return parseAmount(value, currency)
  } catch (error) {
    if (error instanceof MoneyError) throw new RuleEvaluationError(rule.id, `tier unit price ${value} is not an amount in ${currency}: ${error.message}`)
    throw error
  }
}

/**
 * Totals over the contract. Margin counts only the lines whose cost is known (a line without
 * cost is not free to make), and says which share of the net amount it covers.
 */
function computeTotals(lines: PricedLine[], currency: string): Totals {
  let listMinor = 0n,
    netBeforeRamp = 0n,
    baseMinor = 0n,
    netMinor = 0n,
    oneTimeMinor = 0n,
    annualRecurringMinor = 0n
  let costMinor = 0n,
    costedNetMinor = 0n,
    costed = 0
  for (const l of lines) {
    const periods = BigInt(l.periods)
    listMinor += l.listAmount.minor * periods
    baseMinor += l.baseAmount.minor * periods
    netBeforeRamp += l.netAmount.minor * periods
    netMinor += l.contractAmount.minor
    if (l.cost !== null) {
      costMinor += l.cost.minor * periods
      costedNetMinor += l.contractAmount.minor
      costed++
    }
    if (l.type === 'recurring') annualRecurringMinor += l.netAmount.minor * BigInt(12 / PERIOD_MONTHS[l.billingPeriod as keyof typeof PERIOD_MONTHS])
    else oneTimeMinor += l.contractAmount.minor
  }
  const money = (minor: bigint) => moneyOf(minor, currency)
  return {
    list: money(listMinor),
    standard: money(baseMinor),
    discount: money(baseMinor - netBeforeRamp),
    rampUplift: money(netMinor - netBeforeRamp),
    net: money(netMinor),
    oneTime: money(oneTimeMinor),
    annualRecurring: money(annualRecurringMinor),
    cost: costed > 0 ? money(costMinor) : null,
    discountHundredths: percentHundredths(baseMinor - netBeforeRamp, baseMinor) ?? 0n,
    marginHundredths: costed > 0 ? percentHundredths(costedNetMinor - costMinor, costedNetMinor) : null,
    costCoverageHundredths: costed > 0 ? percentHundredths(costedNetMinor, netMinor) : null,
  }
}

function pricedQuoteFacts(base: Record<string, unknown>, lines: PricedLine[], totals: Totals, outcome?: GuardrailOutcome): Record<string, unknown> {
  const margins = lines.filter((l) => l.marginHundredths !== null).map((l) => percentNumber(l.marginHundredths!))
  return {
    ...base,
    listTotal: majorNumber(totals.list),
    netTotal: majorNumber(totals.net),
    oneTimeTotal: majorNumber(totals.oneTime),
    annualRecurringTotal: majorNumber(totals.annualRecurring),
    discountPercent: percentNumber(totals.discountHundredths),
    // reduce, not Math.max(...spread): a spread of 100,000+ values overflows the call stack.
    maxLineDiscountPercent: lines.reduce((max, l) => Math.max(max, percentNumber(l.discountHundredths)), 0),
    minLineMarginPercent: margins.length ? margins.reduce((min, m) => Math.min(min, m)) : null,
    ...(outcome ? { guardrailOutcome: outcome } : {}),
  }
}

// ---------------------------------------------------------------------------------------
// 3. Guard
// ---------------------------------------------------------------------------------------

/**
 * What a guardrail compares: a percentage in hundredths (the figure shown, see pricing.ts),
 * or the net unit price as shown (units × 10^-decimals of the currency's major unit).
 */
type Metric = { kind: 'percent'; hundredths: bigint } | { kind: 'unitPrice'; units: bigint; decimals: number }

/** Whether the metric lies outside [min, max]; exact, no float. Null when within its limits (or unknown). */
function breachOf(rule: LoadedRule, facts: RuleFacts, metric: Metric | null): Omit<Breach, 'ruleId' | 'reason' | 'outcome'> | null {
  const p = eventOf(rule, 'guardrail.limit')!.params
  if (!p.metric) return { metric: null }
  if (!metric) return null
  const bound = (name: 'min' | 'max', value: unknown) => (value === undefined ? undefined : decimalParam(rule, name, value, facts))
  const min = bound('min', p.min)
  const max = bound('max', p.max)
  const [part, whole, actual] =
    metric.kind === 'percent'
      ? [metric.hundredths, 100n, formatPercent(metric.hundredths)]
      : [metric.units, 10n ** BigInt(metric.decimals), formatScaled(metric.units, metric.decimals)]
  const below = min !== undefined && compareRatio(part, whole, min) < 0
  const above = max !== undefined && compareRatio(part, whole, max) > 0
  if (!below && !above) return null
  return { metric: p.metric, ...(min !== undefined ? { min: min.text } : {}), ...(max !== undefined ? { max: max.text } : {}), actual }
}

async function guard(
  ctx: Context,
  work: WorkLine[],
  lines: PricedLine[],
  quoteBase: Record<string, unknown>,
  totals: Totals,
): Promise<Evaluation['guardrails']> {
  const quote = pricedQuoteFacts(quoteBase, lines, totals)
  const withinLimits = (o: TracedOutcome, metric: Metric | null) =>
    notApplied(
      o.entry,
      metric === null
        ? 'the metric is unknown for this line (no cost)'
        : `within its limits (actual ${metric.kind === 'percent' ? formatPercent(metric.hundredths) : formatScaled(metric.units, metric.decimals)})`,
    )
  for (const [i, line] of lines.entries()) {
    const facts: RuleFacts = { line: lineFacts(work[i]!, i, work, ctx.scale, line), quote, account: ctx.account }
    for (const o of await runRules(ctx, 'guardrails', 'line', facts, i)) {
      if (!o.fired) continue
      const p = eventOf(o.rule, 'guardrail.limit')!.params
      const metric: Metric | null =
        p.metric === 'discountPercent'
          ? { kind: 'percent', hundredths: line.discountHundredths }
          : p.metric === 'marginPercent'
            ? line.marginHundredths === null
              ? null
              : { kind: 'percent', hundredths: line.marginHundredths }
            : { kind: 'unitPrice', ...line.netUnitPrice }
      const breach = breachOf(o.rule, facts, metric)
      if (!breach) {
        withinLimits(o, metric)
        continue
      }
      line.guardrail.breaches.push({ ruleId: o.rule.id, ...breach, outcome: p.outcome, reason: p.reason })
      line.guardrail.outcome = worst(line.guardrail.outcome, p.outcome)
    }
  }
  const breaches: Breach[] = []
  const facts: RuleFacts = { quote, account: ctx.account }
  for (const o of await runRules(ctx, 'guardrails', 'quote', facts)) {
    if (!o.fired) continue
    const p = eventOf(o.rule, 'guardrail.limit')!.params
    const metric: Metric | null =
      p.metric === 'discountPercent'
        ? { kind: 'percent', hundredths: totals.discountHundredths }
        : p.metric === 'marginPercent' && totals.marginHundredths !== null
          ? { kind: 'percent', hundredths: totals.marginHundredths }
          : null
    const breach = breachOf(o.rule, facts, metric)
    if (breach) breaches.push({ ruleId: o.rule.id, ...breach, outcome: p.outcome, reason: p.reason })
    else withinLimits(o, metric)
  }
  let outcome: GuardrailOutcome = 'allowed'
  for (const b of breaches) outcome = worst(outcome, b.outcome)
  for (const l of lines) outcome = worst(outcome, l.guardrail.outcome)
  return { outcome, breaches }
}

// ---------------------------------------------------------------------------------------
// 4. Route approvals, 5. Recommend
// ---------------------------------------------------------------------------------------

/**
 * Approval steps, each bound to the facts its rules looked at (`quote.maxLineDiscountPercent`
 * → 25) — collected whatever trace level was asked for, since approvals are bound to them.
 */
async function routeApprovals(ctx: Context, quote: Record<string, unknown>, outcome: GuardrailOutcome): Promise<ApprovalStep[]> {
  const steps = new Map<string, ApprovalStep>()
  for (const o of await runRules(ctx, 'approvals', 'quote', { quote, account: ctx.account }, undefined, { withFacts: true })) {
    if (!o.fired) continue
    const p = eventOf(o.rule, 'approval.require')!.params
    const key = `${p.level}|${p.role}`
    const step: ApprovalStep = steps.get(key) ?? { level: p.level, role: p.role, mode: p.mode ?? 'all', reasons: [], upTo: {}, facts: {} }
    step.reasons.push({ ruleId: o.rule.id, reason: p.reason })
    Object.assign(step.facts, o.facts ?? {})
    for (const [fact, ceiling] of Object.entries(p.upTo ?? {})) {
      const current = step.upTo[fact]
      if (current === undefined || rateOf(ceiling).num * rateOf(current).den < rateOf(current).num * rateOf(ceiling).den) step.upTo[fact] = ceiling
    }
    steps.set(key, step)
  }
  // A guardrail asked for approval but no routing rule named an approver: the deal desk decides rather than nobody.
  if (outcome === 'needs_approval' && steps.size === 0) {
    steps.set('1|deal_desk', {
      level: 1,
      role: 'deal_desk',
      mode: 'all',
      reasons: [{ ruleId: null, reason: 'A guardrail requires approval and no approval rule routed it' }],
      upTo: {},
      // The engine's own routing is bound to the guardrail outcome.
      facts: { 'quote.guardrailOutcome': outcome },
    })
  }
  return [...steps.values()].sort((a, b) => a.level - b.level || compareText(a.role, b.role))
}

async function recommend(ctx: Context, quote: Record<string, unknown>, lines: PricedLine[]): Promise<Recommendation[]> {
  const inCart = new Set(lines.map((l) => l.sku))
  const out = new Map<string, Recommendation>()
  const facts: RuleFacts = { quote, account: ctx.account }
  for (const o of await runRules(ctx, 'recommendations', 'quote', facts)) {
    if (!o.fired) continue
    const p = eventOf(o.rule, 'recommend.add')!.params
    if (inCart.has(p.sku)) {
      notApplied(o.entry, `${p.sku} is already in the cart`)
      continue
    }
    if (out.has(p.sku)) {
      notApplied(o.entry, `${p.sku} is already recommended by ${out.get(p.sku)!.ruleId}`)
      continue
    }
    const product = ctx.ruleSet.priceBooks.catalog.products.get(p.sku)
    const entry = ctx.book.entries.get(p.sku)
    if (!product?.active || !entry) {
      notApplied(o.entry, `${p.sku} is not sold in price book ${ctx.book.id}`)
      continue
    }
    out.set(p.sku, {
      sku: p.sku,
      name: product.name,
      quantity: quantityParam(o.rule, 'quantity', p.quantity, facts),
      kind: p.kind,
      ruleId: o.rule.id,
      reason: p.reason,
      listUnitPrice: moneyOf(entry.listMinor, ctx.cart.currency),
    })
  }
  return [...out.values()]
}

/**
 * Evaluates a cart: configure → price → guard → route approvals → recommend.
 * Pure and deterministic: the result depends only on (rule set, price books, cart, trace
 * level) — no clock, no database — so any stored decision can be replayed to the cent.
 * Throws CartError for a cart that cannot be evaluated, RuleEvaluationError naming the rule
 * when a rule fails at run time.
 */
export async function evaluateQuote(ruleSet: RuleSet, cart: Cart, options: { trace: TraceLevel }): Promise<Evaluation> {
  const channel = cart.channel ?? 'direct'
  const configuration: Evaluation['configuration'] = { errors: [], warnings: [], added: [] }
  const { book, lines: cartLines } = resolveCart(ruleSet, cart, channel, configuration.errors)
  const purchasedSkus = [...new Set((cart.account.purchaseHistory ?? []).map((h) => h.sku))].sort()
  const account = {
    id: cart.account.id,
    segment: cart.account.segment,
    country: cart.account.country,
    vatId: cart.account.vatId ?? null,
    hasVatId: Boolean(cart.account.vatId),
    purchasedSkus,
  }
  const ctx: Context = {
    ruleSet,
    cart,
    book,
    channel,
    trace: options.trace,
    traceEntries: [],
    account,
    scale: 10 ** currencyExponent(cart.currency),
    runners: {},
  }

  const work = await configure(ctx, cartLines, configuration)
  const lines = await price(ctx, work, configuration.warnings)
  const totals = computeTotals(lines, cart.currency)
  const quoteBase = quoteFacts(ctx, work)
  const guardrails = await guard(ctx, work, lines, quoteBase, totals)
  if (configuration.errors.length > 0) {
    guardrails.outcome = 'blocked'
    guardrails.breaches.push({ ruleId: null, metric: null, outcome: 'blocked', reason: 'The configuration is invalid: fix the configuration errors first' })
  }
  const quote = pricedQuoteFacts(quoteBase, lines, totals, guardrails.outcome)
  const steps = await routeApprovals(ctx, quote, guardrails.outcome)
  const recommendations = await recommend(ctx, quote, lines)

  return {
    version: SNAPSHOT_VERSION,
    ruleSetHash: ruleSet.hash,
    priceBookHash: ruleSet.priceBookHash,
    priceBook: { id: book.id, name: book.name },
    currency: cart.currency,
    date: cart.date,
    channel,
    valid: configuration.errors.length === 0,
    configuration,
    lines,
    totals,
    guardrails,
    approvals: { required: guardrails.outcome !== 'blocked' && steps.length > 0, steps },
    recommendations,
    trace: ctx.traceEntries,
  }
}

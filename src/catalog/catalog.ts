import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { isCurrency } from '../money/currency.js'
import { isCountry } from '../shared/countries.js'
import { MoneyError, parseAmount } from '../money/money.js'
import type { LoadError, SourceFile } from '../shared/source-files.js'
import { contentHash, compareText } from '../shared/hash.js'
import { CatalogFileSchema, DEFAULT_TERMS_ID, PERIOD_MONTHS, PriceBookFileSchema, type Bundle, type PriceBookFile, type Product } from './catalog.schema.js'

export interface PriceTier {
  /** Last quantity of the tier, inclusive; null = no upper bound. */
  upTo: number | null
  unitMinor: bigint
}

export interface Tiering {
  mode: 'range' | 'slab'
  tiers: PriceTier[]
}

export interface PriceEntry {
  sku: string
  listMinor: bigint
  costMinor: bigint | null
  tiering: Tiering | null
}

export interface PriceBook {
  id: string
  name: string
  currency: string
  validFrom: string
  validTo: string | null
  priority: number
  /** Id of the terms and conditions quotes from this book carry (`standard` unless the file names one). */
  terms: string
  applicability: { segments?: string[]; channels?: string[]; countries?: string[] }
  entries: Map<string, PriceEntry>
}

export interface Catalog {
  products: Map<string, Product>
  bundles: Map<string, Bundle>
  /** The closed lists of customer segments and sales channels (declared in the catalog file). */
  segments: Set<string>
  channels: Set<string>
}

export interface PriceBooks {
  catalog: Catalog
  books: PriceBook[]
  /** Content hash of every price-book file (parsed, canonical JSON): changes when any price does. */
  hash: string
}

const catalogCheck = TypeCompiler.Compile(CatalogFileSchema)
const bookCheck = TypeCompiler.Compile(PriceBookFileSchema)

function schemaErrors(file: string, check: typeof catalogCheck | typeof bookCheck, content: unknown): LoadError[] {
  return [...check.Errors(content)].slice(0, 50).map((e) => ({ file, path: e.path, message: e.message }))
}

/** Tiers must ascend and end open (upTo null), so every quantity falls in exactly one. */
export function tieringProblems(tiers: Array<{ upTo: number | null }>): string | null {
  for (let i = 0; i < tiers.length; i++) {
    const upTo = tiers[i]!.upTo
    const last = i === tiers.length - 1
    if (last && upTo !== null) return 'the last tier must have upTo: null'
    if (!last && upTo === null) return `tier ${i} has upTo: null but is not the last`
    if (i > 0 && upTo !== null && upTo <= (tiers[i - 1]!.upTo ?? 0)) return `tier ${i} does not ascend`
  }
  return null
}

/**
 * Builds the catalog and price books from parsed files, converting every amount to minor
 * units of its book's currency. Returns all problems at once; a set with problems is unusable.
 */
export function buildPriceBooks(sources: SourceFile[]): { priceBooks?: PriceBooks; errors: LoadError[] } {
  const errors: LoadError[] = []
  const products = new Map<string, Product>()
  const bundles = new Map<string, Bundle>()
  const segments = new Set<string>()
  const channels = new Set<string>()
  const books: PriceBook[] = []
  const bookFiles: Array<{ file: string; content: PriceBookFile }> = []

  for (const source of sources) {
    const { file } = source
    const kind = (source.content as { kind?: unknown } | null)?.kind
    // Defaults (active: true, option quantity 1…) are filled in before checking, on a copy.
    const content =
      kind === 'catalog'
        ? Value.Default(CatalogFileSchema, structuredClone(source.content))
        : kind === 'price-book'
          ? Value.Default(PriceBookFileSchema, structuredClone(source.content))
          : source.content
    if (kind === 'catalog') {
      if (!catalogCheck.Check(content)) {
        errors.push(...schemaErrors(file, catalogCheck, content))
        continue
      }
      for (const segment of content.segments) segments.add(segment)
      for (const channel of content.channels) channels.add(channel)
      content.products.forEach((p, i) => {
        if (products.has(p.sku)) errors.push({ file, path: `/products/${i}/sku`, message: `duplicate sku ${p.sku}` })
        if (p.type === 'recurring' && !p.billingPeriod)
          errors.push({ file, path: `/products/${i}/billingPeriod`, message: 'a recurring product needs a billing period' })
        if (p.type !== 'one_time' && p.billOn)
          errors.push({
            file,
            path: `/products/${i}/billOn`,
            message: 'only one-time products choose when they are invoiced (recurring ones are billed per period)',
          })
        if ((p.billOn === 'milestones') !== (p.milestones !== undefined))
          errors.push({ file, path: `/products/${i}/milestones`, message: 'milestones are listed exactly when billOn is milestones' })
        if (p.milestones) {
          const hundredths = p.milestones.reduce((sum, m) => sum + Math.round(Number(m.percent) * 100), 0)
          if (hundredths !== 10_000) errors.push({ file, path: `/products/${i}/milestones`, message: `the shares add up to ${hundredths / 100} %, not 100 %` })
          const ids = new Set<string>()
          p.milestones.forEach((m, mi) => {
            if (ids.has(m.id)) errors.push({ file, path: `/products/${i}/milestones/${mi}/id`, message: `duplicate milestone ${m.id}` })
            ids.add(m.id)
          })
        }
        if (p.type === 'recurring' && p.defaultTermMonths && p.billingPeriod && p.defaultTermMonths % PERIOD_MONTHS[p.billingPeriod] !== 0) {
          errors.push({ file, path: `/products/${i}/defaultTermMonths`, message: `must be a multiple of the ${p.billingPeriod} billing period` })
        }
        if (p.minQuantity && p.maxQuantity && p.minQuantity > p.maxQuantity)
          errors.push({ file, path: `/products/${i}/minQuantity`, message: 'exceeds maxQuantity' })
        products.set(p.sku, p)
      })
      for (const [i, b] of (content.bundles ?? []).entries()) {
        if (bundles.has(b.sku)) errors.push({ file, path: `/bundles/${i}/sku`, message: `duplicate bundle ${b.sku}` })
        bundles.set(b.sku, b)
        b.optionGroups.forEach((g, gi) => {
          if (g.min > g.max) errors.push({ file, path: `/bundles/${i}/optionGroups/${gi}/min`, message: 'exceeds max' })
        })
      }
    } else if (kind === 'price-book') {
      if (!bookCheck.Check(content)) {
        errors.push(...schemaErrors(file, bookCheck, content))
        continue
      }
      bookFiles.push({ file, content })
    } else {
      errors.push({ file, path: '/kind', message: 'must be "catalog" or "price-book"' })
    }
  }

  // Bundles and their options must name products: checked once every catalog file is read.
  for (const [sku, bundle] of bundles) {
    if (!products.has(sku)) errors.push({ file: '(catalog)', path: `/bundles/${sku}`, message: `bundle ${sku} is not a product` })
    for (const group of bundle.optionGroups) {
      for (const option of group.options) {
        if (!products.has(option.sku)) errors.push({ file: '(catalog)', path: `/bundles/${sku}/${group.id}`, message: `option ${option.sku} is not a product` })
      }
    }
  }
  if (products.size === 0) errors.push({ file: '.', path: '', message: 'no catalog file (kind: catalog) found' })

  const ids = new Set<string>()
  for (const { file, content } of bookFiles) {
    if (ids.has(content.id)) errors.push({ file, path: '/id', message: `duplicate price book id ${content.id}` })
    ids.add(content.id)
    if (!isCurrency(content.currency)) {
      errors.push({ file, path: '/currency', message: `unknown ISO 4217 currency ${content.currency}` })
      continue
    }
    if (content.validTo && content.validTo < content.validFrom) errors.push({ file, path: '/validTo', message: 'is before validFrom' })
    // Applicability names declared segments and channels and real countries: a typo would make the book silently apply to nobody.
    const { segments: forSegments = [], channels: forChannels = [], countries = [] } = content.applicability
    forSegments.forEach(
      (s, i) =>
        segments.has(s) ||
        errors.push({ file, path: `/applicability/segments/${i}`, message: `unknown segment ${s}; the catalog declares ${[...segments].join(', ')}` }),
    )
    forChannels.forEach(
      (c, i) =>
        channels.has(c) ||
        errors.push({ file, path: `/applicability/channels/${i}`, message: `unknown channel ${c}; the catalog declares ${[...channels].join(', ')}` }),
    )
    countries.forEach((c, i) => isCountry(c) || errors.push({ file, path: `/applicability/countries/${i}`, message: `${c} is not an ISO 3166-1 country code` }))
    const entries = new Map<string, PriceEntry>()
    content.entries.forEach((entry, i) => {
      const at = `/entries/${i}`
      if (!products.has(entry.sku)) errors.push({ file, path: `${at}/sku`, message: `unknown sku ${entry.sku}` })
      if (entries.has(entry.sku)) errors.push({ file, path: `${at}/sku`, message: `duplicate entry for ${entry.sku}` })
      // Each amount is checked where it is written, so an error points at the field, not the entry.
      let valid = true
      const amount = (value: string, path: string): bigint => {
        try {
          return parseAmount(value, content.currency)
        } catch (error) {
          if (!(error instanceof MoneyError)) throw error
          valid = false
          errors.push({ file, path: `${at}${path}`, message: `${value} is not an amount in ${content.currency}: ${error.message}` })
          return 0n
        }
      }
      const tiering = entry.tiering
      const problem = tiering ? tieringProblems(tiering.tiers) : null
      if (problem) errors.push({ file, path: `${at}/tiering/tiers`, message: problem })
      const parsed: PriceEntry = {
        sku: entry.sku,
        listMinor: amount(entry.listPrice, '/listPrice'),
        costMinor: entry.cost === undefined ? null : amount(entry.cost, '/cost'),
        tiering: tiering
          ? { mode: tiering.mode, tiers: tiering.tiers.map((t, j) => ({ upTo: t.upTo, unitMinor: amount(t.unitPrice, `/tiering/tiers/${j}/unitPrice`) })) }
          : null,
      }
      if (valid) entries.set(entry.sku, parsed)
    })
    books.push({
      id: content.id,
      name: content.name,
      currency: content.currency,
      validFrom: content.validFrom,
      validTo: content.validTo ?? null,
      priority: content.priority,
      terms: content.terms ?? DEFAULT_TERMS_ID,
      applicability: content.applicability,
      entries,
    })
  }
  if (errors.length > 0) return { errors }
  books.sort((a, b) => compareText(a.id, b.id))
  const hash = contentHash(sources.map((s) => ({ file: s.file, content: s.content })))
  return { priceBooks: { catalog: { products, bundles, segments, channels }, books, hash }, errors }
}

export interface PriceBookQuery {
  currency: string
  date: string
  segment: string
  channel: string
  country: string
}

function applies(list: string[] | undefined, value: string): boolean {
  return !list || list.length === 0 || list.includes(value)
}

/**
 * The price book for a cart: right currency, valid on the date, applicable to the account's
 * segment, channel and country; among several, the highest priority, then the lowest id
 * (so the choice is deterministic).
 */
export function selectPriceBook(books: readonly PriceBook[], q: PriceBookQuery): PriceBook | undefined {
  const candidates = books.filter(
    (b) =>
      b.currency === q.currency &&
      b.validFrom <= q.date &&
      (b.validTo === null || q.date <= b.validTo) &&
      applies(b.applicability.segments, q.segment) &&
      applies(b.applicability.channels, q.channel) &&
      applies(b.applicability.countries, q.country),
  )
  return candidates.sort((a, b) => b.priority - a.priority || compareText(a.id, b.id))[0]
}

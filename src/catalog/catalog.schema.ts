import { Type, type Static } from '@sinclair/typebox'
import '../shared/formats.js'

/**
 * File formats of `price-books/`: one catalog file (products and bundles) and one file per
 * price book. Amounts are decimal strings in major units ("39.00"), converted once at load
 * time to integer minor units of the book's currency.
 */

export const Sku = Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{0,63}$', description: 'Stock keeping unit: upper-case letters, digits and dashes' })
export const IsoDate = Type.String({ format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Calendar date, YYYY-MM-DD' })
export const DecimalString = Type.String({ pattern: '^-?\\d{1,15}(\\.\\d{1,10})?$', description: 'Exact decimal, e.g. "39.90"' })
/** Prices and costs: never negative. */
export const Price = Type.String({ pattern: '^\\d{1,15}(\\.\\d{1,10})?$', description: 'Exact non-negative decimal, e.g. "39.90"' })
export const Identifier = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,99}$', description: 'Lower-case id: letters, digits, dot, dash, underscore' })

export const BillingPeriod = Type.Union([Type.Literal('month'), Type.Literal('quarter'), Type.Literal('year')])
export type BillingPeriod = Static<typeof BillingPeriod>
export const PERIOD_MONTHS: Record<BillingPeriod, number> = { month: 1, quarter: 3, year: 12 }

export const ProductSchema = Type.Object(
  {
    sku: Sku,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    family: Identifier,
    category: Identifier,
    unit: Type.String({ minLength: 1, maxLength: 30, description: 'seat, device, day, month…' }),
    fractionalQuantity: Type.Optional(Type.Boolean({ description: 'Quantities may have up to 3 decimals (days of service); otherwise whole units only' })),
    type: Type.Union([Type.Literal('one_time'), Type.Literal('recurring'), Type.Literal('usage')]),
    billingPeriod: Type.Optional(BillingPeriod),
    defaultTermMonths: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    taxCategory: Identifier,
    revenueTreatment: Type.Union([Type.Literal('point_in_time'), Type.Literal('ratable')]),
    billOn: Type.Optional(
      Type.Union([Type.Literal('order'), Type.Literal('fulfilment'), Type.Literal('milestones')], {
        description:
          'One-time products: invoiced once ordered, as fulfilled (goods as shipped, services as delivered; the default), or in parts as the milestones listed are reached',
      }),
    ),
    milestones: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Identifier,
            name: Type.String({ minLength: 1, maxLength: 100, description: 'As printed on the invoice' }),
            percent: Type.String({ pattern: '^(100|[1-9]?\\d)(\\.\\d{1,2})?$', description: 'Share of the line billed when it is reached, e.g. "30"' }),
          },
          { additionalProperties: false },
        ),
        { minItems: 2, maxItems: 20, description: 'With billOn: milestones, in order; their shares add up to 100' },
      ),
    ),
    sspBasis: Type.Union([Type.Literal('list_price'), Type.Literal('cost_plus_margin'), Type.Literal('adjusted_market')], {
      description: 'How the standalone selling price is estimated for revenue allocation',
    }),
    minQuantity: Type.Optional(Type.Integer({ minimum: 1 })),
    maxQuantity: Type.Optional(Type.Integer({ minimum: 1 })),
    active: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
)
export type Product = Static<typeof ProductSchema>

export const OptionGroupSchema = Type.Object(
  {
    id: Identifier,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    min: Type.Integer({ minimum: 0, maximum: 50 }),
    max: Type.Integer({ minimum: 1, maximum: 50 }),
    options: Type.Array(
      Type.Object(
        {
          sku: Sku,
          quantity: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: 'Units of the option per unit of the bundle' }),
          default: Type.Boolean({ default: false, description: 'Added when the cart names no option of this group' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 50 },
    ),
  },
  { additionalProperties: false },
)

export const BundleSchema = Type.Object(
  {
    sku: Sku,
    optionGroups: Type.Array(OptionGroupSchema, { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false, description: 'A product (same sku) sold with options chosen from groups' },
)
export type Bundle = Static<typeof BundleSchema>

export const CatalogFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    kind: Type.Literal('catalog'),
    segments: Type.Array(Identifier, {
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      description: 'Every customer segment accounts, price books and rules may name; anything else is refused as a typo',
    }),
    channels: Type.Array(Identifier, {
      minItems: 1,
      maxItems: 20,
      uniqueItems: true,
      description: 'Every sales channel a cart may come through (direct, partner, web…)',
    }),
    products: Type.Array(ProductSchema, { minItems: 1, maxItems: 20_000 }),
    bundles: Type.Optional(Type.Array(BundleSchema, { maxItems: 2_000 })),
  },
  { additionalProperties: false },
)
export type CatalogFile = Static<typeof CatalogFileSchema>

export const PriceTierSchema = Type.Object(
  {
    upTo: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Last quantity of the tier (inclusive); null for no upper bound' }),
    unitPrice: Price,
  },
  { additionalProperties: false },
)
export const TieringSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('range'), Type.Literal('slab')], {
      description: 'range: the whole quantity at the tier it falls in; slab: each tier prices its own slice',
    }),
    tiers: Type.Array(PriceTierSchema, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
)
export type Tiering = Static<typeof TieringSchema>

/** The terms and conditions of a price book that names none. */
export const DEFAULT_TERMS_ID = 'standard'

export const PriceBookFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    kind: Type.Literal('price-book'),
    id: Identifier,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    validFrom: IsoDate,
    validTo: Type.Optional(Type.Union([IsoDate, Type.Null()])),
    priority: Type.Integer({ minimum: 0, maximum: 1000, default: 0, description: 'Among applicable books, the highest priority wins' }),
    terms: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
        description: `Terms and conditions id (a folder of terms/) printed on quotes priced from this book; "${DEFAULT_TERMS_ID}" when absent`,
      }),
    ),
    applicability: Type.Object(
      {
        segments: Type.Optional(Type.Array(Identifier, { maxItems: 50 })),
        channels: Type.Optional(Type.Array(Identifier, { maxItems: 50 })),
        countries: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), { maxItems: 300 })),
      },
      { additionalProperties: false, default: {} },
    ),
    entries: Type.Array(
      Type.Object(
        {
          sku: Sku,
          listPrice: Price,
          cost: Type.Optional(Price),
          tiering: Type.Optional(TieringSchema),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 20_000 },
    ),
  },
  { additionalProperties: false },
)
export type PriceBookFile = Static<typeof PriceBookFileSchema>

import { Type, type Static } from '@sinclair/typebox'
import { DecimalString, Identifier, IsoDate, Sku } from '../catalog/catalog.schema.js'

/** Net payment terms of a cart or quote that names none, in days: the one place this default lives. */
export const DEFAULT_PAYMENT_TERMS_DAYS = 30

/** Limits on what a caller may send, besides the configurable MAX_CART_LINES. */
export const CART_LIMITS = { options: 50, promoCodes: 10, purchaseHistory: 1000, stringLength: 200 } as const

const Percent = Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,4})?$', description: 'Percent off, e.g. "12.5"' })

export const CartLineSchema = Type.Object(
  {
    sku: Sku,
    quantity: Type.Number({ exclusiveMinimum: 0, maximum: 10_000_000, description: 'Whole units unless the product allows fractions (3 decimals)' }),
    options: Type.Optional(
      Type.Array(Type.Object({ sku: Sku, quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }), {
        maxItems: CART_LIMITS.options,
      }),
    ),
    termMonths: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
    startDate: Type.Optional(IsoDate),
    manualDiscountPercent: Type.Optional(Percent),
  },
  { additionalProperties: false },
)

/** A sales channel: one the catalog declares (checked when the cart is evaluated). */
export const Channel = Type.String({
  pattern: Identifier.pattern,
  maxLength: 100,
  default: 'direct',
  description: 'Sales channel, one the catalog declares (direct, partner, web)',
})

export function cartSchema(maxLines: number) {
  return Type.Object(
    {
      currency: Type.String({ pattern: '^[A-Z]{3}$' }),
      date: IsoDate,
      channel: Type.Optional(Channel),
      account: Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 64 }),
          segment: Identifier,
          country: Type.String({ pattern: '^[A-Z]{2}$' }),
          vatId: Type.Optional(Type.String({ minLength: 2, maxLength: 20, pattern: '^[A-Z0-9]+$' })),
          purchaseHistory: Type.Optional(
            Type.Array(Type.Object({ sku: Sku, date: Type.Optional(IsoDate) }, { additionalProperties: false }), { maxItems: CART_LIMITS.purchaseHistory }),
          ),
        },
        { additionalProperties: false },
      ),
      lines: Type.Array(CartLineSchema, { minItems: 1, maxItems: maxLines }),
      promoCodes: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z0-9][A-Z0-9_-]{0,31}$' }), { maxItems: CART_LIMITS.promoCodes, uniqueItems: true })),
      paymentTermsDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365, default: DEFAULT_PAYMENT_TERMS_DAYS })),
    },
    { additionalProperties: false },
  )
}

export type Cart = Static<ReturnType<typeof cartSchema>>
export type CartLine = Static<typeof CartLineSchema>
export { Percent as PercentString, DecimalString }

import { Type, type Static } from '@sinclair/typebox'
import { Sku } from '../catalog/catalog.schema.js'
import { cartSchema } from './cart.schema.js'

/**
 * Rule tests, written by analysts beside the rules (`rules/<set>/*.test.yaml`): a cart and
 * what its evaluation must show. Every expectation is optional and partial: name only
 * what the test is about.
 */
const RuleId = Type.String({ minLength: 1, maxLength: 100 })
const Outcome = Type.Union([Type.Literal('allowed'), Type.Literal('needs_approval'), Type.Literal('blocked')])
const Money = Type.String({ pattern: '^-?\\d+(\\.\\d+)?$' })

export const ExpectedLine = Type.Object(
  {
    index: Type.Optional(Type.Integer({ minimum: 0, description: 'Which evaluated line (default: the same position as in this list)' })),
    sku: Type.Optional(Sku),
    source: Type.Optional(Type.Union([Type.Literal('cart'), Type.Literal('option'), Type.Literal('rule')])),
    quantity: Type.Optional(Type.Number()),
    listAmount: Type.Optional(Money),
    baseAmount: Type.Optional(Money),
    netUnitPrice: Type.Optional(Money),
    netAmount: Type.Optional(Money),
    contractAmount: Type.Optional(Money),
    discountPercent: Type.Optional(Money),
    marginPercent: Type.Optional(Type.Union([Money, Type.Null()])),
    adjustments: Type.Optional(
      Type.Array(Type.String(), { description: 'Rule ids of the adjustments in order; "book_tier" and "manual" for those without a rule' }),
    ),
    suppressed: Type.Optional(Type.Array(RuleId)),
    ramp: Type.Optional(Type.Array(Money, { description: 'Amount per period of each contract year' })),
    guardrail: Type.Optional(Outcome),
    breaches: Type.Optional(Type.Array(RuleId)),
  },
  { additionalProperties: false },
)

export const RuleTestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 300 }),
    cart: cartSchema(10_000),
    expect: Type.Object(
      {
        valid: Type.Optional(Type.Boolean()),
        priceBook: Type.Optional(Type.String()),
        lines: Type.Optional(Type.Array(ExpectedLine)),
        lineCount: Type.Optional(Type.Integer({ minimum: 0 })),
        added: Type.Optional(Type.Array(Sku, { description: 'Skus added by configuration rules, in order' })),
        errors: Type.Optional(Type.Array(Type.String(), { description: "Configuration errors: rule id, or code for the engine's own checks" })),
        warnings: Type.Optional(Type.Array(Type.String())),
        totals: Type.Optional(Type.Record(Type.String(), Type.Union([Money, Type.Null()]))),
        guardrail: Type.Optional(Outcome),
        breaches: Type.Optional(Type.Array(Type.Union([RuleId, Type.Null()]), { description: 'Rule ids of quote-level breaches' })),
        approvals: Type.Optional(
          Type.Array(Type.Object({ level: Type.Integer(), role: Type.String() }, { additionalProperties: false }), {
            description: 'Exactly these steps, in order',
          }),
        ),
        recommendations: Type.Optional(Type.Array(Sku)),
        fired: Type.Optional(Type.Array(RuleId, { description: 'Each of these rules fired (for at least one line)' })),
        notFired: Type.Optional(Type.Array(RuleId, { description: 'None of these rules fired' })),
        refused: Type.Optional(
          Type.Object(
            { code: Type.String(), pointers: Type.Optional(Type.Array(Type.String())), ruleId: Type.Optional(RuleId) },
            { additionalProperties: false, description: 'The evaluation is refused (CART_INVALID or RULE_EVALUATION_FAILED)' },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export const RuleTestFileSchema = Type.Object(
  { $schema: Type.Optional(Type.String()), tests: Type.Array(RuleTestSchema, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false, $id: 'rule-test' },
)

export type RuleTest = Static<typeof RuleTestSchema>

/**
 * Tests of the tax rules (`rules/tax/*.test.yaml`): an invoice's parties and lines, and the
 * VAT each line must get. Like the cart tests, every expectation is optional and partial.
 */
export const TaxTestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 300 }),
    invoice: Type.Object(
      {
        date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
        currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'EUR' }),
        seller: Type.Object(
          { id: Type.String({ minLength: 1, maxLength: 100, default: 'qtc-sas' }), country: Type.String({ pattern: '^[A-Z]{2}$', default: 'FR' }) },
          { additionalProperties: false, default: {} },
        ),
        buyer: Type.Object(
          {
            country: Type.String({ pattern: '^[A-Z]{2}$' }),
            vatId: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
            segment: Type.String({ maxLength: 100, default: 'enterprise' }),
          },
          { additionalProperties: false },
        ),
        lines: Type.Array(
          Type.Object(
            {
              sku: Type.String({ maxLength: 100, default: 'TEST-SKU' }),
              taxCategory: Type.String({ minLength: 1, maxLength: 100 }),
              type: Type.String({ maxLength: 20, default: 'one_time' }),
            },
            { additionalProperties: false },
          ),
          { minItems: 1, maxItems: 100 },
        ),
      },
      { additionalProperties: false },
    ),
    expect: Type.Object(
      {
        lines: Type.Optional(
          Type.Array(
            Type.Object(
              {
                category: Type.Optional(Type.String()),
                ratePercent: Type.Optional(Type.String()),
                mention: Type.Optional(Type.Union([Type.String(), Type.Null()])),
                exemptionCode: Type.Optional(Type.Union([Type.String(), Type.Null()])),
                ruleId: Type.Optional(RuleId),
              },
              { additionalProperties: false },
            ),
          ),
        ),
        undetermined: Type.Optional(Type.Integer({ minimum: 0, description: 'No rule decides the VAT of this line (0-based): the invoice cannot be made' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export const TaxTestFileSchema = Type.Object(
  { $schema: Type.Optional(Type.String()), tests: Type.Array(TaxTestSchema, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false, $id: 'tax-test' },
)

export type TaxTest = Static<typeof TaxTestSchema>

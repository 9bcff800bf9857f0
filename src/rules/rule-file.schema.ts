import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { DecimalString, Identifier, IsoDate, Price, Sku } from '../catalog/catalog.schema.js'
import { APPROVER_ROLES } from '../principals/roles.js'

/**
 * File format of `rules/<set>/*.yaml|json`. A rule is a json-rules-engine condition tree
 * plus one event from the closed catalogue of its set. Event params that are computed are
 * written `{ "$logic": <json-logic> }` and evaluated over the same facts as the conditions.
 */

/**
 * The rule sets, in the order they run. The first five price a cart (evaluate.ts); `tax`
 * decides the VAT of each invoice line when an invoice is made (stages/tax.ts).
 */
export const RULE_SETS = ['configuration', 'pricing', 'guardrails', 'approvals', 'recommendations', 'tax'] as const
export type RuleSetName = (typeof RULE_SETS)[number]

/** A value given literally or computed by json-logic over { line, quote, account }. */
export const Logic = Type.Object(
  { $logic: Type.Unknown() },
  { additionalProperties: false, description: 'json-logic expression over { line, quote, account }' },
)
function computed<T extends TSchema>(literal: T) {
  return Type.Union([literal, Logic])
}

export const LeafCondition = Type.Object(
  {
    fact: Type.String({ minLength: 1, maxLength: 100 }),
    path: Type.Optional(Type.String({ pattern: '^\\$(\\.[A-Za-z_][A-Za-z0-9_]*)+$', description: 'Property of the fact, e.g. $.sku' })),
    operator: Type.String({ minLength: 1, maxLength: 50 }),
    value: Type.Unknown(),
    params: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Unknown())),
    name: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)

export const Condition = Type.Recursive(
  (Self) =>
    Type.Union([
      Type.Object({ all: Type.Array(Self, { maxItems: 100 }), name: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      Type.Object({ any: Type.Array(Self, { maxItems: 100 }), name: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      Type.Object({ not: Self, name: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      LeafCondition,
    ]),
  { $id: 'Condition' },
)

export const TopCondition = Type.Union([
  Type.Object({ all: Type.Array(Condition, { maxItems: 100 }) }, { additionalProperties: false }),
  Type.Object({ any: Type.Array(Condition, { maxItems: 100 }) }, { additionalProperties: false }),
  Type.Object({ not: Condition }, { additionalProperties: false }),
])

const Reason = Type.String({ minLength: 1, maxLength: 500 })
const Percent = computed(DecimalString)
const Target = Type.Object(
  {
    skus: Type.Optional(Type.Array(Sku, { maxItems: 200 })),
    families: Type.Optional(Type.Array(Identifier, { maxItems: 50 })),
    categories: Type.Optional(Type.Array(Identifier, { maxItems: 50 })),
  },
  { additionalProperties: false, description: 'Quote-scope pricing rules: which lines they adjust (all lines when absent)' },
)

/** The VAT categories of EN 16931 (UNCL 5305) a tax rule may decide. */
export const TAX_CATEGORIES = ['S', 'AE', 'E', 'G', 'O', 'K', 'Z'] as const
export type TaxCategoryCode = (typeof TAX_CATEGORIES)[number]

function event<N extends string, P extends TSchema>(type: N, params: P) {
  return Type.Object({ type: Type.Literal(type), params }, { additionalProperties: false })
}

/** The closed event catalogue, per rule set. */
export const EVENTS = {
  configuration: [
    event(
      'config.require',
      Type.Object(
        {
          sku: Sku,
          quantity: Type.Optional(computed(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
          termMonths: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 120,
              description: "Term of an added subscription; default: the longest term in the cart (the deal's term), else the product's default",
            }),
          ),
          reason: Reason,
        },
        { additionalProperties: false },
      ),
    ),
    event('config.exclude', Type.Object({ skus: Type.Array(Sku, { minItems: 1, maxItems: 100 }), reason: Reason }, { additionalProperties: false })),
    event('config.invalid', Type.Object({ message: Reason }, { additionalProperties: false })),
    event('config.warn', Type.Object({ message: Reason }, { additionalProperties: false })),
  ],
  pricing: [
    event('price.set', Type.Object({ unitPrice: computed(Price), label: Reason }, { additionalProperties: false })),
    event(
      'price.tiered',
      Type.Object(
        {
          mode: Type.Union([Type.Literal('range'), Type.Literal('slab')]),
          tiers: Type.Array(Type.Object({ upTo: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]), unitPrice: Price }, { additionalProperties: false }), {
            minItems: 1,
            maxItems: 50,
          }),
          label: Reason,
        },
        { additionalProperties: false },
      ),
    ),
    event(
      'price.adjust',
      Type.Object(
        {
          percent: Type.Optional(Percent),
          amount: Type.Optional(computed(DecimalString)),
          per: Type.Optional(Type.Union([Type.Literal('unit'), Type.Literal('line')], { description: 'amount per unit (default) or per line and period' })),
          label: Reason,
          promoCode: Type.Optional(Type.String({ pattern: '^[A-Z0-9][A-Z0-9_-]{0,31}$' })),
          group: Type.Optional(Identifier),
          exclusive: Type.Optional(Type.Boolean()),
          appliesTo: Type.Optional(Target),
        },
        { additionalProperties: false },
      ),
    ),
    event(
      'price.ramp',
      Type.Object(
        { upliftPercent: computed(Type.String({ pattern: '^\\d{1,2}(\\.\\d{1,4})?$', description: 'Yearly uplift in percent, 0 to 99.9999' })), label: Reason },
        { additionalProperties: false },
      ),
    ),
  ],
  guardrails: [
    event(
      'guardrail.limit',
      Type.Object(
        {
          metric: Type.Optional(
            Type.Union([Type.Literal('discountPercent'), Type.Literal('marginPercent'), Type.Literal('netUnitPrice')], {
              description: 'Compared with min/max; without a metric, the rule firing is itself the breach',
            }),
          ),
          min: Type.Optional(computed(DecimalString)),
          max: Type.Optional(computed(DecimalString)),
          outcome: Type.Union([Type.Literal('needs_approval'), Type.Literal('blocked')]),
          reason: Reason,
        },
        { additionalProperties: false },
      ),
    ),
  ],
  approvals: [
    event(
      'approval.require',
      Type.Object(
        {
          role: Type.Union(APPROVER_ROLES.map((r) => Type.Literal(r))),
          level: Type.Integer({ minimum: 1, maximum: 10 }),
          mode: Type.Optional(
            Type.Union([Type.Literal('all'), Type.Literal('any')], { description: 'all: every step of the level must approve; any: one is enough' }),
          ),
          reason: Reason,
          upTo: Type.Optional(
            Type.Record(Type.String({ pattern: '^quote\\.[A-Za-z]+$' }), DecimalString, {
              description:
                'Authority ceiling per fact (e.g. quote.maxLineDiscountPercent: "20"): a revision keeps this approval while the fact, capped at the ceiling, is not worse than when approved',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  ],
  recommendations: [
    event(
      'recommend.add',
      Type.Object(
        {
          sku: Sku,
          quantity: Type.Optional(computed(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
          kind: Type.Union([Type.Literal('cross_sell'), Type.Literal('upsell')]),
          reason: Reason,
        },
        { additionalProperties: false },
      ),
    ),
  ],
  tax: [
    event(
      'tax.apply',
      Type.Object(
        {
          category: Type.Union(
            TAX_CATEGORIES.map((c) => Type.Literal(c)),
            {
              description:
                'EN 16931 VAT category (UNCL 5305): S standard, AE reverse charge, E exempt, G export outside the EU, O outside the scope of VAT, K intra-EU supply of goods, Z zero rated',
            },
          ),
          ratePercent: Type.String({ pattern: '^\\d{1,2}(\\.\\d{1,2})?$', description: 'VAT rate in percent, e.g. "20", "5.5"; "0" for every category but S' }),
          mention: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 300,
              description: 'The legal mention printed on the invoice (the exemption reason): required for every category but S',
            }),
          ),
          exemptionCode: Type.Optional(
            Type.String({ pattern: '^VATEX-[A-Z0-9-]{1,30}$', description: 'CEF VATEX code of the exemption reason, e.g. VATEX-EU-AE' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  ],
} as const satisfies Record<RuleSetName, readonly TSchema[]>

const AnyEvent = Type.Union([...EVENTS.configuration, ...EVENTS.pricing, ...EVENTS.guardrails, ...EVENTS.approvals, ...EVENTS.recommendations, ...EVENTS.tax])
/** Any event of the catalogue, as the domain code sees it after validation. */
export type RuleEvent = Static<typeof AnyEvent>
export type EventOf<T extends RuleEvent['type']> = Extract<RuleEvent, { type: T }>
/** The event types of one set's catalogue: what its stage must handle. */
export type EventTypeOf<S extends RuleSetName> = Static<(typeof EVENTS)[S][number]>['type']

export const EVENT_TYPES: Record<RuleSetName, string[]> = Object.fromEntries(
  Object.entries(EVENTS).map(([set, events]) => [set, events.map((e) => (e.properties.type as { const: string }).const)]),
) as Record<RuleSetName, string[]>

export function ruleSchema(set: RuleSetName) {
  return Type.Object(
    {
      id: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,99}$', description: 'Stable id, unique across all sets; cited in traces and decisions' }),
      description: Type.String({ minLength: 1, maxLength: 1000 }),
      owner: Type.String({ minLength: 1, maxLength: 200, description: 'Who answers for this rule (team or e-mail)' }),
      effective: Type.Object({ from: IsoDate, to: Type.Optional(Type.Union([IsoDate, Type.Null()])) }, { additionalProperties: false }),
      priority: Type.Integer({ minimum: 1, maximum: 1000, description: 'Higher runs first; pricing adjustments apply in this order' }),
      scope: Type.Union([Type.Literal('line'), Type.Literal('quote')], { description: 'line: evaluated once per cart line; quote: once per quote' }),
      conditions: TopCondition,
      // Widened for the compiler: each set accepts only its own events at validation time.
      event: Type.Union([...EVENTS[set]] as TSchema[]) as unknown as typeof AnyEvent,
    },
    { additionalProperties: false },
  )
}

export function ruleFileSchema(set: RuleSetName) {
  return Type.Object(
    {
      $schema: Type.Optional(Type.String()),
      rules: Type.Array(ruleSchema(set), { minItems: 1, maxItems: 1000 }),
    },
    { additionalProperties: false, $id: `rule-file.${set}` },
  )
}

export type RuleDefinition = Static<ReturnType<typeof ruleSchema>>
export type RuleFile = Static<ReturnType<typeof ruleFileSchema>>

import { Type } from '@sinclair/typebox'
import { compareText } from '../shared/hash.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { formatAmount } from '../money/money.js'
import { BundleSchema, IsoDate, PriceBookFileSchema, ProductSchema, Sku, TieringSchema } from './catalog.schema.js'
import { PageOf, limitParam } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import { PRICE_READERS } from '../principals/roles.js'
import type { RuleSetRegistry } from '../rules/rule-set.service.js'

const PRODUCTS_PAGE_LIMIT = 100

const ProductView = Type.Composite(
  [ProductSchema, Type.Object({ bundle: Type.Union([BundleSchema, Type.Null()], { description: 'The option groups when the product is sold as a bundle' }) })],
  { additionalProperties: false },
)
const Amount = Type.String({ description: 'Decimal amount in the book\'s currency, e.g. "39.00"' })
const PriceBookView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  currency: Type.String(),
  validFrom: IsoDate,
  validTo: Type.Union([IsoDate, Type.Null()]),
  priority: Type.Integer(),
  applicability: PriceBookFileSchema.properties.applicability,
  entries: Type.Array(
    Type.Object({
      sku: Sku,
      listPrice: Amount,
      tiering: Type.Optional(
        Type.Object({
          mode: TieringSchema.properties.mode,
          tiers: Type.Array(Type.Object({ upTo: Type.Union([Type.Integer(), Type.Null()]), unitPrice: Amount })),
        }),
      ),
    }),
  ),
})

export const catalogRoutes: FastifyPluginAsyncTypebox<{ ruleSets: RuleSetRegistry }> = async (app, { ruleSets }) => {
  app.get(
    '/v1/catalog/products',
    {
      config: { roles: PRICE_READERS },
      schema: {
        tags: ['catalog'],
        summary: 'Products of the serving catalog, by sku',
        querystring: Type.Object(
          {
            limit: limitParam(PRODUCTS_PAGE_LIMIT),
            starting_after: Type.Optional(Type.String({ maxLength: 64 })),
            family: Type.Optional(Type.String({ maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(ProductView), ...problemResponses(403, 503) },
      },
    },
    async (request) => {
      const { catalog } = ruleSets.get().priceBooks
      const { limit = PRODUCTS_PAGE_LIMIT, starting_after: after, family } = request.query
      const all = [...catalog.products.values()]
        .filter((p) => (!family || p.family === family) && (!after || p.sku > after))
        .sort((a, b) => compareText(a.sku, b.sku))
      const data = all.slice(0, limit).map((p) => ({ ...p, bundle: catalog.bundles.get(p.sku) ?? null }))
      return { data, hasMore: all.length > limit, nextCursor: all.length > limit ? data[data.length - 1]!.sku : null }
    },
  )

  app.get(
    '/v1/price-books',
    {
      config: { roles: PRICE_READERS },
      schema: {
        tags: ['catalog'],
        summary: 'Price books of the serving set, with their entries',
        response: { 200: Type.Object({ priceBookHash: Type.String(), data: Type.Array(PriceBookView) }), ...problemResponses(403, 503) },
      },
    },
    async () => {
      const { priceBooks, priceBookHash } = ruleSets.get()
      return {
        priceBookHash,
        data: priceBooks.books.map((b) => ({
          id: b.id,
          name: b.name,
          currency: b.currency,
          validFrom: b.validFrom,
          validTo: b.validTo,
          priority: b.priority,
          applicability: b.applicability,
          entries: [...b.entries.values()].map((e) => ({
            sku: e.sku,
            listPrice: formatAmount(e.listMinor, b.currency),
            ...(e.tiering
              ? { tiering: { mode: e.tiering.mode, tiers: e.tiering.tiers.map((t) => ({ upTo: t.upTo, unitPrice: formatAmount(t.unitMinor, b.currency) })) } }
              : {}),
          })),
        })),
      }
    },
  )
}

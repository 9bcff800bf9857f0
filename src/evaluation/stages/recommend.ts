import { moneyOf } from '../../money/money-value.js'
import type { RuleFacts } from '../../rules/rule-runner.js'
import type { LoadedRule } from '../../rules/rule.js'
import { notApplied, runRules, type Context } from '../context.js'
import { quantityParam } from '../event-params.js'
import { dispatch, type EventHandlers } from '../event-registry.js'
import type { PricedLine, Recommendation, TraceEntry } from '../evaluation.js'

/** Stage 5, recommend: cross-sell and upsell suggestions for skus the cart lacks and the book sells. */

interface RecommendArgs {
  ctx: Context
  rule: LoadedRule
  facts: RuleFacts
  entry: TraceEntry | undefined
  inCart: Set<string>
  /** By sku: the first (highest-priority) rule recommending a sku is the one shown. */
  out: Map<string, Recommendation>
}

const handlers: EventHandlers<'recommendations', [RecommendArgs]> = {
  'recommend.add': ({ params: p }, { ctx, rule, facts, entry, inCart, out }) => {
    if (inCart.has(p.sku)) return notApplied(entry, `${p.sku} is already in the cart`)
    if (out.has(p.sku)) return notApplied(entry, `${p.sku} is already recommended by ${out.get(p.sku)!.ruleId}`)
    const product = ctx.ruleSet.priceBooks.catalog.products.get(p.sku)
    const bookEntry = ctx.book.entries.get(p.sku)
    if (!product?.active || !bookEntry) return notApplied(entry, `${p.sku} is not sold in price book ${ctx.book.id}`)
    out.set(p.sku, {
      sku: p.sku,
      name: product.name,
      quantity: quantityParam(rule, 'quantity', p.quantity, facts),
      kind: p.kind,
      ruleId: rule.id,
      reason: p.reason,
      listUnitPrice: moneyOf(bookEntry.listMinor, ctx.cart.currency),
    })
  },
}

export async function recommend(ctx: Context, quote: Record<string, unknown>, lines: PricedLine[]): Promise<Recommendation[]> {
  const inCart = new Set(lines.map((l) => l.sku))
  const out = new Map<string, Recommendation>()
  const facts: RuleFacts = { quote, account: ctx.account }
  for (const o of await runRules(ctx, 'recommendations', 'quote', facts)) {
    if (o.fired) dispatch(handlers, o.rule, { ctx, rule: o.rule, facts, entry: o.entry, inCart, out })
  }
  return [...out.values()]
}

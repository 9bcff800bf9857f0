import { currencyExponent } from '../money/currency.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Cart } from './cart.schema.js'
import type { Context } from './context.js'
import { SNAPSHOT_VERSION, type Evaluation, type TraceLevel } from './evaluation.js'
import { pricedQuoteFacts, quoteFacts } from './facts.js'
import { resolveCart } from './resolve-cart.js'
import { routeApprovals } from './stages/approvals.js'
import { configure } from './stages/configure.js'
import { guard } from './stages/guard.js'
import { computeTotals, price } from './stages/price.js'
import { recommend } from './stages/recommend.js'

export { CartError } from './resolve-cart.js'

/**
 * Evaluates a cart: resolve → configure → price → guard → route approvals → recommend, one
 * stage per file in stages/, each with the handlers of its rule set's events.
 * Pure and deterministic: the result depends only on (rule set, price books, cart, trace
 * level) — no clock, no database — so any stored decision can be replayed to the cent.
 * Throws CartError for a cart that cannot be evaluated, RuleEvaluationError naming the rule
 * when a rule fails at run time.
 */
export async function evaluateQuote(ruleSet: RuleSet, cart: Cart, options: { trace: TraceLevel }): Promise<Evaluation> {
  const channel = cart.channel ?? 'direct'
  const configuration: Evaluation['configuration'] = { errors: [], warnings: [], added: [] }
  const { book, lines: cartLines } = resolveCart(ruleSet, cart, channel, configuration.errors)
  const ctx: Context = {
    ruleSet,
    cart,
    book,
    channel,
    trace: options.trace,
    traceEntries: [],
    account: {
      id: cart.account.id,
      segment: cart.account.segment,
      country: cart.account.country,
      vatId: cart.account.vatId ?? null,
      hasVatId: Boolean(cart.account.vatId),
      purchasedSkus: [...new Set((cart.account.purchaseHistory ?? []).map((h) => h.sku))].sort(),
    },
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

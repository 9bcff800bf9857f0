import { PERIOD_MONTHS } from '../../catalog/catalog.schema.js'
import { RuleEvaluationError, type RuleFacts } from '../../rules/rule-runner.js'
import type { LoadedRule } from '../../rules/rule.js'
import { notApplied, runRules, type Context, type WorkLine } from '../context.js'
import { quantityParam } from '../event-params.js'
import { dispatch, type EventHandlers } from '../event-registry.js'
import type { Evaluation, Issue, TraceEntry } from '../evaluation.js'
import { lineFacts, quoteFacts } from '../facts.js'
import { MILLI } from '../pricing.js'

/**
 * Stage 1, configure: configuration rules check the cart (invalid, warn), exclude skus and
 * require lines, which the stage adds when the cart lacks them; then catalog quantity bounds.
 */

/** A fired configuration rule, with the facts it saw and where. */
interface Fired {
  rule: LoadedRule
  facts: RuleFacts
  line?: number
  entry?: TraceEntry
}

interface Need {
  sku: string
  quantity: number
  termMonths: number | undefined
  rule: LoadedRule
  reason: string
  entries: Array<TraceEntry | undefined>
}

/** What the configuration events ask for, collected before the stage acts on them. */
interface Findings {
  errors: Issue[]
  warnings: Issue[]
  excludes: Array<{ rule: LoadedRule; skus: string[]; reason: string; at: { line?: number }; entry: TraceEntry | undefined }>
  /** By rule and sku: one rule firing on several lines adds up ("a mount per gateway" over two gateway lines). */
  requiredByRule: Map<string, Need>
}

const handlers: EventHandlers<'configuration', [Fired, Findings]> = {
  'config.invalid': ({ params }, { rule, line }, findings) =>
    void findings.errors.push({ code: 'CONFIGURATION_INVALID', message: params.message, ruleId: rule.id, ...(line === undefined ? {} : { line }) }),
  'config.warn': ({ params }, { rule, line }, findings) =>
    void findings.warnings.push({ code: 'CONFIGURATION_WARNING', message: params.message, ruleId: rule.id, ...(line === undefined ? {} : { line }) }),
  'config.exclude': ({ params }, { rule, line, entry }, findings) =>
    void findings.excludes.push({ rule, skus: params.skus, reason: params.reason, at: line === undefined ? {} : { line }, entry }),
  'config.require': ({ params }, { rule, facts, entry }, findings) => {
    const key = `${rule.id}|${params.sku}`
    const previous = findings.requiredByRule.get(key)
    findings.requiredByRule.set(key, {
      sku: params.sku,
      quantity: quantityParam(rule, 'quantity', params.quantity, facts) + (previous?.quantity ?? 0),
      termMonths: params.termMonths,
      rule,
      reason: params.reason,
      entries: [...(previous?.entries ?? []), entry],
    })
  },
}

export async function configure(ctx: Context, lines: WorkLine[], result: Evaluation['configuration']): Promise<WorkLine[]> {
  const quote = quoteFacts(ctx, lines)
  const fired: Fired[] = []
  for (const o of await runRules(ctx, 'configuration', 'quote', { quote, account: ctx.account })) {
    if (o.fired) fired.push({ rule: o.rule, facts: { quote, account: ctx.account }, ...(o.entry ? { entry: o.entry } : {}) })
  }
  for (const [i, line] of lines.entries()) {
    const facts = { line: lineFacts(line, i, lines, ctx.scale), quote, account: ctx.account }
    for (const o of await runRules(ctx, 'configuration', 'line', facts, i))
      if (o.fired) fired.push({ rule: o.rule, facts, line: i, ...(o.entry ? { entry: o.entry } : {}) })
  }
  const findings: Findings = { errors: result.errors, warnings: result.warnings, excludes: [], requiredByRule: new Map() }
  for (const f of fired) dispatch(handlers, f.rule, f, findings)

  const added = addRequired(ctx, lines, requiredLines(findings.requiredByRule), result)
  const all = [...lines, ...added]
  // Exclusions are checked after additions, so a required line cannot bring in an excluded sku unnoticed.
  const present = new Set(all.map((l) => l.product.sku))
  for (const { rule, skus, reason, at, entry } of findings.excludes) {
    const found = skus.filter((s) => present.has(s))
    if (found.length > 0) result.errors.push({ code: 'CONFIGURATION_EXCLUDED', message: `${reason} (${found.join(', ')})`, ruleId: rule.id, ...at })
    else notApplied(entry, 'none of the excluded skus is in the cart')
  }
  checkQuantityBounds(ctx, all, result.errors)
  return all
}

/** Different rules requiring one sku ask for the same thing: the largest demand wins, they do not add up. */
function requiredLines(requiredByRule: Map<string, Need>): Map<string, Need> {
  const required = new Map<string, Need>()
  for (const need of requiredByRule.values()) {
    const current = required.get(need.sku)
    if (!current || need.quantity > current.quantity) {
      if (current) for (const entry of current.entries) notApplied(entry, `${need.rule.id} requires more ${need.sku}`)
      required.set(need.sku, need)
    } else for (const entry of need.entries) notApplied(entry, `${current.rule.id} requires as many ${need.sku} or more`)
  }
  return required
}

/** The lines required rules add to a cart that has none of the sku; a cart with too few is a finding, not topped up. */
function addRequired(ctx: Context, lines: WorkLine[], required: Map<string, Need>, result: Evaluation['configuration']): WorkLine[] {
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
      startDate: ctx.cart.date,
      options: [],
      manualDiscount: null,
    })
    result.added.push({ sku, quantity: need.quantity, ruleId: need.rule.id, reason: need.reason })
  }
  return added
}

/** The catalog's minimum and maximum per sku, over every line of it (options and added lines included). */
function checkQuantityBounds(ctx: Context, lines: WorkLine[], errors: Issue[]): void {
  const totals = new Map<string, bigint>()
  for (const l of lines) totals.set(l.product.sku, (totals.get(l.product.sku) ?? 0n) + l.qtyMilli)
  for (const [sku, milli] of totals) {
    const p = ctx.ruleSet.priceBooks.catalog.products.get(sku)!
    const quantity = Number(milli) / 1000
    if (p.minQuantity && milli < BigInt(p.minQuantity) * MILLI)
      errors.push({ code: 'QUANTITY_BELOW_MINIMUM', message: `${sku}: at least ${p.minQuantity} ${p.unit} (cart has ${quantity})` })
    if (p.maxQuantity && milli > BigInt(p.maxQuantity) * MILLI)
      errors.push({ code: 'QUANTITY_ABOVE_MAXIMUM', message: `${sku}: at most ${p.maxQuantity} ${p.unit} (cart has ${quantity})` })
  }
}

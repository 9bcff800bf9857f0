import { PERIOD_MONTHS } from '../../catalog/catalog.schema.js'
import { currencyExponent } from '../../money/currency.js'
import { formatAmount } from '../../money/money.js'
import { moneyOf } from '../../money/money-value.js'
import { RuleEvaluationError, type RuleFacts } from '../../rules/rule-runner.js'
import type { LoadedRule } from '../../rules/rule.js'
import { compareText } from '../../shared/hash.js'
import { notApplied, runRules, type Context, type WorkLine } from '../context.js'
import { amountParam, decimalParam, literalTierPrice } from '../event-params.js'
import { dispatch, type EventHandlers } from '../event-registry.js'
import type { Adjustment, Issue, PricedLine, Suppressed, Totals } from '../evaluation.js'
import { lineFacts, quoteFacts } from '../facts.js'
import { clampAdjustment, extend, netUnitPrice, percentHundredths, percentOff, rampSchedule, tieredAmount } from '../pricing.js'
import type { Rate } from '../rate.js'

/**
 * Stage 2, price: each line from its list price through four phases — A. base price (a rule's
 * set or tiered price, else the book's tiers, else list), B. adjustments in priority order
 * (promotion codes, stacking groups, exclusive), C. the rep's manual discount, D. the term and
 * its ramp — then the totals over the contract.
 */

/** What a pricing event does to a line, by phase; the amount is computed only if the stage applies it. */
type PriceEffect =
  | { phase: 'base'; kind: 'set' | 'tier'; label: string; amount(): bigint }
  | {
      phase: 'adjust'
      label: string
      promoCode: string | undefined
      group: string | undefined
      exclusive: boolean
      /** Whether a quote-scope rule adjusts this line. */
      appliesTo(line: WorkLine): boolean
      adjust(running: bigint): { percent: string | undefined; amountMinor: bigint }
    }
  | { phase: 'term'; upliftPercent(): Rate }

type AdjustEffect = Extract<PriceEffect, { phase: 'adjust' }>

/** The line a pricing rule fired for, with the facts it saw. */
interface LineArgs {
  rule: LoadedRule
  facts: RuleFacts
  line: WorkLine
  currency: string
}

const handlers: EventHandlers<'pricing', [LineArgs], PriceEffect> = {
  'price.set': ({ params }, { rule, facts, line, currency }) => ({
    phase: 'base',
    kind: 'set',
    label: params.label,
    amount: () => {
      const unit = amountParam(rule, 'unitPrice', params.unitPrice, facts, currency)
      if (unit < 0n) throw new RuleEvaluationError(rule.id, `event param unitPrice is negative (${formatAmount(unit, currency)})`)
      return extend(unit, line.qtyMilli)
    },
  }),
  'price.tiered': ({ params }, { rule, line, currency }) => ({
    phase: 'base',
    kind: 'tier',
    label: params.label,
    amount: () => {
      const tiers = params.tiers.map((t) => ({ upTo: t.upTo, unitMinor: literalTierPrice(rule, t.unitPrice, currency) }))
      return tieredAmount({ mode: params.mode, tiers }, line.qtyMilli).amountMinor
    },
  }),
  'price.adjust': ({ params }, { rule, facts, line, currency }) => ({
    phase: 'adjust',
    label: params.label,
    promoCode: params.promoCode,
    group: params.group,
    exclusive: params.exclusive === true,
    appliesTo: ({ product: { sku, family, category } }) => {
      const target = params.appliesTo
      return !target || Boolean(target.skus?.includes(sku) || target.families?.includes(family) || target.categories?.includes(category))
    },
    adjust: (running) => {
      if (params.percent !== undefined) {
        const pct = decimalParam(rule, 'percent', params.percent, facts)
        if (pct.num > 100n * pct.den || pct.num < -1000n * pct.den)
          throw new RuleEvaluationError(rule.id, `event param percent ${pct.text} is outside -1000..100`)
        return { percent: pct.text, amountMinor: percentOff(running, pct) }
      }
      const amount = amountParam(rule, 'amount', params.amount, facts, currency)
      return { percent: undefined, amountMinor: clampAdjustment(running, -(params.per === 'line' ? amount : extend(amount, line.qtyMilli))) }
    },
  }),
  'price.ramp': ({ params }, { rule, facts }) => ({
    phase: 'term',
    upliftPercent: () => {
      const uplift = decimalParam(rule, 'upliftPercent', params.upliftPercent, facts)
      if (uplift.num < 0n || uplift.num >= 100n * uplift.den)
        throw new RuleEvaluationError(rule.id, `event param upliftPercent ${uplift.text} is outside 0..100`)
      return uplift
    },
  }),
}

export async function price(ctx: Context, lines: WorkLine[], warnings: Issue[]): Promise<PricedLine[]> {
  const currency = ctx.cart.currency
  const quote = quoteFacts(ctx, lines)
  const quoteOutcomes = (await runRules(ctx, 'pricing', 'quote', { quote, account: ctx.account })).filter((o) => o.fired)
  // A quote rule adjusts lines: it applied if it adjusted at least one; otherwise the trace says why not.
  const quoteApplied = new Set<string>()
  const quoteNotApplied = new Map<string, string>()
  const promoCodes = new Set(ctx.cart.promoCodes ?? [])
  const promoApplied = new Set<string>()
  const priced: PricedLine[] = []
  const exponent = currencyExponent(currency)
  const money = (minor: bigint) => moneyOf(minor, currency)

  for (const [i, line] of lines.entries()) {
    const facts: RuleFacts = { line: lineFacts(line, i, lines, ctx.scale), quote, account: ctx.account }
    const lineOutcomes = (await runRules(ctx, 'pricing', 'line', facts, i)).filter((o) => o.fired)
    const effectOf = (rule: LoadedRule) => ({ rule, effect: dispatch(handlers, rule, { rule, facts, line, currency }) })
    const lineEffects = lineOutcomes.map((o) => effectOf(o.rule))
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

    // A. Base price: the highest-priority base rule, else the book's tiers, else list.
    const baseRules = lineEffects.filter((r) => r.effect.phase === 'base')
    const base = baseRules[0]
    for (const other of baseRules.slice(1)) suppress(other.rule, `base price already set by ${base!.rule.id} (higher priority)`)
    if (base?.effect.phase === 'base') {
      const amount = base.effect.amount()
      adjustments.push({ ruleId: base.rule.id, kind: base.effect.kind, label: base.effect.label, amount: money(amount - running) })
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
    const isAdjustment = (r: { rule: LoadedRule; effect: PriceEffect }): r is { rule: LoadedRule; effect: AdjustEffect } => r.effect.phase === 'adjust'
    let candidates = [
      ...lineEffects.filter(isAdjustment),
      ...quoteOutcomes
        .map((o) => effectOf(o.rule))
        .filter(isAdjustment)
        .filter((r) => r.effect.appliesTo(line)),
    ]
    candidates.sort((a, b) => b.rule.priority - a.rule.priority || compareText(a.rule.id, b.rule.id))
    candidates = candidates.filter(({ rule, effect }) => {
      if (effect.promoCode && !promoCodes.has(effect.promoCode)) {
        suppress(rule, `promotion code ${effect.promoCode} not entered`)
        return false
      }
      return true
    })
    const exclusive = candidates.find((r) => r.effect.exclusive)
    if (exclusive) {
      for (const r of candidates) if (r !== exclusive) suppress(r.rule, `exclusive adjustment ${exclusive.rule.id} applies alone`)
      candidates = [exclusive]
    }
    const groups = new Map<string, string>()
    for (const { rule, effect } of candidates) {
      if (effect.group) {
        const holder = groups.get(effect.group)
        if (holder) {
          suppress(rule, `stacking group ${effect.group} already used by ${holder}`)
          continue
        }
        groups.set(effect.group, rule.id)
      }
      const { percent, amountMinor } = effect.adjust(running)
      if (effect.promoCode) promoApplied.add(effect.promoCode)
      if (rule.scope === 'quote') quoteApplied.add(rule.id)
      const adjustment: Adjustment = { ruleId: rule.id, kind: percent === undefined ? 'amount' : 'percent', label: effect.label, amount: money(amountMinor) }
      if (percent !== undefined) adjustment.percent = percent
      if (effect.promoCode) adjustment.promoCode = effect.promoCode
      if (effect.group) adjustment.group = effect.group
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
    const term = lineEffects.find((r) => r.effect.phase === 'term')
    let ramp: PricedLine['ramp'] = null
    let contractAmount = running * BigInt(periods)
    if (recurring) {
      const uplift = term?.effect.phase === 'term' && line.termMonths! > 12 ? term.effect.upliftPercent() : null
      if (term && !uplift) suppress(term.rule, 'a ramp needs a term over 12 months')
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

/**
 * Totals over the contract. Margin counts only the lines whose cost is known (a line without
 * cost is not free to make), and says which share of the net amount it covers.
 */
export function computeTotals(lines: PricedLine[], currency: string): Totals {
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

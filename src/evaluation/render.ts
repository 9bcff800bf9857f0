import { formatAmount, formatScaled } from '../money/money.js'
import type { Evaluation, PricedLine, TraceLevel } from './evaluation.js'
import { formatPercent } from './pricing.js'

/** A percentage (hundredths, rounded once by the evaluation) as shown: "10.00", or null. */
function percent(hundredths: bigint | null): string | null {
  return hundredths === null ? null : formatPercent(hundredths)
}

function renderLine(l: PricedLine, currency: string) {
  const money = (minor: bigint) => formatAmount(minor, currency)
  return {
    index: l.index,
    sku: l.sku,
    name: l.name,
    family: l.family,
    category: l.category,
    type: l.type,
    unit: l.unit,
    billingPeriod: l.billingPeriod,
    source: l.source,
    cartIndex: l.cartIndex,
    parentIndex: l.parentIndex,
    addedBy: l.addedBy,
    quantity: l.quantity,
    termMonths: l.termMonths,
    startDate: l.startDate,
    periods: l.periods,
    listUnitPrice: money(l.listUnitMinor),
    listAmount: money(l.listAmountMinor),
    baseAmount: money(l.baseAmountMinor),
    adjustments: l.adjustments.map((a) => ({
      ruleId: a.ruleId, kind: a.kind, label: a.label, amount: money(a.amountMinor),
      ...(a.percent !== undefined ? { percent: a.percent } : {}), ...(a.promoCode ? { promoCode: a.promoCode } : {}), ...(a.group ? { group: a.group } : {}),
    })),
    suppressed: l.suppressed,
    netUnitPrice: formatScaled(l.netUnitPrice.units, l.netUnitPrice.decimals),
    netAmount: money(l.netAmountMinor),
    contractAmount: money(l.contractAmountMinor),
    ramp: l.ramp?.map((y) => ({ year: y.year, periods: y.periods, amountPerPeriod: money(y.amountPerPeriodMinor), amount: money(y.amountMinor) })) ?? null,
    cost: l.costAmountMinor === null ? null : money(l.costAmountMinor),
    discountPercent: percent(l.discountHundredths),
    marginPercent: percent(l.marginHundredths),
    guardrail: l.guardrail,
  }
}

/**
 * The API form of an evaluation: amounts as decimal strings in the cart's currency,
 * percentages with two decimals, the trace at the requested level.
 */
export function renderEvaluation(e: Evaluation, trace: TraceLevel) {
  const money = (minor: bigint) => formatAmount(minor, e.currency)
  const t = e.totals
  return {
    ruleSetHash: e.ruleSetHash,
    priceBookHash: e.priceBookHash,
    priceBook: e.priceBook,
    currency: e.currency,
    date: e.date,
    channel: e.channel,
    valid: e.valid,
    configuration: e.configuration,
    lines: e.lines.map((l) => renderLine(l, e.currency)),
    totals: {
      list: money(t.listMinor),
      standard: money(t.standardMinor),
      discount: money(t.discountMinor),
      rampUplift: money(t.rampUpliftMinor),
      net: money(t.netMinor),
      oneTime: money(t.oneTimeMinor),
      annualRecurring: money(t.annualRecurringMinor),
      cost: t.costMinor === null ? null : money(t.costMinor),
      discountPercent: percent(t.discountHundredths),
      marginPercent: percent(t.marginHundredths),
      costCoveragePercent: percent(t.costCoverageHundredths),
    },
    guardrails: e.guardrails,
    approvals: e.approvals,
    recommendations: e.recommendations.map(({ listUnitMinor, ...r }) => ({ ...r, listUnitPrice: money(listUnitMinor) })),
    ...(trace === 'none' ? {} : { trace: e.trace }),
  }
}

export type RenderedEvaluation = ReturnType<typeof renderEvaluation>

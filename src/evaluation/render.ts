import { formatScaled } from '../money/money.js'
import { formatMoney as money, type Money } from '../money/money-value.js'
import type { Evaluation, PricedLine, TraceLevel } from './evaluation.js'
import { formatPercent } from './pricing.js'

/**
 * The edge: an evaluation snapshot as API (and CLI) JSON — amounts as decimal strings in the
 * cart's currency, percentages with two decimals, the trace at the requested level. Nothing
 * reads these strings back: stored data is the snapshot itself.
 */

/** A percentage (hundredths, rounded once by the evaluation) as shown: "10.00", or null. */
function percent(hundredths: bigint | null): string | null {
  return hundredths === null ? null : formatPercent(hundredths)
}

const optionalMoney = (m: Money | null) => (m === null ? null : money(m))

function renderLine(l: PricedLine) {
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
    listUnitPrice: money(l.listUnitPrice),
    listAmount: money(l.listAmount),
    baseAmount: money(l.baseAmount),
    adjustments: l.adjustments.map((a) => ({
      ruleId: a.ruleId,
      kind: a.kind,
      label: a.label,
      amount: money(a.amount),
      ...(a.percent !== undefined ? { percent: a.percent } : {}),
      ...(a.promoCode ? { promoCode: a.promoCode } : {}),
      ...(a.group ? { group: a.group } : {}),
    })),
    suppressed: l.suppressed,
    netUnitPrice: formatScaled(l.netUnitPrice.units, l.netUnitPrice.decimals),
    netAmount: money(l.netAmount),
    contractAmount: money(l.contractAmount),
    ramp: l.ramp?.map((y) => ({ year: y.year, periods: y.periods, amountPerPeriod: money(y.amountPerPeriod), amount: money(y.amount) })) ?? null,
    cost: optionalMoney(l.cost),
    discountPercent: percent(l.discountHundredths),
    marginPercent: percent(l.marginHundredths),
    guardrail: l.guardrail,
  }
}

/** The API form of an evaluation snapshot at a trace level (`none` leaves the trace out). */
export function renderEvaluation(e: Evaluation, trace: TraceLevel) {
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
    lines: e.lines.map(renderLine),
    totals: {
      list: money(t.list),
      standard: money(t.standard),
      discount: money(t.discount),
      rampUplift: money(t.rampUplift),
      net: money(t.net),
      oneTime: money(t.oneTime),
      annualRecurring: money(t.annualRecurring),
      cost: optionalMoney(t.cost),
      discountPercent: percent(t.discountHundredths),
      marginPercent: percent(t.marginHundredths),
      costCoveragePercent: percent(t.costCoverageHundredths),
    },
    guardrails: e.guardrails,
    // Bound facts are internal to approvals: the API shows each step's role, level, mode, reasons and ceilings.
    approvals: { required: e.approvals.required, steps: e.approvals.steps.map(({ facts: _, ...step }) => step) },
    recommendations: e.recommendations.map((r) => ({ ...r, listUnitPrice: money(r.listUnitPrice) })),
    ...(trace === 'none' ? {} : { trace: e.trace }),
  }
}

export type RenderedEvaluation = ReturnType<typeof renderEvaluation>

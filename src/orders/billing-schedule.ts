import { Temporal } from 'temporal-polyfill'
import { assert } from '../errors.js'
import { moneyOf, type Money } from '../money/money-value.js'
import { roundDiv } from '../money/money.js'
import type { BillingAlignment, OrderLine } from './order.js'

/**
 * The billing schedule of an order line: what will be invoiced, when, for which period. It is
 * derived once, when the order is created, from the line as signed, and stored; invoice runs
 * bill from it. Every line's items sum exactly to its contract amount.
 */

/** When a one-time product is invoiced: once ordered, or as it is fulfilled (shipped goods, delivered days). */
export type OneTimeBilling = 'order' | 'fulfilment'

/**
 * What triggers an item: the order itself (one-time, on order), the line's fulfilment (one-time,
 * as shipped or delivered: invoiced in proportion to the quantity fulfilled), or a recurring
 * period (invoiced in advance, on the period's first day).
 */
export type ScheduleTrigger = 'order' | 'fulfilment' | 'period'

export interface ScheduleItem {
  lineNo: number
  /** 1-based within the line, in billing order. */
  seq: number
  trigger: ScheduleTrigger
  /** The service period billed (recurring items), inclusive; null otherwise. */
  periodStart: string | null
  periodEnd: string | null
  /** The day the item falls due for invoicing; null for fulfilment items (due as fulfilled). */
  billOn: string | null
  /** The contract year whose price applies (recurring items), 1-based. */
  contractYear: number | null
  /** Whether the item is a part period charged by days (calendar alignment's first period). */
  prorated: boolean
  amount: Money
}

const PERIOD_MONTHS = { month: 1, quarter: 3, year: 12 } as const

const plain = (day: string) => Temporal.PlainDate.from(day)
const iso = (date: Temporal.PlainDate) => date.toString()

/** The start of the `k`-th period of `months` months from `start`: always counted from the start, so 31 January gives 28 February, then 31 March. */
function nth(start: Temporal.PlainDate, months: number, k: number): Temporal.PlainDate {
  return start.add({ months: months * k })
}

/** The per-period price in contract year `year` (1-based), from the line's ramp or its flat net amount. */
function pricePerPeriod(line: OrderLine, year: number): bigint {
  if (!line.ramp) return line.netAmount.minor
  const ramp = line.ramp.find((y) => y.year === year) ?? line.ramp[line.ramp.length - 1]!
  return ramp.amountPerPeriod.minor
}

/** The contract year (1-based) a day falls in, counted in months from the service start. */
function contractYear(start: Temporal.PlainDate, day: Temporal.PlainDate): number {
  const months = start.until(day, { largestUnit: 'months' }).months
  return Math.floor(months / 12) + 1
}

interface Period {
  start: Temporal.PlainDate
  /** Exclusive. */
  end: Temporal.PlainDate
  year: number
  prorated: boolean
}

/** Anniversary periods: `periods` of `months` months each from the service start. */
function anniversaryPeriods(start: Temporal.PlainDate, months: number, periods: number): Period[] {
  return Array.from({ length: periods }, (_, k) => ({
    start: nth(start, months, k),
    end: nth(start, months, k + 1),
    year: Math.floor((k * months) / 12) + 1,
    prorated: false,
  }))
}

/**
 * Calendar periods: from the service start to the end of its month (prorated), then periods
 * of `months` months from the 1st of the next month, the last one ending with the term.
 */
function calendarPeriods(start: Temporal.PlainDate, months: number, termEnd: Temporal.PlainDate): Period[] {
  if (start.day === 1) return anniversaryPeriods(start, months, start.until(termEnd, { largestUnit: 'months' }).months / months)
  const firstOfNext = start.with({ day: 1 }).add({ months: 1 })
  const periods: Period[] = [{ start, end: firstOfNext, year: 1, prorated: true }]
  for (let k = 0; Temporal.PlainDate.compare(nth(firstOfNext, months, k), termEnd) < 0; k++) {
    const from = nth(firstOfNext, months, k)
    const to = nth(firstOfNext, months, k + 1)
    periods.push({ start: from, end: Temporal.PlainDate.compare(to, termEnd) > 0 ? termEnd : to, year: contractYear(start, from), prorated: false })
  }
  return periods
}

/**
 * The items of a recurring line, billed in advance per period over its term. Anniversary: each
 * period at its contract year's price, exactly the signed amounts. Calendar: the first period
 * (service start to the end of its month) is charged by days — the period price × its days ÷
 * the days of the whole period it opens (the `months` months from the 1st of the start's
 * month), rounded half-even — and each later period at the price of the contract year it
 * starts in; the last one takes what remains of the contract amount, so the schedule sums
 * exactly to it.
 */
function recurringItems(line: OrderLine, alignment: BillingAlignment): ScheduleItem[] {
  assert(line.billingPeriod && line.termMonths, `recurring line ${line.lineNo} has a billing period and a term`)
  const months = PERIOD_MONTHS[line.billingPeriod]
  const start = plain(line.startDate)
  const termEnd = start.add({ months: line.termMonths })
  const periods = alignment === 'calendar' ? calendarPeriods(start, months, termEnd) : anniversaryPeriods(start, months, line.periods)
  const amounts = periods.map((p) => {
    const price = pricePerPeriod(line, p.year)
    if (!p.prorated) return price
    const opened = p.start.with({ day: 1 })
    const days = BigInt(p.start.until(p.end, { largestUnit: 'days' }).days)
    const whole = BigInt(opened.until(opened.add({ months }), { largestUnit: 'days' }).days)
    return roundDiv(price * days, whole, 'half_even')
  })
  if (alignment === 'calendar' && periods.length > 1) {
    const others = amounts.slice(0, -1).reduce((sum, a) => sum + a, 0n)
    amounts[amounts.length - 1] = line.contractAmount.minor - others
  }
  const items = periods.map((p, i) => ({
    lineNo: line.lineNo,
    seq: i + 1,
    trigger: 'period' as const,
    periodStart: iso(p.start),
    periodEnd: iso(p.end.subtract({ days: 1 })),
    billOn: iso(p.start),
    contractYear: p.year,
    prorated: p.prorated,
    amount: moneyOf(amounts[i]!, line.contractAmount.currency),
  }))
  const total = items.reduce((sum, item) => sum + item.amount.minor, 0n)
  assert(total === line.contractAmount.minor, `line ${line.lineNo}: the schedule sums to ${total}, its contract amount is ${line.contractAmount.minor}`)
  assert(
    items.every((item) => item.amount.minor >= 0n),
    `line ${line.lineNo}: no item of the schedule is negative`,
  )
  return items
}

/**
 * The schedule of one order line. One-time lines: a single item, on the order day or as the
 * line is fulfilled (per product). Recurring lines: one item per period. Usage lines have no
 * schedule (they are billed from rated usage), nor lines of no amount (a bundle's price sits
 * on its components).
 */
export function lineSchedule(line: OrderLine, options: { orderedOn: string; alignment: BillingAlignment; oneTime: OneTimeBilling }): ScheduleItem[] {
  if (line.contractAmount.minor === 0n || line.productType === 'usage') return []
  if (line.productType === 'recurring') return recurringItems(line, options.alignment)
  const onOrder = options.oneTime === 'order'
  return [
    {
      lineNo: line.lineNo,
      seq: 1,
      trigger: onOrder ? 'order' : 'fulfilment',
      periodStart: null,
      periodEnd: null,
      billOn: onOrder ? options.orderedOn : null,
      contractYear: null,
      prorated: false,
      amount: line.contractAmount,
    },
  ]
}

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

/** When a one-time product is invoiced: once ordered, as it is fulfilled (shipped goods, delivered days), or in parts at its milestones. */
export type OneTimeBilling = 'order' | 'fulfilment' | 'milestones'

/** A milestone of a product billed on milestones (the catalog's), its share of the line in percent ("30"). */
export interface Milestone {
  id: string
  name: string
  percent: string
}

/**
 * What triggers an item: the order itself (one-time, on order), the line's fulfilment (one-time,
 * as shipped or delivered: invoiced in proportion to the quantity fulfilled), a recurring
 * period (invoiced in advance, on the period's first day), or a milestone (its share, invoiced
 * once the order records it reached).
 */
export type ScheduleTrigger = 'order' | 'fulfilment' | 'period' | 'milestone'

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
  /** Whether the item is a part period (calendar alignment's first and last, or cut at a ramp anniversary). */
  prorated: boolean
  amount: Money
  /** The milestone a milestone item bills; null otherwise. */
  milestone: Milestone | null
}

const PERIOD_MONTHS = { month: 1, quarter: 3, year: 12 } as const

const plain = (day: string) => Temporal.PlainDate.from(day)
const iso = (date: Temporal.PlainDate) => date.toString()

/** The start of the `k`-th period of `months` months from `start`: always counted from the start, so 31 January gives 28 February, then 31 March. */
function nth(start: Temporal.PlainDate, months: number, k: number): Temporal.PlainDate {
  return start.add({ months: months * k })
}

interface PriceSpan {
  /** Inclusive. */
  start: Temporal.PlainDate
  /** Exclusive. */
  end: Temporal.PlainDate
  year: number
  /** The price of a whole period within the span. */
  perPeriod: bigint
  /** What the span bills in all: its ramp year's amount, or the whole contract amount. */
  amount: bigint
}

/**
 * The stretches of the term at one price: each ramp year from its anniversary, or the whole
 * term for a line without a ramp. Each span's items sum exactly to its amount.
 */
function priceSpans(line: OrderLine, start: Temporal.PlainDate, termEnd: Temporal.PlainDate): PriceSpan[] {
  if (!line.ramp) return [{ start, end: termEnd, year: 1, perPeriod: line.netAmount.minor, amount: line.contractAmount.minor }]
  return line.ramp.map((y) => {
    const to = start.add({ months: 12 * y.year })
    return {
      start: start.add({ months: 12 * (y.year - 1) }),
      end: Temporal.PlainDate.compare(to, termEnd) > 0 ? termEnd : to,
      year: y.year,
      perPeriod: y.amountPerPeriod.minor,
      amount: y.amount.minor,
    }
  })
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
  /** The days of the whole period this one is (part of): what a part is prorated over. */
  wholeDays: number
}

const days = (from: Temporal.PlainDate, to: Temporal.PlainDate) => from.until(to, { largestUnit: 'days' }).days
const earlier = (a: Temporal.PlainDate, b: Temporal.PlainDate) => (Temporal.PlainDate.compare(a, b) < 0 ? a : b)
const later = (a: Temporal.PlainDate, b: Temporal.PlainDate) => (Temporal.PlainDate.compare(a, b) > 0 ? a : b)

/** Anniversary periods: `months` months each from the service start, the last one ending with the term. */
function anniversaryPeriods(start: Temporal.PlainDate, months: number, termEnd: Temporal.PlainDate): Period[] {
  const periods: Period[] = []
  for (let k = 0; Temporal.PlainDate.compare(nth(start, months, k), termEnd) < 0; k++) {
    const from = nth(start, months, k)
    const to = nth(start, months, k + 1)
    periods.push({ start: from, end: earlier(to, termEnd), wholeDays: days(from, to) })
  }
  return periods
}

/**
 * Calendar periods: from the service start to the end of its month (part of the period that
 * would have begun on the 1st of that month), then periods of `months` months from the 1st of
 * the next month, the last one ending with the term.
 */
function calendarPeriods(start: Temporal.PlainDate, months: number, termEnd: Temporal.PlainDate): Period[] {
  if (start.day === 1) return anniversaryPeriods(start, months, termEnd)
  const opened = start.with({ day: 1 })
  const firstOfNext = opened.add({ months: 1 })
  return [{ start, end: firstOfNext, wholeDays: days(opened, opened.add({ months })) }, ...anniversaryPeriods(firstOfNext, months, termEnd)]
}

/**
 * The items of a recurring line, billed in advance per period over its term. A period is cut
 * where the price changes (a ramp year's anniversary), so every item has one contract year
 * and one price. A whole period is charged its year's price; a part period (the first one of
 * a calendar-aligned line, a period cut at an anniversary) is charged by days — the price ×
 * its days ÷ the days of the whole period, rounded half-even — except that the last item of
 * each price span takes what remains of the span's amount. So each ramp year bills exactly its
 * signed amount, and the line its contract amount. Anniversary periods never cut (periods of
 * 1, 3 or 12 months tile a year), and bill exactly the signed per-period amounts.
 */
function recurringItems(line: OrderLine, alignment: BillingAlignment): ScheduleItem[] {
  assert(line.billingPeriod && line.termMonths, `recurring line ${line.lineNo} has a billing period and a term`)
  const months = PERIOD_MONTHS[line.billingPeriod]
  const start = plain(line.startDate)
  const termEnd = start.add({ months: line.termMonths })
  const periods = alignment === 'calendar' ? calendarPeriods(start, months, termEnd) : anniversaryPeriods(start, months, termEnd)
  const items: ScheduleItem[] = []
  for (const span of priceSpans(line, start, termEnd)) {
    let billed = 0n
    const inSpan = periods.filter((p) => Temporal.PlainDate.compare(p.start, span.end) < 0 && Temporal.PlainDate.compare(p.end, span.start) > 0)
    inSpan.forEach((period, i) => {
      const from = later(period.start, span.start)
      const to = earlier(period.end, span.end)
      const part = days(from, to)
      const whole = part === period.wholeDays
      const amount =
        i === inSpan.length - 1 ? span.amount - billed : whole ? span.perPeriod : roundDiv(span.perPeriod * BigInt(part), BigInt(period.wholeDays), 'half_even')
      billed += amount
      items.push({
        lineNo: line.lineNo,
        seq: items.length + 1,
        trigger: 'period',
        periodStart: iso(from),
        periodEnd: iso(to.subtract({ days: 1 })),
        billOn: iso(from),
        contractYear: line.ramp ? span.year : contractYear(start, from),
        prorated: !whole,
        milestone: null,
        amount: moneyOf(amount, line.contractAmount.currency),
      })
    })
  }
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
export function lineSchedule(
  line: OrderLine,
  options: { orderedOn: string; alignment: BillingAlignment; oneTime: OneTimeBilling; milestones?: readonly Milestone[] },
): ScheduleItem[] {
  if (line.contractAmount.minor === 0n || line.productType === 'usage') return []
  if (line.productType === 'recurring') return recurringItems(line, options.alignment)
  if (options.oneTime === 'milestones') {
    assert(options.milestones && options.milestones.length > 0, `line ${line.lineNo} billed on milestones lists them`)
    return milestoneItems(line, options.milestones)
  }
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
      milestone: null,
    },
  ]
}

/** Hundredths of a percent of a share: "30" → 3000, "33.33" → 3333. */
function shareHundredths(percent: string): bigint {
  const [whole, fraction = ''] = percent.split('.')
  return BigInt(whole!) * 100n + BigInt(fraction.padEnd(2, '0'))
}

/**
 * One item per milestone, in the catalog's order: its share of the contract amount rounded
 * down to the minor unit, the last milestone taking what is left — so the items sum to the
 * contract amount exactly, and the rounding always falls on the same item.
 */
function milestoneItems(line: OrderLine, milestones: readonly Milestone[]): ScheduleItem[] {
  let left = line.contractAmount.minor
  return milestones.map((milestone, i) => {
    const last = i === milestones.length - 1
    const amount = last ? left : roundDiv(line.contractAmount.minor * shareHundredths(milestone.percent), 10_000n, 'floor')
    left -= amount
    return {
      lineNo: line.lineNo,
      seq: i + 1,
      trigger: 'milestone' as const,
      periodStart: null,
      periodEnd: null,
      billOn: null,
      contractYear: null,
      prorated: false,
      amount: moneyOf(amount, line.contractAmount.currency),
      milestone: { id: milestone.id, name: milestone.name, percent: milestone.percent },
    }
  })
}

/**
 * The most items a quote's billing schedules may hold in all. The schedule is written in the
 * signing transaction, so a quote that would need more is refused when it is stored, not when
 * the buyer signs: 10,000 monthly lines over 10 years would otherwise be 1.2 million rows.
 */
export const MAX_SCHEDULE_ITEMS = 100_000

/**
 * An upper bound of the schedule items of a priced line, whatever the account's alignment:
 * its periods, plus a calendar-aligned first part period and one cut per ramp anniversary.
 */
export function scheduleItemsBound(line: { type: string; periods: number; ramp: readonly unknown[] | null }): number {
  if (line.type === 'usage') return 0
  if (line.type !== 'recurring') return 1
  return line.periods + 1 + (line.ramp ? line.ramp.length - 1 : 0)
}

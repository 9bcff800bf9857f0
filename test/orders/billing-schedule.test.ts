import t from 'tap'
import fc from 'fast-check'
import { lineSchedule } from '../../src/orders/billing-schedule.js'
import type { BillingAlignment, OrderLine } from '../../src/orders/order.js'
import { moneyOf } from '../../src/money/money-value.js'

const EUR = (minor: bigint) => moneyOf(minor, 'EUR')
const MONTHS = { month: 1, quarter: 3, year: 12 } as const

/** A recurring line as the pricing engine makes them: term a multiple of the period, contract = Σ ramp years. */
function recurring(perPeriod: bigint, billingPeriod: 'month' | 'quarter' | 'year', termMonths: number, startDate: string, uplift = 0n): OrderLine {
  const periodMonths = MONTHS[billingPeriod]
  const years = []
  let amount = perPeriod
  for (let start = 0, year = 1; start < termMonths; start += 12, year++) {
    if (year > 1) amount += (amount * uplift) / 100n
    const periods = Math.ceil(Math.min(12, termMonths - start) / periodMonths)
    years.push({ year, periods, amountPerPeriod: EUR(amount), amount: EUR(amount * BigInt(periods)) })
  }
  return {
    lineNo: 0,
    parentLineNo: null,
    sku: 'PLAT-PRO-SEAT',
    name: 'Seats',
    productType: 'recurring',
    fulfilment: 'activation',
    taxCategory: 'saas',
    revenueTreatment: 'ratable',
    unit: 'seat',
    billingPeriod,
    qtyMilli: 20_000n,
    termMonths,
    startDate,
    periods: termMonths / periodMonths,
    listUnitPrice: EUR(5000n),
    netAmount: EUR(perPeriod),
    contractAmount: EUR(years.reduce((s, y) => s + y.amount.minor, 0n)),
    discountHundredths: 0n,
    ramp: uplift ? years : null,
    fulfilled: { shipped: 0n, delivered: 0n, activated: 0n },
  }
}

const options = (alignment: BillingAlignment) => ({ orderedOn: '2026-12-01', alignment, oneTime: 'fulfilment' as const })
const view = (items: ReturnType<typeof lineSchedule>) => items.map((i) => [i.periodStart, i.periodEnd, i.amount.minor, i.contractYear, i.prorated])

t.test('anniversary: a period a month from the service start, month ends kept (31 January → 28 February → 31 March)', async (t) => {
  const items = lineSchedule(recurring(100_00n, 'month', 4, '2027-01-31'), options('anniversary'))
  t.same(view(items), [
    ['2027-01-31', '2027-02-27', 100_00n, 1, false],
    ['2027-02-28', '2027-03-30', 100_00n, 1, false],
    ['2027-03-31', '2027-04-29', 100_00n, 1, false],
    ['2027-04-30', '2027-05-30', 100_00n, 1, false],
  ])
  t.same(
    items.map((i) => [i.trigger, i.billOn]),
    items.map((i) => ['period', i.periodStart]),
    'billed in advance, on the first day of each period',
  )
})

t.test('anniversary over 29 February: a leap day start bills on the last day of February in other years', async (t) => {
  const items = lineSchedule(recurring(1200_00n, 'year', 36, '2028-02-29'), options('anniversary'))
  t.same(
    items.map((i) => [i.periodStart, i.periodEnd]),
    [
      ['2028-02-29', '2029-02-27'],
      ['2029-02-28', '2030-02-27'],
      ['2030-02-28', '2031-02-27'],
    ],
  )
})

t.test('ramp years at their own prices', async (t) => {
  const line = recurring(1000_00n, 'quarter', 24, '2027-01-01', 5n)
  const items = lineSchedule(line, options('anniversary'))
  t.same(
    items.map((i) => [i.contractYear, i.amount.minor]),
    [
      [1, 1000_00n],
      [1, 1000_00n],
      [1, 1000_00n],
      [1, 1000_00n],
      [2, 1050_00n],
      [2, 1050_00n],
      [2, 1050_00n],
      [2, 1050_00n],
    ],
  )
})

t.test('calendar: the worked example of docs/invoicing.md', async (t) => {
  // 100.00 a month for 12 months from 15 December 2026: 17 of December's 31 days first.
  const items = lineSchedule(recurring(100_00n, 'month', 12, '2026-12-15'), options('calendar'))
  t.equal(items.length, 13)
  t.same(view(items.slice(0, 2)), [
    ['2026-12-15', '2026-12-31', 54_84n, 1, true],
    ['2027-01-01', '2027-01-31', 100_00n, 1, false],
  ])
  t.same(view(items.slice(-1)), [['2027-12-01', '2027-12-14', 45_16n, 1, true]], 'the last period takes what remains')
  t.equal(
    items.reduce((s, i) => s + i.amount.minor, 0n),
    1200_00n,
  )
})

t.test("calendar with ramp years: a period spanning an anniversary is cut there, each part at its own year's price", async (t) => {
  // 300.00 a quarter, +10 % in year 2, 24 months from 15 November 2026, calendar-aligned.
  const line = recurring(300_00n, 'quarter', 24, '2026-11-15', 10n)
  const items = lineSchedule(line, options('calendar'))
  t.same(view(items.slice(0, 6)), [
    // 16 of the 92 days of November–January at the year-1 price: 300.00 × 16 / 92 = 52.17.
    ['2026-11-15', '2026-11-30', 52_17n, 1, true],
    ['2026-12-01', '2027-02-28', 300_00n, 1, false],
    ['2027-03-01', '2027-05-31', 300_00n, 1, false],
    ['2027-06-01', '2027-08-31', 300_00n, 1, false],
    // The quarter of the anniversary: year 1 until 14 November takes what remains of year 1's 1,200.00 …
    ['2027-09-01', '2027-11-14', 247_83n, 1, true],
    // … and year 2 starts with the same quarter's last 16 of 91 days at 330.00: 58.02.
    ['2027-11-15', '2027-11-30', 58_02n, 2, true],
  ])
  const byYear = (y: number) => items.filter((i) => i.contractYear === y).reduce((s, i) => s + i.amount.minor, 0n)
  t.same([byYear(1), byYear(2)], [1200_00n, 1320_00n], 'each ramp year bills exactly its signed amount')
  t.same(view(items.slice(-1)), [['2028-09-01', '2028-11-14', 271_98n, 2, true]], 'the last item takes what remains of year 2')
})

t.test('calendar from the 1st of a month is the anniversary schedule', async (t) => {
  const line = recurring(300_00n, 'quarter', 12, '2027-03-01')
  t.same(lineSchedule(line, options('calendar')), lineSchedule(line, options('anniversary')))
})

t.test('one-time lines: one item, on order or as fulfilled; nothing for a line of no amount', async (t) => {
  const device: OrderLine = {
    ...recurring(0n, 'month', 1, '2026-12-01'),
    productType: 'one_time',
    billingPeriod: null,
    termMonths: null,
    periods: 1,
    contractAmount: EUR(897_00n),
  }
  t.same(
    lineSchedule(device, { orderedOn: '2026-12-01', alignment: 'anniversary', oneTime: 'order' }).map((i) => [i.trigger, i.billOn, i.amount.minor]),
    [['order', '2026-12-01', 897_00n]],
  )
  t.same(
    lineSchedule(device, { orderedOn: '2026-12-01', alignment: 'anniversary', oneTime: 'fulfilment' }).map((i) => [i.trigger, i.billOn, i.amount.minor]),
    [['fulfilment', null, 897_00n]],
  )
  t.same(lineSchedule({ ...device, contractAmount: EUR(0n) }, options('anniversary')), [])
})

t.test('property: every schedule sums exactly to the contract amount, periods tile the term without gap or overlap', async () => {
  const day = fc
    .record({ y: fc.integer({ min: 2026, max: 2032 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 31 }) })
    .map(({ y, m, d }) => {
      const last = new Date(Date.UTC(y, m, 0)).getUTCDate()
      return `${y}-${String(m).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`
    })
  fc.assert(
    fc.property(
      fc.bigInt({ min: 1n, max: 10_000_000_00n }),
      fc
        .constantFrom('month' as const, 'quarter' as const, 'year' as const)
        .chain((period) => fc.integer({ min: 1, max: 60 / MONTHS[period] }).map((n) => ({ period, termMonths: n * MONTHS[period] }))),
      day,
      fc.bigInt({ min: 0n, max: 10n }),
      fc.constantFrom<BillingAlignment>('anniversary', 'calendar'),
      (perPeriod, { period, termMonths }, start, uplift, alignment) => {
        const line = recurring(perPeriod, period, termMonths, start, uplift)
        const items = lineSchedule(line, options(alignment))
        const total = items.reduce((s, i) => s + i.amount.minor, 0n)
        if (total !== line.contractAmount.minor) return false
        if (items.some((i) => i.amount.minor < 0n)) return false
        if (items[0]!.periodStart !== start) return false
        for (const year of line.ramp ?? []) {
          const billed = items.filter((i) => i.contractYear === year.year).reduce((s, i) => s + i.amount.minor, 0n)
          if (billed !== year.amount.minor) return false
        }
        for (let i = 1; i < items.length; i++) {
          const next = new Date(`${items[i - 1]!.periodEnd}T00:00:00Z`)
          next.setUTCDate(next.getUTCDate() + 1)
          if (next.toISOString().slice(0, 10) !== items[i]!.periodStart) return false
        }
        const end = new Date(`${items[items.length - 1]!.periodEnd}T00:00:00Z`)
        end.setUTCDate(end.getUTCDate() + 1)
        const termEnd = new Date(`${start}T00:00:00Z`)
        const target = new Date(Date.UTC(termEnd.getUTCFullYear(), termEnd.getUTCMonth() + termMonths, 1))
        const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate()
        target.setUTCDate(Math.min(termEnd.getUTCDate(), lastDay))
        return end.toISOString().slice(0, 10) === target.toISOString().slice(0, 10)
      },
    ),
    { numRuns: 2000 },
  )
})

import t from 'tap'
import fc from 'fast-check'
import Big from 'big.js'
import { CURRENCIES, currencyExponent, isCurrency, MoneyError as CurrencyMoneyError } from '../../src/money/currency.js'
import {
  allocate,
  formatAmount,
  MoneyError,
  multiplyDecimal,
  parseAmount,
  parseDecimal,
  percentFromRatio,
  percentOf,
  roundDiv,
  sumMinor,
  toMinorUnits,
  type RoundingMode,
} from '../../src/money/money.js'

const MODES: readonly RoundingMode[] = ['half_even', 'half_up', 'down', 'up', 'floor', 'ceil']

/** What fn threw, described so a mismatch shows up in the assertion diff. */
function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof MoneyError) return e.code
    return `non-MoneyError ${(e as Error)?.name}: ${(e as Error)?.message}`
  }
  return 'no error thrown'
}

function errorName(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    return (e as Error).name
  }
  return 'no error thrown'
}

/** Runs a fast-check property and turns a counterexample into a tap failure with the seed/path. */
function holds<Ts extends unknown[]>(t: { ok: (v: unknown, msg: string) => boolean }, name: string, prop: fc.IProperty<Ts>, numRuns = 500): void {
  const out = fc.check(prop, { numRuns })
  t.ok(!out.failed, out.failed ? `${name}\n${fc.defaultReportMessage(out) ?? ''}` : name)
}

// ---------------------------------------------------------------- currency

t.test('CURRENCIES: ISO 4217 exponents', (t) => {
  const expected: Record<string, number> = {
    EUR: 2,
    USD: 2,
    GBP: 2,
    CHF: 2,
    JPY: 0,
    SEK: 2,
    NOK: 2,
    DKK: 2,
    PLN: 2,
    CZK: 2,
    HUF: 2,
    CAD: 2,
    AUD: 2,
    NZD: 2,
    SGD: 2,
    HKD: 2,
    CNY: 2,
    INR: 2,
    BRL: 2,
    MXN: 2,
    ZAR: 2,
    KRW: 0,
    KWD: 3,
    BHD: 3,
    TND: 3,
    CLP: 0,
    ISK: 0,
    JOD: 3,
    OMR: 3,
    VND: 0,
  }
  for (const [code, exp] of Object.entries(expected)) {
    t.equal(CURRENCIES[code]?.exponent, exp, `${code} exponent`)
    t.equal(currencyExponent(code), exp, `currencyExponent(${code})`)
  }
  t.equal(CURRENCIES.EUR?.name, 'Euro')
  for (const [code, info] of Object.entries(CURRENCIES)) {
    t.match(code, /^[A-Z]{3}$/, `${code} is a 3-letter upper-case code`)
    t.ok([0, 2, 3].includes(info.exponent), `${code} exponent is 0, 2 or 3`)
  }
  t.ok(Object.isFrozen(CURRENCIES), 'table is frozen')
  t.ok(Object.isFrozen(CURRENCIES.EUR), 'entries are frozen')
  t.end()
})

t.test('isCurrency / currencyExponent', (t) => {
  t.equal(isCurrency('EUR'), true)
  t.equal(isCurrency('KWD'), true)
  t.equal(isCurrency('eur'), false, 'case-sensitive')
  t.equal(isCurrency('EURO'), false)
  t.equal(isCurrency(''), false)
  t.equal(isCurrency('toString'), false, 'inherited Object members are not currencies')
  t.equal(isCurrency('__proto__'), false)
  t.equal(isCurrency('XXX'), false)
  t.equal(
    errorCode(() => currencyExponent('XXX')),
    'UNKNOWN_CURRENCY',
  )
  t.equal(
    errorCode(() => currencyExponent('usd')),
    'UNKNOWN_CURRENCY',
  )
  t.equal(
    errorCode(() => currencyExponent('constructor')),
    'UNKNOWN_CURRENCY',
  )
  t.end()
})

t.test('MoneyError shape', (t) => {
  t.equal(MoneyError, CurrencyMoneyError, 'money.ts re-exports the same class')
  const e = new MoneyError('OUT_OF_RANGE', 'too big')
  t.ok(e instanceof Error)
  t.equal(e.name, 'MoneyError')
  t.equal(e.code, 'OUT_OF_RANGE')
  t.equal(e.message, 'too big')
  t.end()
})

// ---------------------------------------------------------------- roundDiv

t.test('roundDiv: table over every mode', (t) => {
  // [numerator, denominator, half_even, half_up, down, up, floor, ceil]
  const rows: [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint][] = [
    [5n, 2n, 2n, 3n, 2n, 3n, 2n, 3n], // 2.5
    [7n, 2n, 4n, 4n, 3n, 4n, 3n, 4n], // 3.5
    [-5n, 2n, -2n, -3n, -2n, -3n, -3n, -2n], // -2.5
    [-7n, 2n, -4n, -4n, -3n, -4n, -4n, -3n], // -3.5
    [5n, -2n, -2n, -3n, -2n, -3n, -3n, -2n], // -2.5 via negative divisor
    [-5n, -2n, 2n, 3n, 2n, 3n, 2n, 3n], // 2.5 via two negatives
    [1n, 2n, 0n, 1n, 0n, 1n, 0n, 1n], // 0.5
    [-1n, 2n, 0n, -1n, 0n, -1n, -1n, 0n], // -0.5
    [3n, 2n, 2n, 2n, 1n, 2n, 1n, 2n], // 1.5
    [7n, 3n, 2n, 2n, 2n, 3n, 2n, 3n], // 2.333
    [8n, 3n, 3n, 3n, 2n, 3n, 2n, 3n], // 2.667
    [-7n, 3n, -2n, -2n, -2n, -3n, -3n, -2n], // -2.333
    [-8n, 3n, -3n, -3n, -2n, -3n, -3n, -2n], // -2.667
    [1n, 3n, 0n, 0n, 0n, 1n, 0n, 1n], // 0.333
    [-1n, 3n, 0n, 0n, 0n, -1n, -1n, 0n], // -0.333
    [6n, 3n, 2n, 2n, 2n, 2n, 2n, 2n], // exact
    [-6n, 3n, -2n, -2n, -2n, -2n, -2n, -2n], // exact negative
    [0n, -7n, 0n, 0n, 0n, 0n, 0n, 0n],
    [2n ** 70n + 1n, 2n, 2n ** 69n, 2n ** 69n + 1n, 2n ** 69n, 2n ** 69n + 1n, 2n ** 69n, 2n ** 69n + 1n], // beyond 2^53
  ]
  for (const [n, d, ...want] of rows) {
    MODES.forEach((mode, i) => {
      t.equal(roundDiv(n, d, mode), want[i], `roundDiv(${n}, ${d}, ${mode})`)
    })
  }
  t.end()
})

t.test('roundDiv: programmer errors are not MoneyErrors', (t) => {
  t.equal(
    errorName(() => roundDiv(1n, 0n, 'half_even')),
    'RangeError',
  )
  t.equal(
    errorName(() => roundDiv(1n, 3n, 'nearest' as RoundingMode)),
    'TypeError',
  )
  t.end()
})

// ---------------------------------------------------------------- parseAmount / formatAmount

t.test('parseAmount: valid input', (t) => {
  const rows: [string, string, bigint][] = [
    ['1234.5', 'EUR', 123450n],
    ['1234.50', 'EUR', 123450n],
    ['1234', 'EUR', 123400n],
    ['0', 'EUR', 0n],
    ['-0', 'EUR', 0n],
    ['-0.00', 'EUR', 0n],
    ['-0.05', 'EUR', -5n],
    ['-12.3', 'USD', -1230n],
    ['007.10', 'EUR', 710n],
    ['1200', 'JPY', 1200n],
    ['-1200', 'JPY', -1200n],
    ['1.234', 'KWD', 1234n],
    ['1.2', 'KWD', 1200n],
    ['-0.001', 'BHD', -1n],
    ['999999999999999.99', 'EUR', 99999999999999999n],
    ['999999999999999.999', 'KWD', 999999999999999999n],
    ['0000000000000000001', 'EUR', 100n],
  ]
  for (const [s, c, want] of rows) t.equal(parseAmount(s, c), want, `parseAmount(${JSON.stringify(s)}, ${c})`)
  t.end()
})

t.test('parseAmount: error codes', (t) => {
  const rows: [unknown, string, string][] = [
    ['', 'EUR', 'INVALID_AMOUNT'],
    [' 1', 'EUR', 'INVALID_AMOUNT'],
    ['1 ', 'EUR', 'INVALID_AMOUNT'],
    ['1 000', 'EUR', 'INVALID_AMOUNT'],
    ['+1', 'EUR', 'INVALID_AMOUNT'],
    ['1e3', 'EUR', 'INVALID_AMOUNT'],
    ['1E3', 'EUR', 'INVALID_AMOUNT'],
    ['1.', 'EUR', 'INVALID_AMOUNT'],
    ['.5', 'EUR', 'INVALID_AMOUNT'],
    ['1,50', 'EUR', 'INVALID_AMOUNT'],
    ['--1', 'EUR', 'INVALID_AMOUNT'],
    ['-', 'EUR', 'INVALID_AMOUNT'],
    ['0x10', 'EUR', 'INVALID_AMOUNT'],
    ['NaN', 'EUR', 'INVALID_AMOUNT'],
    ['Infinity', 'EUR', 'INVALID_AMOUNT'],
    ['\u0661\u0662', 'EUR', 'INVALID_AMOUNT'], // Arabic-Indic digits
    ['1.5\n', 'EUR', 'INVALID_AMOUNT'],
    [12.5, 'EUR', 'INVALID_AMOUNT'], // a JSON number, not a string
    [null, 'EUR', 'INVALID_AMOUNT'],
    ['1.234', 'EUR', 'TOO_MANY_DECIMALS'],
    ['1.230', 'EUR', 'TOO_MANY_DECIMALS'],
    ['1.0', 'JPY', 'TOO_MANY_DECIMALS'],
    ['1.2345', 'KWD', 'TOO_MANY_DECIMALS'],
    ['1000000000000000', 'EUR', 'OUT_OF_RANGE'], // 16 integer digits
    ['-1000000000000000.00', 'EUR', 'OUT_OF_RANGE'],
    ['1', 'XXX', 'UNKNOWN_CURRENCY'],
    ['1', 'eur', 'UNKNOWN_CURRENCY'],
    ['garbage', 'XXX', 'UNKNOWN_CURRENCY'],
  ]
  for (const [s, c, code] of rows) {
    t.equal(
      errorCode(() => parseAmount(s as string, c)),
      code,
      `parseAmount(${JSON.stringify(s)}, ${c})`,
    )
  }
  t.end()
})

t.test('formatAmount', (t) => {
  const rows: [bigint, string, string][] = [
    [123450n, 'EUR', '1234.50'],
    [-5n, 'EUR', '-0.05'],
    [0n, 'EUR', '0.00'],
    [100n, 'USD', '1.00'],
    [1n, 'USD', '0.01'],
    [-100n, 'USD', '-1.00'],
    [1200n, 'JPY', '1200'],
    [-1200n, 'JPY', '-1200'],
    [0n, 'JPY', '0'],
    [1n, 'KWD', '0.001'],
    [-1234567n, 'KWD', '-1234.567'],
    [99999999999999999n, 'EUR', '999999999999999.99'],
  ]
  for (const [minor, c, want] of rows) t.equal(formatAmount(minor, c), want, `formatAmount(${minor}n, ${c})`)
  t.equal(
    errorCode(() => formatAmount(5n, 'ABC')),
    'UNKNOWN_CURRENCY',
  )
  t.equal(
    errorCode(() => formatAmount(5 as unknown as bigint, 'EUR')),
    'INVALID_AMOUNT',
    'number is rejected',
  )
  t.equal(
    errorCode(() => formatAmount('5' as unknown as bigint, 'EUR')),
    'INVALID_AMOUNT',
    'pg int8 string is rejected',
  )
  t.end()
})

// ---------------------------------------------------------------- parseDecimal

t.test('parseDecimal', (t) => {
  t.equal(parseDecimal('12.5').toFixed(), '12.5')
  t.equal(parseDecimal('-007.50').toFixed(), '-7.5')
  t.equal(parseDecimal('-0.000').toFixed(), '0')
  t.equal(parseDecimal('-0.000').s, 1, 'no negative zero')
  t.equal(parseDecimal('0.1234567891').toFixed(), '0.1234567891', '10 decimals by default')
  t.equal(parseDecimal('999999999999999').toFixed(), '999999999999999', '15 integer digits by default')
  t.equal(parseDecimal('0.123456789012', { maxFractionDigits: 12 }).toFixed(), '0.123456789012')
  t.equal(parseDecimal('999', { maxIntegerDigits: 3 }).toFixed(), '999')
  t.equal(parseDecimal('5', { maxFractionDigits: 0 }).toFixed(), '5')

  const errors: [unknown, Parameters<typeof parseDecimal>[1], string][] = [
    ['0.12345678901', undefined, 'TOO_MANY_DECIMALS'],
    ['0.5', { maxFractionDigits: 0 }, 'TOO_MANY_DECIMALS'],
    ['1000000000000000', undefined, 'OUT_OF_RANGE'],
    ['1000', { maxIntegerDigits: 3 }, 'OUT_OF_RANGE'],
    ['1e2', undefined, 'INVALID_AMOUNT'],
    ['+1', undefined, 'INVALID_AMOUNT'],
    ['', undefined, 'INVALID_AMOUNT'],
    [' 12.5', undefined, 'INVALID_AMOUNT'],
    ['12.5%', undefined, 'INVALID_AMOUNT'],
    [12.5, undefined, 'INVALID_AMOUNT'],
  ]
  for (const [v, opts, code] of errors) {
    t.equal(
      errorCode(() => parseDecimal(v as string, opts)),
      code,
      `parseDecimal(${JSON.stringify(v)}, ${JSON.stringify(opts)})`,
    )
  }
  t.equal(
    errorName(() => parseDecimal('1', { maxFractionDigits: -1 })),
    'RangeError',
    'bad option is a programmer error',
  )
  t.equal(
    errorName(() => parseDecimal('1', { maxIntegerDigits: 1.5 })),
    'RangeError',
  )
  t.end()
})

// ---------------------------------------------------------------- toMinorUnits

t.test('toMinorUnits', (t) => {
  const rows: [Big | number | string, string, RoundingMode, bigint][] = [
    [39.999, 'EUR', 'half_even', 4000n],
    [39.999, 'EUR', 'down', 3999n],
    ['39.995', 'EUR', 'half_even', 4000n], // 3999.5 -> even
    ['39.985', 'EUR', 'half_even', 3998n], // 3998.5 -> even
    ['39.985', 'EUR', 'half_up', 3999n],
    [0.1, 'EUR', 'half_even', 10n],
    [0.1 + 0.2, 'EUR', 'half_even', 30n],
    [0.1 + 0.2, 'EUR', 'ceil', 31n], // 0.30000000000000004 is taken at face value, not silently pre-rounded
    [1.005, 'EUR', 'half_up', 101n], // Math.round(1.005 * 100) would give 100
    [2.5, 'JPY', 'half_even', 2n],
    [3.5, 'JPY', 'half_even', 4n],
    [-2.5, 'JPY', 'half_even', -2n],
    [-2.5, 'JPY', 'half_up', -3n],
    [-2.5, 'JPY', 'floor', -3n],
    [-2.5, 'JPY', 'ceil', -2n],
    [-2.5, 'JPY', 'down', -2n],
    [-2.5, 'JPY', 'up', -3n],
    [new Big('1.2345'), 'KWD', 'half_even', 1234n],
    [new Big('1.2345'), 'KWD', 'half_up', 1235n],
    [new Big('-1.2345'), 'KWD', 'floor', -1235n],
    [new Big('-1.2345'), 'KWD', 'ceil', -1234n],
    [new Big(1).div(3), 'EUR', 'half_even', 33n],
    [1e-7, 'EUR', 'up', 1n], // String(1e-7) is exponent notation; accepted for numbers
    [1e-7, 'EUR', 'half_even', 0n],
    [-0, 'EUR', 'half_even', 0n],
    [1234, 'JPY', 'half_even', 1234n],
    ['0.30000000000000004', 'EUR', 'ceil', 31n],
    ['-12.345678901234', 'EUR', 'half_even', -1235n],
    ['999999999999999.994', 'EUR', 'half_up', 99999999999999999n],
    ['999999999999999.995', 'EUR', 'down', 99999999999999999n],
  ]
  for (const [v, c, mode, want] of rows) {
    t.equal(toMinorUnits(v, c, mode), want, `toMinorUnits(${String(v)}, ${c}, ${mode})`)
  }

  const errors: [unknown, string, RoundingMode, string][] = [
    [Number.NaN, 'EUR', 'half_even', 'INVALID_AMOUNT'],
    [Number.POSITIVE_INFINITY, 'EUR', 'half_even', 'INVALID_AMOUNT'],
    [Number.NEGATIVE_INFINITY, 'EUR', 'half_even', 'INVALID_AMOUNT'],
    ['1e3', 'EUR', 'half_even', 'INVALID_AMOUNT'],
    ['+1', 'EUR', 'half_even', 'INVALID_AMOUNT'],
    ['', 'EUR', 'half_even', 'INVALID_AMOUNT'],
    [10n, 'EUR', 'half_even', 'INVALID_AMOUNT'], // bigint minor units are not a major-unit amount
    [null, 'EUR', 'half_even', 'INVALID_AMOUNT'],
    [1e21, 'EUR', 'half_even', 'OUT_OF_RANGE'],
    [1e15, 'EUR', 'half_even', 'OUT_OF_RANGE'],
    [new Big('1e+1000'), 'EUR', 'half_even', 'OUT_OF_RANGE'],
    ['1000000000000000', 'EUR', 'half_even', 'OUT_OF_RANGE'],
    ['999999999999999.995', 'EUR', 'half_up', 'OUT_OF_RANGE'], // rounds up into 16 integer digits
    [1, 'ABC', 'half_even', 'UNKNOWN_CURRENCY'],
  ]
  for (const [v, c, m, code] of errors) {
    t.equal(
      errorCode(() => toMinorUnits(v as number, c, m)),
      code,
      `toMinorUnits(${String(v)}, ${c}, ${m})`,
    )
  }
  t.end()
})

// ---------------------------------------------------------------- percentOf / multiplyDecimal

t.test('percentOf', (t) => {
  const rows: [bigint, Big | string, RoundingMode, bigint][] = [
    [1999n, '12.5', 'half_even', 250n], // 249.875
    [1999n, '12.5', 'down', 249n],
    [1999n, '12.5', 'floor', 249n],
    [1999n, new Big('12.5'), 'half_even', 250n],
    [-1999n, '12.5', 'half_even', -250n],
    [-1999n, '12.5', 'floor', -250n],
    [-1999n, '12.5', 'ceil', -249n],
    [-1999n, '12.5', 'down', -249n],
    [1000n, '20', 'half_even', 200n],
    [5n, '50', 'half_even', 2n], // 2.5
    [7n, '50', 'half_even', 4n], // 3.5
    [-5n, '50', 'half_even', -2n],
    [-5n, '50', 'half_up', -3n],
    [100n, '-10', 'half_even', -10n],
    [123n, '0', 'up', 0n],
    [10000n, '0.0000000001', 'up', 1n],
    [10000n, '0.0000000001', 'half_even', 0n],
    [12345n, '100', 'half_even', 12345n],
    [10n ** 20n, '19', 'half_even', 19n * 10n ** 18n],
  ]
  for (const [minor, p, mode, want] of rows) {
    t.equal(percentOf(minor, p, mode), want, `percentOf(${minor}n, ${String(p)}, ${mode})`)
  }
  t.equal(
    errorCode(() => percentOf(100n, '12,5', 'half_even')),
    'INVALID_AMOUNT',
  )
  t.equal(
    errorCode(() => percentOf(100n, '1e1', 'half_even')),
    'INVALID_AMOUNT',
  )
  t.equal(
    errorCode(() => percentOf(100n, '12.12345678901', 'half_even')),
    'TOO_MANY_DECIMALS',
  )
  t.equal(
    errorCode(() => percentOf(100n, 12.5 as unknown as string, 'half_even')),
    'INVALID_AMOUNT',
  )
  t.equal(
    errorCode(() => percentOf(100 as unknown as bigint, '12.5', 'half_even')),
    'INVALID_AMOUNT',
  )
  t.end()
})

t.test('multiplyDecimal', (t) => {
  const rows: [bigint, Big | string, RoundingMode, bigint][] = [
    [1000n, '1.19', 'half_even', 1190n],
    [999n, '1.19', 'half_even', 1189n], // 1188.81
    [999n, '1.19', 'down', 1188n],
    [-999n, '1.19', 'floor', -1189n],
    [-999n, '1.19', 'ceil', -1188n],
    [5n, '0.5', 'half_even', 2n],
    [15n, '0.5', 'half_even', 8n], // 7.5
    [-15n, '0.5', 'half_even', -8n],
    [-15n, '0.5', 'down', -7n],
    [12345n, '0', 'up', 0n],
    [100n, new Big('0.333'), 'half_even', 33n],
    [100n, '-1.5', 'half_up', -150n],
    [300n, new Big(1).div(3), 'half_even', 100n], // 99.999999999999999999
    [300n, new Big(1).div(3), 'down', 99n],
  ]
  for (const [minor, f, mode, want] of rows) {
    t.equal(multiplyDecimal(minor, f, mode), want, `multiplyDecimal(${minor}n, ${String(f)}, ${mode})`)
  }
  t.equal(
    errorCode(() => multiplyDecimal(100n, '1.5.0', 'half_even')),
    'INVALID_AMOUNT',
  )
  t.equal(
    errorCode(() => multiplyDecimal(100n, '10000000000000000', 'half_even')),
    'OUT_OF_RANGE',
  )
  t.end()
})

// ---------------------------------------------------------------- allocate / sumMinor

t.test('allocate: table', (t) => {
  const rows: [bigint, bigint[], bigint[]][] = [
    [100n, [1n, 1n, 1n], [34n, 33n, 33n]],
    [-100n, [1n, 1n, 1n], [-34n, -33n, -33n]],
    [100n, [1n, 2n], [33n, 67n]], // remainders 1 vs 2: larger remainder wins over lower index
    [100n, [50n, 30n, 20n], [50n, 30n, 20n]],
    [7n, [1n, 1n, 1n, 1n], [2n, 2n, 2n, 1n]],
    [-7n, [1n, 1n, 1n, 1n], [-2n, -2n, -2n, -1n]],
    [1n, [1n, 1n], [1n, 0n]],
    [10n, [3n, 0n, 7n], [3n, 0n, 7n]],
    [1000n, [0n, 5n], [0n, 1000n]],
    [1n, [0n, 1n, 1n], [0n, 1n, 0n]], // zero weight never receives a leftover cent
    [10n, [0n, 0n], [5n, 5n]],
    [5n, [0n, 0n, 0n], [2n, 2n, 1n]],
    [0n, [1n, 2n], [0n, 0n]],
    [42n, [7n], [42n]],
    [10n ** 20n + 1n, [1n, 1n], [5n * 10n ** 19n + 1n, 5n * 10n ** 19n]],
  ]
  for (const [total, weights, want] of rows) {
    t.same(allocate(total, weights), want, `allocate(${total}n, [${weights.join(', ')}])`)
  }
  const weights = [1n, 2n]
  allocate(100n, weights)
  t.same(weights, [1n, 2n], 'input is not mutated')
  t.equal(
    errorCode(() => allocate(100n, [])),
    'INVALID_AMOUNT',
    'empty weights',
  )
  t.equal(
    errorCode(() => allocate(100n, [1n, -1n])),
    'INVALID_AMOUNT',
    'negative weight',
  )
  t.equal(
    errorCode(() => allocate(100n, [1 as unknown as bigint])),
    'INVALID_AMOUNT',
    'number weight',
  )
  t.end()
})

t.test('sumMinor', (t) => {
  t.equal(sumMinor([]), 0n)
  t.equal(sumMinor([1n, 2n, -3n]), 0n)
  t.equal(sumMinor([199n, 1n]), 200n)
  t.equal(sumMinor([10n ** 30n, 1n]), 10n ** 30n + 1n)
  t.equal(
    errorCode(() => sumMinor([1n, 2 as unknown as bigint])),
    'INVALID_AMOUNT',
  )
  t.end()
})

// ---------------------------------------------------------------- percentFromRatio

t.test('percentFromRatio', (t) => {
  const rows: [bigint, bigint, number, string][] = [
    [250n, 1000n, 2, '25.00'],
    [0n, 0n, 2, '0.00'],
    [5n, 0n, 0, '0'],
    [5n, 0n, 3, '0.000'],
    [1n, 3n, 2, '33.33'],
    [2n, 3n, 2, '66.67'],
    [1n, 8n, 1, '12.5'],
    [1n, 8n, 0, '12'], // 12.5 -> even
    [3n, 8n, 0, '38'], // 37.5 -> even
    [-1n, 8n, 0, '-12'],
    [1n, -8n, 1, '-12.5'],
    [1n, 16n, 2, '6.25'],
    [1n, 16n, 1, '6.2'], // 6.25 -> even
    [3n, 16n, 1, '18.8'], // 18.75 -> even
    [-1n, 100000n, 2, '0.00'], // rounds to zero: no "-0.00"
    [1n, 1n, 0, '100'],
    [3n, 2n, 3, '150.000'],
    [1n, 10000n, 2, '0.01'],
  ]
  for (const [part, whole, fd, want] of rows) {
    t.equal(percentFromRatio(part, whole, fd), want, `percentFromRatio(${part}n, ${whole}n, ${fd})`)
  }
  t.equal(
    errorName(() => percentFromRatio(1n, 2n, -1)),
    'RangeError',
  )
  t.equal(
    errorName(() => percentFromRatio(1n, 2n, 1.5)),
    'RangeError',
  )
  t.end()
})

// ---------------------------------------------------------------- properties

const smallDenom = fc.bigInt({ min: -12n, max: 12n }).filter((d) => d !== 0n)
const largeDenom = fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }).filter((d) => d !== 0n)
const numerator = fc.oneof(fc.bigInt({ min: -60n, max: 60n }), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }))
const mode = fc.constantFrom(...MODES)

// Independent reference: Big division truncated at 60 places. With |d| <= 1e18 the
// fractional part is either 0, exactly .5, or at least 1e-18 away from both, so the
// truncation can never move a value across an integer or a half.
const RefBig = Big()
RefBig.DP = 60
RefBig.RM = 0
function referenceRoundDiv(n: bigint, d: bigint, m: RoundingMode): bigint {
  const x = new RefBig(n.toString()).div(new RefBig(d.toString()))
  const negative = x.lt(0)
  const rm = {
    down: 0,
    half_up: 1,
    half_even: 2,
    up: 3,
    floor: negative ? 3 : 0,
    ceil: negative ? 0 : 3,
  }[m] as Big.RoundingMode
  return BigInt(x.round(0, rm).toFixed(0))
}

t.test('property: roundDiv agrees with a Big reference for every mode', (t) => {
  holds(
    t,
    'roundDiv == reference',
    fc.property(numerator, fc.oneof(smallDenom, largeDenom), mode, (n, d, m) => roundDiv(n, d, m) === referenceRoundDiv(n, d, m)),
    2000,
  )
  holds(
    t,
    'roundDiv result is within one step of the true quotient',
    fc.property(numerator, fc.oneof(smallDenom, largeDenom), mode, (n, d, m) => {
      const q = roundDiv(n, d, m)
      const err = n - q * d // n/d - q = err/d, must be < 1 in magnitude
      return (err < 0n ? -err : err) < (d < 0n ? -d : d)
    }),
  )
  t.end()
})

const currency = fc.constantFrom(...Object.keys(CURRENCIES))

t.test('property: formatAmount / parseAmount round-trip', (t) => {
  const inRange = currency.chain((c) => {
    const limit = 10n ** BigInt(15 + currencyExponent(c)) - 1n
    return fc.tuple(fc.constant(c), fc.oneof(fc.bigInt({ min: -1000n, max: 1000n }), fc.bigInt({ min: -limit, max: limit })))
  })
  holds(
    t,
    'parseAmount(formatAmount(x)) === x',
    fc.property(inRange, ([c, x]) => parseAmount(formatAmount(x, c), c) === x),
    2000,
  )
  holds(
    t,
    'formatAmount has exactly `exponent` decimals',
    fc.property(inRange, ([c, x]) => {
      const e = currencyExponent(c)
      const re = e === 0 ? /^-?(0|[1-9][0-9]*)$/ : new RegExp(`^-?(0|[1-9][0-9]*)\\.[0-9]{${e}}$`)
      return re.test(formatAmount(x, c))
    }),
  )
  holds(
    t,
    'toMinorUnits(formatAmount(x)) === x in every mode (no rounding needed)',
    fc.property(inRange, mode, ([c, x], m) => toMinorUnits(formatAmount(x, c), c, m) === x),
  )
  t.end()
})

t.test('property: percentOf(x, "100") === x and multiplyDecimal(x, "1") === x', (t) => {
  const x = fc.oneof(fc.bigInt({ min: -1000n, max: 1000n }), fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }))
  holds(
    t,
    'percentOf 100%',
    fc.property(x, mode, (v, m) => percentOf(v, '100', m) === v),
  )
  holds(
    t,
    'percentOf 100.00%',
    fc.property(x, mode, (v, m) => percentOf(v, '100.00', m) === v),
  )
  holds(
    t,
    'multiplyDecimal 1',
    fc.property(x, mode, (v, m) => multiplyDecimal(v, '1', m) === v),
  )
  holds(
    t,
    'percentOf integer percent == roundDiv(x*p, 100)',
    fc.property(x, fc.integer({ min: -1000, max: 1000 }), mode, (v, p, m) => percentOf(v, String(p), m) === roundDiv(v * BigInt(p), 100n, m)),
  )
  t.end()
})

t.test('property: allocate sums exactly and each share is within 1 of the exact share', (t) => {
  const weight = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10n }), fc.bigInt({ min: 0n, max: 10n ** 12n }))
  const total = fc.oneof(fc.bigInt({ min: -100n, max: 100n }), fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }))
  const weights = fc.array(weight, { minLength: 1, maxLength: 20 })
  holds(
    t,
    'allocate invariants',
    fc.property(total, weights, (tot, ws) => {
      const shares = allocate(tot, ws)
      if (shares.length !== ws.length) return false
      if (sumMinor(shares) !== tot) return false
      const sumW = sumMinor(ws)
      const eff = sumW === 0n ? ws.map(() => 1n) : ws
      const W = sumW === 0n ? BigInt(ws.length) : sumW
      return shares.every((s, i) => {
        const exactNum = tot * (eff[i] as bigint) // exact share = exactNum / W
        const diff = s * W - exactNum
        const withinOne = (diff < 0n ? -diff : diff) < W
        const floorOrCeil = s === roundDiv(exactNum, W, 'floor') || s === roundDiv(exactNum, W, 'ceil')
        return withinOne && floorOrCeil
      })
    }),
    1000,
  )
  holds(
    t,
    'allocate(-t) === -allocate(t) and is deterministic',
    fc.property(total, weights, (tot, ws) => {
      const a = allocate(tot, ws)
      const b = allocate(-tot, ws).map((x) => -x)
      const c = allocate(tot, ws)
      return a.every((v, i) => v === b[i] && v === c[i])
    }),
  )
  holds(
    t,
    'equal weights: shares differ by at most 1 and extra units go to lower indices',
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 6n }), fc.integer({ min: 1, max: 12 }), (tot, n) => {
      const shares = allocate(
        tot,
        Array.from({ length: n }, () => 3n),
      )
      const base = tot / BigInt(n)
      let seenBase = false
      for (const s of shares) {
        if (s === base) seenBase = true
        else if (s !== base + 1n || seenBase) return false
      }
      return true
    }),
  )
  t.end()
})

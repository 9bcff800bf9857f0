import fc from 'fast-check'
import t from 'tap'
import { roundDiv } from '../../src/money/money.js'
import { MILLI, netUnitPrice, percentHundredths } from '../../src/evaluation/pricing.js'

t.test('the net unit price has just enough decimals to give back the line net', async (t) => {
  // 120 seats for 6,334.20: 52.78 × 120 = 6,333.60, so the unit price is 52.785.
  t.same(netUnitPrice(633_420n, 120n * MILLI, 2), { units: 52_785n, decimals: 3 })
  t.same(netUnitPrice(399_000n, 100n * MILLI, 2), { units: 3_990n, decimals: 2 }, 'no extra decimal when none is needed')
  t.same(netUnitPrice(1_120_000n, 6_000n * MILLI, 2), { units: 1_866_667n, decimals: 6 })
  t.same(netUnitPrice(1_000n, 3n * MILLI, 0), { units: 3_333n, decimals: 1 }, 'JPY: 333 × 3 = 999, 333.3 × 3 rounds to 1000')
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 14n }), fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.constantFrom(0, 2, 3), (net, qtyMilli, exponent) => {
      const { units, decimals } = netUnitPrice(net, qtyMilli, exponent)
      const scale = 10n ** BigInt(decimals - exponent)
      return decimals >= exponent && roundDiv(units * qtyMilli, MILLI * scale, 'half_even') === net
    }),
    { numRuns: 500 },
  )
})

t.test('percentages are hundredths rounded half-even once', async (t) => {
  t.equal(percentHundredths(1000n, 9999n), 1000n, '10.001 % is 10.00 %')
  t.equal(percentHundredths(1n, 8n), 1250n)
  t.equal(percentHundredths(1n, 0n), null)
})

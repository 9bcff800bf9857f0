import t from 'tap'
import fc from 'fast-check'
import { sql } from 'kysely'
import type { TestApp } from '../helpers/app.js'
import { getInvoice, invoiced } from '../helpers/invoicing.js'
import { creditedVat, vatBreakdown } from '../../src/invoicing/vat-breakdown.js'

const minor = (amount: string) => BigInt(amount.replace('.', ''))

const credit = (ctx: TestApp, invoiceId: string, payload: object, key?: string, role: 'finance' | 'sales_rep' | 'admin' = 'finance') =>
  ctx.app.inject({
    method: 'POST',
    url: `/v1/invoices/${invoiceId}/credit-notes`,
    headers: { ...ctx.as(role), ...(key ? { 'idempotency-key': key } : {}) },
    payload,
  })

t.test('credit notes: partial then full, their own gapless numbers, VAT reversed to the cent, never more than creditable', async (t) => {
  const { ctx, invoice } = await invoiced(t)
  const seats = invoice.lines.find((l: { sku: string }) => l.sku === 'PLAT-PRO-SEAT')
  t.equal((await credit(ctx, invoice.id, { reason: 'Goodwill' }, undefined, 'sales_rep')).statusCode, 403, 'a seller does not credit')

  const partial = await credit(ctx, invoice.id, { reason: 'Two seats were never used', lines: [{ line: seats.line, amount: '100.01' }] }, 'cn-1')
  t.equal(partial.statusCode, 201, partial.body)
  const note = partial.json()
  t.match(note, { number: 'AV-2026-000001', invoiceNumber: invoice.number, net: '100.01', tax: '20.00', total: '120.01', reason: 'Two seats were never used' })
  t.same(
    note.vat,
    [{ category: 'S', ratePercent: '20', base: '100.01', tax: '20.00', mention: null, exemptionCode: null }],
    '100.01 × 20 % = 20.002, rounded half-up once',
  )
  t.equal(
    (await credit(ctx, invoice.id, { reason: 'Two seats were never used', lines: [{ line: seats.line, amount: '100.01' }] }, 'cn-1')).json().id,
    note.id,
    'a retry gets the same credit note',
  )
  let after = await getInvoice(ctx, invoice.id)
  t.equal(after.credited, '120.01')
  t.equal(minor(after.amountDue), minor(invoice.total) - 12001n)
  t.equal(after.net, invoice.net, 'the invoice itself is unchanged')

  const bad = await credit(ctx, invoice.id, {
    reason: 'Too much',
    lines: [
      { line: seats.line, amount: seats.net },
      { line: 99, amount: '1.00' },
      { line: invoice.lines[1].line, amount: '0.001' },
    ],
  })
  t.equal(bad.statusCode, 422)
  t.equal(bad.json().code, 'CREDIT_NOTE_INVALID')
  t.match(bad.json().errors, [
    { pointer: '/lines/0/amount', detail: `at most ${(Number(minor(seats.net) - 10001n) / 100).toFixed(2)} remains creditable on line ${seats.line}` },
    { pointer: '/lines/1/line', detail: `invoice ${invoice.number} has no line 99` },
    { pointer: '/lines/2/amount', detail: /decimal/ },
  ])
  t.equal((await credit(ctx, invoice.id, { reason: 'zero', lines: [{ line: seats.line, amount: '0.00' }] })).json().errors[0].detail, 'must be more than 0')

  const rest = await credit(ctx, invoice.id, { reason: 'Contract rescinded' })
  t.equal(rest.statusCode, 201, rest.body)
  t.equal(rest.json().number, 'AV-2026-000002', 'gapless, after the refused attempts')
  after = await getInvoice(ctx, invoice.id)
  t.equal(after.credited, invoice.total, 'credited in full, to the cent')
  t.equal(after.amountDue, '0.00')
  const totalTax = [note, rest.json()].reduce((s, n) => s + minor(n.tax), 0n)
  t.equal(totalTax, minor(invoice.tax), 'the VAT reversed is exactly the VAT invoiced')
  const again = await credit(ctx, invoice.id, { reason: 'Once more' })
  t.equal(again.statusCode, 422)
  t.match(again.json().errors, [{ detail: `invoice ${invoice.number} is credited in full already` }])

  const tb = (await ctx.app.inject({ method: 'GET', url: '/v1/reports/trial-balance', headers: ctx.as('finance') })).json()
  t.equal(tb.currencies[0].balanced, true)
  for (const a of tb.currencies[0].accounts) t.equal(a.balance, '0.00', `${a.code} ${a.name}: back to zero once credited in full`)
  const list = (await ctx.app.inject({ method: 'GET', url: `/v1/invoices/${invoice.id}/credit-notes`, headers: ctx.as('sales_rep') })).json()
  t.same(
    list.data.map((n: { number: string }) => n.number),
    ['AV-2026-000001', 'AV-2026-000002'],
    "the account's owner sees them",
  )
  const other = await ctx.principal('Another rep', ['sales_rep'])
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${note.id}`, headers: other.headers })).statusCode, 404)
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/credit-notes/${note.id}`, headers: ctx.as('sales_rep') })).json().number, 'AV-2026-000001')
  await t.rejects(sql`update credit_notes set net_minor = 1`.execute(ctx.database.db), /append-only/)
  t.equal((await credit(ctx, 'inv_nope', { reason: 'x' })).statusCode, 404)
})

t.test('property: credit notes in any steps reverse exactly the VAT of each rate, never more', async () => {
  const rates = [2000, 1000, 550, 210]
  fc.assert(
    fc.property(
      fc.array(fc.record({ net: fc.bigInt({ min: 1n, max: 1_000_000_00n }), rate: fc.constantFrom(...rates) }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 99 }), { minLength: 0, maxLength: 6 }),
      (lines, cuts) => {
        const taxed = lines.map((l) => ({ net: l.net, vatCategory: 'S', vatRateBp: l.rate, vatMention: null, vatExemptionCode: null }))
        const invoice = vatBreakdown(taxed).map((v) => ({
          category: v.vatCategory,
          rateBp: v.vatRateBp,
          base: v.base,
          tax: v.tax,
          mention: null,
          exemptionCode: null,
        }))
        // Credit each line in steps: a percentage of what is left at each cut, then the rest.
        const left = lines.map((l) => l.net)
        const before = new Map<string, { base: bigint; tax: bigint }>()
        for (const cut of [...cuts, 100]) {
          const note = lines
            .map((l, i) => {
              const amount = cut === 100 ? left[i]! : (left[i]! * BigInt(cut)) / 100n
              left[i] = left[i]! - amount
              return { net: amount, vatCategory: 'S', vatRateBp: l.rate }
            })
            .filter((l) => l.net > 0n)
          for (const v of creditedVat(invoice, before, note)) {
            const key = `${v.category}/${v.rateBp}`
            const sum = before.get(key) ?? { base: 0n, tax: 0n }
            before.set(key, { base: sum.base + v.base, tax: sum.tax + v.tax })
            const rate = invoice.find((r) => `${r.category}/${r.rateBp}` === key)!
            if (v.tax < 0n || sum.tax + v.tax > rate.tax) return false
          }
        }
        return invoice.every((r) => {
          const credited = before.get(`${r.category}/${r.rateBp}`)
          return credited?.base === r.base && credited.tax === r.tax
        })
      },
    ),
    { numRuns: 1000 },
  )
})

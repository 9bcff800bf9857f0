/**
 * Benchmark of cart evaluation with the demo rules: QTC's pipeline in-process and over HTTP,
 * side by side with a naive json-rules-engine integration (a new engine and a run per line)
 * as the ratio to beat. Prints a Markdown table; `npm run bench` writes it into docs/benchmarks.md.
 */
import { performance } from 'node:perf_hooks'
import { Engine } from 'json-rules-engine'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrate.js'
import type { Cart } from '../src/evaluation/cart.schema.js'
import { evaluateQuote } from '../src/evaluation/evaluate.js'
import { createPrincipal } from '../src/principals/principal.service.js'
import { CUSTOM_OPERATORS } from '../src/rules/facts.js'
import { loadRuleSet, type RuleSet } from '../src/rules/rule-set.js'
import { systemClock } from '../src/shared/clock.js'

const ROOT = new URL('../', import.meta.url).pathname
export const SIZES = [10, 100, 1_000, 10_000]

/**
 * A deterministic, valid cart of `n` lines cycling through the priced, active products a
 * large order repeats (no bundles, nothing capped at one per quote such as support plans).
 */
export function makeCart(ruleSet: RuleSet, n: number): Cart {
  const book = ruleSet.priceBooks.books.find((b) => b.id === 'eur-list')!
  const { products, bundles } = ruleSet.priceBooks.catalog
  const skus = [...book.entries.keys()].filter((s) => products.get(s)?.active && !bundles.has(s) && !products.get(s)!.maxQuantity).sort()
  const lines = Array.from({ length: n }, (_, i) => {
    const sku = skus[i % skus.length]!
    const p = products.get(sku)!
    const quantity = 1 + ((i * 7) % 40)
    return {
      sku,
      quantity: p.minQuantity && quantity < p.minQuantity ? p.minQuantity : p.maxQuantity ? Math.min(quantity, p.maxQuantity) : quantity,
      ...(p.type === 'recurring' ? { termMonths: p.billingPeriod === 'year' ? 36 : 36 } : {}),
      ...(i % 5 === 0 ? { manualDiscountPercent: '7.5' } : {}),
    }
  })
  return {
    currency: 'EUR',
    date: new Date().toISOString().slice(0, 10),
    channel: 'direct',
    account: { id: 'acc_bench', segment: 'enterprise', country: 'FR' },
    lines,
    paymentTermsDays: 30,
  }
}

/** The naive way: build an engine per line with every line-scope rule, run it, collect events. */
async function naiveEvaluate(ruleSet: RuleSet, cart: Cart): Promise<number> {
  let events = 0
  const lineRules = ruleSet.rules.filter((r) => r.scope === 'line')
  for (const [index, line] of cart.lines.entries()) {
    const product = ruleSet.priceBooks.catalog.products.get(line.sku)!
    const engine = new Engine(
      lineRules.map((r) => ({ name: r.id, priority: r.priority, conditions: r.conditions as never, event: { type: r.event.type } })),
      { allowUndefinedFacts: true },
    )
    for (const [name, fn] of Object.entries(CUSTOM_OPERATORS)) engine.addOperator(name, fn)
    const facts = {
      line: {
        index,
        ...product,
        quantity: line.quantity,
        termMonths: line.termMonths ?? null,
        manualDiscountPercent: Number(line.manualDiscountPercent ?? 0),
        options: [],
        source: 'cart',
        parentSku: null,
        startDate: cart.date,
        listUnitPrice: 1,
        unitCost: 1,
        discountPercent: 0,
        marginPercent: 50,
        netUnitPrice: 1,
        netAmount: 1,
        contractAmount: 1,
      },
      quote: { currency: cart.currency, date: cart.date, channel: 'direct', promoCodes: [], skus: [], families: [], categories: [], paymentTermsDays: 30 },
      account: { ...cart.account, purchasedSkus: [] },
      cartQuantity: 0,
      categoryQuantity: 0,
      purchased: false,
    }
    events += (await engine.run(facts)).events.length
  }
  return events
}

export interface Stats {
  medianMs: number
  p99Ms: number
  runs: number
}

async function measure(runs: number, fn: () => Promise<unknown>): Promise<Stats> {
  await fn() // warm-up: JIT, engine caches
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!
  return { medianMs: at(0.5), p99Ms: at(0.99), runs }
}

function runsFor(n: number): number {
  return n <= 10 ? 200 : n <= 100 ? 60 : n <= 1000 ? 12 : 4
}

export async function benchEvaluate(): Promise<string> {
  const { ruleSet, errors } = await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`)
  if (!ruleSet) throw new Error(`demo rules invalid: ${JSON.stringify(errors)}`)
  const reference = (await loadRuleSet(`${ROOT}rules`, `${ROOT}price-books`, { engine: 'json-rules-engine' })).ruleSet!

  const config = Object.freeze({
    ...loadConfig({
      DATABASE_URL: 'memory://',
      LOG_LEVEL: 'silent',
      QTC_SEED_DEMO: 'false',
      MAX_CART_LINES: '10000',
      BODY_LIMIT_BYTES: String(20 * 1024 * 1024),
      RATE_LIMIT_PER_MINUTE: '1000000',
    }),
  })
  const database = await openDatabase(config)
  await migrateToLatest(database)
  const app = await buildApp({ config, database, clock: systemClock })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const { body } = await createPrincipal({ db: database.db, clock: systemClock }, { name: 'bench', roles: ['sales_rep'] }, null)
  const headers = { authorization: `Bearer ${body.apiKey}`, 'content-type': 'application/json' }

  const rows: string[] = []
  rows.push(
    '| lines | QTC in-process (compiled runner), trace none: median / p99 ms | same, trace fired: median ms | QTC with the json-rules-engine runner: median ms | QTC over HTTP, trace none: median / p99 ms | naive json-rules-engine, engine per line (conditions only): median ms | naive ÷ QTC | json-rules-engine runner ÷ compiled |',
  )
  rows.push('|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const n of SIZES) {
    const cart = makeCart(ruleSet, n)
    const runs = runsFor(n)
    const inProcess = await measure(runs, () => evaluateQuote(ruleSet, cart, { trace: 'none' }))
    const traced = await measure(runs, () => evaluateQuote(ruleSet, cart, { trace: 'fired' }))
    const payload = JSON.stringify(cart)
    const http = await measure(runs, async () => {
      const res = await fetch(`${address}/v1/quotes/evaluate?trace=none`, { method: 'POST', headers, body: payload })
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`)
      await res.arrayBuffer()
    })
    const slowRuns = Math.max(2, Math.ceil(runs / 4))
    const viaReference = await measure(slowRuns, () => evaluateQuote(reference, cart, { trace: 'none' }))
    const naive = await measure(slowRuns, () => naiveEvaluate(ruleSet, cart))
    const f = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0))
    rows.push(
      `| ${n.toLocaleString('en')} | ${f(inProcess.medianMs)} / ${f(inProcess.p99Ms)} | ${f(traced.medianMs)} | ${f(viaReference.medianMs)} | ${f(http.medianMs)} / ${f(http.p99Ms)} | ${f(naive.medianMs)} | ${(naive.medianMs / inProcess.medianMs).toFixed(1)}× | ${(viaReference.medianMs / inProcess.medianMs).toFixed(1)}× |`,
    )
    process.stderr.write(`${rows[rows.length - 1]}\n`)
  }
  await app.close()
  await database.close()
  return rows.join('\n')
}

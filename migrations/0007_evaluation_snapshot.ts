import { sql, type Kysely } from 'kysely'

/**
 * Quote revisions store the evaluation snapshot (version 1: amounts as Money, percentages as
 * hundredths, approval facts per step) instead of the API rendering they stored before
 * (version 0). Existing rows are converted here, in batches, by a converter frozen in this
 * file: it must keep reading version 0 whatever the code becomes. Decision records are
 * append-only and keep what they recorded; replay reads both versions.
 */

type Json = Record<string, unknown>

const BATCH = 200

/** "1234.50" → { minor: "123450", currency }: a rendered amount always has the currency's decimals. */
function money(text: unknown, currency: string): Json | null {
  if (typeof text !== 'string') return null
  return { minor: BigInt(text.replace('.', '')).toString(), currency }
}

/** "10.00" → "1000" (hundredths of a percent). */
function hundredths(text: unknown): string | null {
  return typeof text === 'string' ? BigInt(text.replace('.', '')).toString() : null
}

/** "52.785" → { units: "52785", decimals: 3 }. */
function decimal(text: string): Json {
  const [whole, fraction = ''] = text.split('.')
  return { units: BigInt(`${whole}${fraction}`).toString(), decimals: fraction.length }
}

/** part/whole in hundredths, half-even, as the evaluation computes it. */
function percentOf(part: bigint, whole: bigint): string {
  if (whole === 0n) return '0'
  const n = part * 10_000n
  const q = n / whole
  const r = n % whole
  const twice = 2n * (r < 0n ? -r : r)
  const away = n < 0n ? q - 1n : q + 1n
  return (twice > whole || (twice === whole && q % 2n !== 0n) ? away : q).toString()
}

export function convertRenderedEvaluation(e: Json): Json {
  const currency = e.currency as string
  const m = (v: unknown) => money(v, currency)
  const trace = (e.trace as Json[] | undefined) ?? []
  const lines = (e.lines as Json[]).map((l) => {
    const list = BigInt((l.listAmount as string).replace('.', ''))
    const net = BigInt((l.netAmount as string).replace('.', ''))
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
      qtyMilli: BigInt(Math.round((l.quantity as number) * 1000)).toString(),
      termMonths: l.termMonths,
      startDate: l.startDate,
      periods: l.periods,
      listUnitPrice: m(l.listUnitPrice),
      unitCost: null,
      listAmount: m(l.listAmount),
      baseAmount: m(l.baseAmount),
      netAmount: m(l.netAmount),
      netUnitPrice: decimal(l.netUnitPrice as string),
      contractAmount: m(l.contractAmount),
      cost: m(l.cost),
      adjustments: (l.adjustments as Json[]).map((a) => ({ ...a, amount: m(a.amount) })),
      suppressed: l.suppressed,
      ramp: (l.ramp as Json[] | null)?.map((y) => ({ year: y.year, periods: y.periods, amountPerPeriod: m(y.amountPerPeriod), amount: m(y.amount) })) ?? null,
      discountHundredths: hundredths(l.discountPercent) ?? '0',
      offListHundredths: percentOf(list - net, list),
      marginHundredths: hundredths(l.marginPercent),
      guardrail: l.guardrail,
    }
  })
  const t = e.totals as Json
  const guardrails = e.guardrails as Json
  const approvals = e.approvals as { required: boolean; steps: Json[] }
  const steps = approvals.steps.map((step) => {
    // Version 0 bound a step to the facts its rules showed in the trace (quotes were always priced with trace=fired).
    const ruleIds = new Set((step.reasons as Array<{ ruleId: string | null }>).map((r) => r.ruleId))
    const facts: Json = {}
    for (const entry of trace) if (entry.stage === 'approvals' && entry.fired && ruleIds.has(entry.ruleId as string)) Object.assign(facts, entry.facts ?? {})
    if (ruleIds.has(null)) facts['quote.guardrailOutcome'] = guardrails.outcome
    return { level: step.level, role: step.role, mode: step.mode, reasons: step.reasons, upTo: step.upTo ?? {}, facts }
  })
  return {
    version: 1,
    ruleSetHash: e.ruleSetHash,
    priceBookHash: e.priceBookHash,
    priceBook: e.priceBook,
    currency,
    date: e.date,
    channel: e.channel,
    valid: e.valid,
    configuration: e.configuration,
    lines,
    totals: {
      list: m(t.list),
      standard: m(t.standard),
      discount: m(t.discount),
      rampUplift: m(t.rampUplift),
      net: m(t.net),
      oneTime: m(t.oneTime),
      annualRecurring: m(t.annualRecurring),
      cost: m(t.cost),
      discountHundredths: hundredths(t.discountPercent) ?? '0',
      marginHundredths: hundredths(t.marginPercent),
      costCoverageHundredths: null,
    },
    guardrails,
    approvals: { required: approvals.required, steps },
    recommendations: (e.recommendations as Json[]).map((r) => ({ ...r, listUnitPrice: m(r.listUnitPrice) })),
    trace,
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE quote_revisions ADD COLUMN snapshot_version integer NOT NULL DEFAULT 0`.execute(db)
  for (;;) {
    const { rows } = await sql<{ quote_id: string; revision: number; evaluation: Json }>`
      SELECT quote_id, revision, evaluation FROM quote_revisions WHERE snapshot_version = 0 ORDER BY quote_id, revision LIMIT ${BATCH}`.execute(db)
    for (const row of rows) {
      await sql`UPDATE quote_revisions SET evaluation = ${JSON.stringify(convertRenderedEvaluation(row.evaluation))}::jsonb, snapshot_version = 1
        WHERE quote_id = ${row.quote_id} AND revision = ${row.revision}`.execute(db)
    }
    if (rows.length < BATCH) break
  }
  // New rows say which version they hold; 0 is only ever a row this migration has not reached.
  await sql`ALTER TABLE quote_revisions ALTER COLUMN snapshot_version DROP DEFAULT`.execute(db)
  await sql`ALTER TABLE quote_revisions ADD CONSTRAINT quote_revisions_snapshot_version CHECK (snapshot_version = 1)`.execute(db)
}

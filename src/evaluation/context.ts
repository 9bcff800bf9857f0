import type { PriceBook, PriceEntry } from '../catalog/catalog.js'
import type { Product } from '../catalog/catalog.schema.js'
import type { RuleFacts, RuleOutcome, RuleRunner } from '../rules/rule-runner.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { RuleSetName } from '../rules/rule-file.schema.js'
import type { Cart } from './cart.schema.js'
import type { PricedLine, TraceEntry, TraceLevel } from './evaluation.js'
import type { Rate } from './rate.js'

/** A line while it moves through the stages: what the cart said, resolved against catalog and book. */
export interface WorkLine {
  product: Product
  entry: PriceEntry
  source: PricedLine['source']
  cartIndex: number | null
  parentIndex: number | null
  addedBy: string | null
  quantity: number
  qtyMilli: bigint
  termMonths: number | null
  startDate: string
  options: string[]
  manualDiscount: Rate | null
}

/** What every stage of one evaluation shares: its inputs, the trace being written, the runners in use. */
export interface Context {
  ruleSet: RuleSet
  cart: Cart
  book: PriceBook
  channel: string
  trace: TraceLevel
  traceEntries: TraceEntry[]
  /** 10^exponent of the cart currency: minor units per major unit, for numeric facts. */
  scale: number
  runners: Partial<Record<RuleSetName, Partial<Record<'line' | 'quote', RuleRunner>>>>
  account: Record<string, unknown>
}

/** A rule's outcome with its trace entry (when traced), so the stage can record what the event did. */
export type TracedOutcome = RuleOutcome & { entry?: TraceEntry }

/** Runs one set's rules of one scope and records the trace; returns the outcomes in priority order. */
export async function runRules(
  ctx: Context,
  set: RuleSetName,
  scope: 'line' | 'quote',
  facts: RuleFacts,
  line?: number,
  options: { withFacts?: boolean } = {},
): Promise<TracedOutcome[]> {
  // Looked up once per evaluation: this runs for every line of every stage.
  const runners = (ctx.runners[set] ??= {})
  const runner = (runners[scope] ??= ctx.ruleSet.runner(set, scope, ctx.cart.date))
  // withFacts: the stage needs the facts each fired rule looked at, whatever trace was asked for.
  const outcomes: TracedOutcome[] = await runner.run(facts, options.withFacts && ctx.trace === 'none' ? 'fired' : ctx.trace)
  if (ctx.trace !== 'none') {
    for (const o of outcomes) {
      if (!o.fired && ctx.trace !== 'full') continue
      const entry: TraceEntry = {
        stage: set,
        ruleId: o.rule.id,
        ...(line === undefined ? {} : { line }),
        fired: o.fired,
        // A fired rule applies unless its stage says otherwise (notApplied).
        ...(o.fired ? { applied: true } : {}),
        ...(o.facts ? { facts: o.facts } : {}),
        ...(o.failed ? { failed: o.failed } : {}),
      }
      ctx.traceEntries.push(entry)
      o.entry = entry
    }
  }
  return outcomes
}

/** Records in the trace that a rule fired but its event changed nothing, and why. */
export function notApplied(entry: TraceEntry | undefined, reason: string): void {
  if (!entry) return
  entry.applied = false
  entry.reason = reason
}

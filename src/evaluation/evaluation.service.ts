import { performance } from 'node:perf_hooks'
import type { Db } from '../db/database.js'
import { AppError } from '../errors.js'
import type { Principal } from '../principals/principal.js'
import type { Role } from '../principals/roles.js'
import { RuleEvaluationError } from '../rules/rule-runner.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { RuleSetRegistry } from '../rules/rule-set.service.js'
import type { Clock } from '../shared/clock.js'
import { canonicalJson } from '../shared/hash.js'
import { newId } from '../shared/ids.js'
import { runIdempotent, type IdempotencyRequest, type StoredResponse } from '../shared/idempotency.js'
import type { Cart } from './cart.schema.js'
import { CartError, evaluateQuote } from './evaluate.js'
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_VERSION, type EvaluationSnapshot, type TraceLevel } from './evaluation.js'
import * as decisions from './decision.repository.js'
import { renderEvaluation, type RenderedEvaluation } from './render.js'

export interface EvaluationDeps {
  db: Db
  clock: Clock
  ruleSets: RuleSetRegistry
}

export type EvaluationResponse = RenderedEvaluation & { whatIf: boolean; evaluationMs: number; decisionId: string | null }

/** Roles that may price "as of" a past date (what-if and audit); everyone else prices as of today or later, like a quote. */
export const AS_OF_ROLES: readonly Role[] = ['pricing_analyst', 'finance']

/**
 * The pricing date policy of an evaluation: an omitted date is today; a past date is a
 * what-if, allowed to pricing analysts and finance only (a rep must not revive an ended
 * promotion). Returns the cart to price and whether it is a what-if.
 */
export function datedCart(principal: Principal, cart: Omit<Cart, 'date'> & { date?: string | undefined }, today: string): { cart: Cart; whatIf: boolean } {
  const date = cart.date ?? today
  const whatIf = date < today
  if (whatIf && !principal.roles.some((r) => AS_OF_ROLES.includes(r))) {
    throw new AppError('VALIDATION_FAILED', `The pricing date ${date} is in the past; quotes are priced as of today (${today}) or later.`, {
      errors: [{ pointer: '/date', detail: `must be ${today} or later (only ${AS_OF_ROLES.join(' and ')} may price as of a past date)` }],
    })
  }
  return { cart: { ...cart, date }, whatIf }
}

/** Runs the pure evaluation, turning its refusals into AppErrors the API can render. */
export async function evaluateWith(ruleSet: RuleSet, cart: Cart, trace: TraceLevel): Promise<EvaluationSnapshot> {
  try {
    return await evaluateQuote(ruleSet, cart, { trace })
  } catch (error) {
    if (error instanceof CartError) throw new AppError('CART_INVALID', 'The cart cannot be evaluated.', { errors: error.errors })
    if (error instanceof RuleEvaluationError) {
      throw new AppError('RULE_EVALUATION_FAILED', `Rule ${error.ruleId} failed: ${error.message}`, { ruleId: error.ruleId, ruleSetHash: ruleSet.hash })
    }
    throw error
  }
}

/**
 * Prices a cart with the serving rule set. With `record`, the inputs, the output and the
 * hashes used are appended to the decision log in the same transaction as the idempotency
 * key, so a retried request neither loses nor duplicates its decision.
 */
export async function evaluateCart(
  deps: EvaluationDeps,
  principal: Principal,
  input: Omit<Cart, 'date'> & { date?: string | undefined },
  options: { trace: TraceLevel; record: boolean },
  idempotency: IdempotencyRequest | null,
): Promise<StoredResponse<EvaluationResponse>> {
  const { cart, whatIf } = datedCart(principal, input, deps.clock.now().toISOString().slice(0, 10))
  const ruleSet = deps.ruleSets.get()
  const started = performance.now()
  const snapshot = await evaluateWith(ruleSet, cart, options.trace)
  const rendered = renderEvaluation(snapshot, options.trace)
  // Rounded to microseconds: a timing, reported beside (never inside) the deterministic result.
  const evaluationMs = Math.round((performance.now() - started) * 1000) / 1000
  if (!options.record) return { status: 200, body: { ...rendered, whatIf, evaluationMs, decisionId: null }, replayed: false }
  return runIdempotent(
    deps.db,
    idempotency,
    () => deps.clock.now(),
    async (trx) => {
      const id = await recordDecision(trx, principal, cart, snapshot, deps.clock.now())
      return { status: 201, body: { ...rendered, whatIf, evaluationMs, decisionId: id } }
    },
  )
}

/**
 * Appends an evaluation to the decision log in the caller's transaction: the cart, the
 * snapshot and the hashes of the rules and prices used, so it can be replayed. Returns its id.
 */
export async function recordDecision(trx: Db, principal: Principal, cart: Cart, snapshot: EvaluationSnapshot, now: Date): Promise<string> {
  const id = newId('dec')
  await decisions.insertDecision(trx, {
    id,
    ruleSetHash: snapshot.ruleSetHash,
    priceBookHash: snapshot.priceBookHash,
    principalId: principal.id,
    input: cart,
    output: encodeSnapshot(snapshot),
    now,
  })
  return id
}

/**
 * Re-evaluates a recorded decision with the rule set and price books it named, and compares
 * snapshots: every amount, percentage, decision and bound fact must match (the trace, an
 * explanation at the level asked for, is not compared). Decisions recorded before snapshots
 * (version 0: the API rendering was stored) are compared in that rendering.
 */
export async function replayDecision(
  deps: EvaluationDeps,
  id: string,
): Promise<{ original: RenderedEvaluation; replayed: RenderedEvaluation; identical: boolean }> {
  const decision = await decisions.findDecision(deps.db, id)
  if (!decision) throw new AppError('NOT_FOUND', `No decision ${id}.`)
  const ruleSet = await deps.ruleSets.find(decision.rule_set_hash, decision.price_book_hash)
  if (!ruleSet) throw new AppError('NOT_FOUND', `Rule set ${decision.rule_set_hash} is not stored.`)
  const stored = decision.output as { version?: unknown; trace?: unknown[] }
  const replayed = await evaluateWith(ruleSet, decision.input as Cart, 'fired')
  // Canonical JSON: the database's jsonb does not keep key order, so compare values, not text.
  const comparable = (value: object) => canonicalJson({ ...value, trace: null })
  if (stored.version === SNAPSHOT_VERSION) {
    const original = decodeSnapshot(stored)
    return {
      original: renderEvaluation(original, 'fired'),
      replayed: renderEvaluation(replayed, 'fired'),
      identical: comparable(encodeSnapshot(original) as object) === comparable(encodeSnapshot(replayed) as object),
    }
  }
  const original = stored as unknown as RenderedEvaluation
  const rendered = renderEvaluation(replayed, original.trace === undefined ? 'none' : 'fired')
  return { original, replayed: rendered, identical: comparable(rendered) === comparable(original) }
}

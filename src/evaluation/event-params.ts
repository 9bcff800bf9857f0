import { currencyExponent } from '../money/currency.js'
import { MoneyError, parseAmount } from '../money/money.js'
import { applyLogic, isLogic } from '../rules/json-logic.js'
import { RuleEvaluationError, type RuleFacts } from '../rules/rule-runner.js'
import type { LoadedRule } from '../rules/rule.js'
import { rateOf, type Rate } from './rate.js'

/**
 * Event params as the stages read them: a literal, or json-logic over the rule's facts,
 * coerced to the kind the param is (a rate, an amount, a quantity). An error names the rule
 * and the param, so an analyst knows what to fix.
 */

/** Evaluates an event param: literal, or json-logic over the rule's facts. */
export function param(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts): unknown {
  if (!isLogic(value)) return value
  try {
    return applyLogic(value.$logic, facts)
  } catch (error) {
    throw new RuleEvaluationError(rule.id, `event param ${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

export function decimalParam(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts): Rate {
  const v = param(rule, name, value, facts)
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string') {
    try {
      return rateOf(v)
    } catch {
      // fall through to the error below
    }
  }
  throw new RuleEvaluationError(rule.id, `event param ${name} is not a finite number (got ${JSON.stringify(v)})`)
}

/**
 * An amount param in minor units of the cart's currency. Never rounded: an amount with more
 * decimals than the currency has ("1000.5" on a JPY cart, a computed 35.919 EUR) stops the
 * evaluation naming the rule, as a price book refuses it; a computed amount is rounded by the
 * rule itself (json-logic `round`).
 */
export function amountParam(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts, currency: string): bigint {
  const v = decimalParam(rule, name, value, facts)
  try {
    return parseAmount(v.text, currency)
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error
    const hint = isLogic(value) ? `; round it in the rule, e.g. { "round": [<value>, ${currencyExponent(currency)}] }` : ''
    throw new RuleEvaluationError(
      rule.id,
      `event param ${name} ${v.text} is not an amount in ${currency} (${currencyExponent(currency)} decimals): ${error.message}${hint}`,
    )
  }
}

/** Tier prices in a rule are literal decimals, checked against the books' currencies at load time; never rounded. */
export function literalTierPrice(rule: LoadedRule, value: string, currency: string): bigint {
  try {
    return parseAmount(value, currency)
  } catch (error) {
    if (error instanceof MoneyError) throw new RuleEvaluationError(rule.id, `tier unit price ${value} is not an amount in ${currency}: ${error.message}`)
    throw error
  }
}

export function quantityParam(rule: LoadedRule, name: string, value: unknown, facts: RuleFacts): number {
  const v = param(rule, name, value ?? 1, facts)
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 10_000_000) {
    throw new RuleEvaluationError(rule.id, `event param ${name} must be a whole number from 1 (got ${JSON.stringify(v)})`)
  }
  return v
}

import Big from 'big.js'
import jsonLogic from 'json-logic-js'

/**
 * `{ "round": [value, decimals] }`: half-even rounding of a computed number, from its shortest
 * decimal form (so 39.9 × 0.9 = 35.910000000000004 rounds to 35.91). Amounts are never rounded
 * for a rule: a computed amount with more decimals than its currency is refused, and the rule
 * rounds it explicitly with this.
 */
function round(value: unknown, decimals: unknown = 0): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`round: ${JSON.stringify(value)} is not a finite number`)
  if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > 10)
    throw new Error('round: decimals must be a whole number from 0 to 10')
  return Number(new Big(String(value)).round(decimals, Big.roundHalfEven).toString())
}
jsonLogic.add_operation('round', round)

/**
 * json-logic operations a rule may use. Everything that could reach outside the data it is
 * given (`method` calls functions on objects) or write to the console (`log`) is left out.
 */
export const ALLOWED_LOGIC_OPS = new Set([
  'var',
  'missing',
  'missing_some',
  'if',
  '?:',
  '==',
  '===',
  '!=',
  '!==',
  '!',
  '!!',
  'or',
  'and',
  '>',
  '>=',
  '<',
  '<=',
  'max',
  'min',
  '+',
  '-',
  '*',
  '/',
  '%',
  'in',
  'cat',
  'substr',
  'map',
  'filter',
  'reduce',
  'all',
  'none',
  'some',
  'merge',
  'round',
])

export const MAX_LOGIC_DEPTH = 32
export const MAX_LOGIC_NODES = 500

/** Problems of an expression (unknown op, too deep, too big) as [json pointer suffix, message]. */
export function checkLogic(expression: unknown): Array<[string, string]> {
  const problems: Array<[string, string]> = []
  let nodes = 0
  const walk = (node: unknown, pointer: string, depth: number): void => {
    nodes++
    if (depth > MAX_LOGIC_DEPTH) {
      problems.push([pointer, `json-logic nested deeper than ${MAX_LOGIC_DEPTH}`])
      return
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${pointer}/${i}`, depth + 1))
      return
    }
    if (node === null || typeof node !== 'object') return
    const keys = Object.keys(node)
    if (keys.length !== 1) {
      problems.push([pointer, 'a json-logic operation is an object with exactly one key'])
      return
    }
    const op = keys[0]!
    if (!ALLOWED_LOGIC_OPS.has(op)) {
      problems.push([`${pointer}/${op}`, `json-logic operation "${op}" is not allowed`])
      return
    }
    walk((node as Record<string, unknown>)[op], `${pointer}/${op}`, depth + 1)
  }
  walk(expression, '', 0)
  if (nodes > MAX_LOGIC_NODES) problems.push(['', `json-logic expression larger than ${MAX_LOGIC_NODES} nodes`])
  return problems
}

/** Applies a (checked) expression to data; throws whatever json-logic throws. */
export function applyLogic(expression: unknown, data: unknown): unknown {
  return jsonLogic.apply(expression as jsonLogic.RulesLogic, data)
}

export function isLogic(value: unknown): value is { $logic: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && '$logic' in value
}

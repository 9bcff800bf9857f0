import jsonLogic from 'json-logic-js'

/**
 * json-logic operations a rule may use. Everything that could reach outside the data it is
 * given (`method` calls functions on objects) or write to the console (`log`) is left out.
 */
export const ALLOWED_LOGIC_OPS = new Set([
  'var', 'missing', 'missing_some', 'if', '?:', '==', '===', '!=', '!==', '!', '!!', 'or', 'and',
  '>', '>=', '<', '<=', 'max', 'min', '+', '-', '*', '/', '%', 'in', 'cat', 'substr',
  'map', 'filter', 'reduce', 'all', 'none', 'some', 'merge',
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

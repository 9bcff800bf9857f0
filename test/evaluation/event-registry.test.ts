import t from 'tap'
import { dispatch, type EventHandlers } from '../../src/evaluation/event-registry.js'
import type { LoadedRule } from '../../src/rules/rule.js'

function rule(id: string, set: LoadedRule['set'], event: LoadedRule['event']): LoadedRule {
  return {
    id,
    set,
    file: `${set}/x.yaml`,
    pointer: '/rules/0',
    description: 'd',
    owner: 'o',
    effective: { from: '2026-01-01' },
    priority: 1,
    scope: 'quote',
    conditions: { all: [] },
    event,
  }
}

t.test('dispatch calls the handler of the rule event type, with its params and the stage arguments', async (t) => {
  const seen: string[] = []
  const handlers: EventHandlers<'recommendations', [string[]], number> = {
    'recommend.add': ({ params }, into) => into.push(`${params.sku}×${params.quantity}`),
  }
  const r = rule('rec.a', 'recommendations', { type: 'recommend.add', params: { sku: 'SKU-1', quantity: 3, kind: 'cross_sell', reason: 'r' } })
  t.equal(dispatch(handlers, r, seen), 1)
  t.same(seen, ['SKU-1×3'])
})

t.test('a rule whose event has no handler in the stage is an error naming the rule, set and event', async (t) => {
  const handlers: EventHandlers<'recommendations', []> = { 'recommend.add': () => {} }
  const stray = rule('cfg.x', 'configuration', { type: 'config.warn', params: { message: 'm' } })
  t.throws(() => dispatch(handlers, stray), /rule cfg\.x: no configuration handler for event config\.warn/)
})

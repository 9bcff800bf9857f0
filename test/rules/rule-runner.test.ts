import t from 'tap'
import type { RuleFacts } from '../../src/rules/rule-runner.js'
import { bothRunners, ruleOf, runResult } from '../helpers/rule-runners.js'

/**
 * The reference runner shares nothing between runs: json-rules-engine keeps a run's status
 * on its Engine, so two runs on one Engine (two requests at once, or a run after one that
 * failed, whose remaining rules still settle) made the later one skip rules silently.
 */

const FACTS: RuleFacts = { quote: { currency: 'EUR' }, account: {} }
const eur = { fact: 'quote', path: '$.currency', operator: 'equal', value: 'EUR' }
const SIX = [1, 2, 3, 4, 5, 6].map((p) => ruleOf(`r.${p}`, { all: [eur, eur] }, { priority: p }))

t.test('overlapping runs on one runner each evaluate every rule', async (t) => {
  for (const { name, runner } of Object.entries(bothRunners(SIX)).map(([name, runner]) => ({ name, runner }))) {
    // The second run starts a varying number of microtasks after the first, so their steps interleave.
    for (let delay = 0; delay <= 60; delay += 6) {
      const first = runResult(runner, FACTS, 'none')
      for (let i = 0; i < delay; i++) await Promise.resolve()
      const second = runResult(runner, FACTS, 'none')
      const results = await Promise.all([first, second])
      t.same(
        results.map((r) => ('outcomes' in r ? r.outcomes.map((o) => o.id) : r)),
        [
          ['r.6', 'r.5', 'r.4', 'r.3', 'r.2', 'r.1'],
          ['r.6', 'r.5', 'r.4', 'r.3', 'r.2', 'r.1'],
        ],
        `${name}, second run ${delay} microtasks later`,
      )
    }
  }
})

t.test('a run after one that failed evaluates every rule', async (t) => {
  const failing = ruleOf('r.fails', { all: [{ fact: 'line', path: '$.sku', operator: 'equal', value: 'W' }] }, { priority: 9 })
  for (const [name, runner] of Object.entries(bothRunners([failing, ...SIX]))) {
    t.same(
      await runResult(runner, FACTS, 'none'),
      { error: { name: 'RuleEvaluationError', ruleId: 'r.fails', message: 'Undefined fact: line' } },
      `${name}: the failing run`,
    )
    const withLine = { ...FACTS, line: { sku: 'W' } }
    t.same(
      await runResult(runner, withLine, 'none'),
      { outcomes: ['r.fails', 'r.6', 'r.5', 'r.4', 'r.3', 'r.2', 'r.1'].map((id) => ({ id, fired: true })) },
      `${name}: the next run`,
    )
  }
})

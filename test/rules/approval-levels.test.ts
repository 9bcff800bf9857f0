import t from 'tap'
import { buildRuleSet, readRuleSetSources } from '../../src/rules/rule-set.js'

const ROOT = new URL('../../', import.meta.url).pathname

t.test('all approval rules of one level must share a mode', async (t) => {
  const { sources } = await readRuleSetSources(`${ROOT}rules`, `${ROOT}price-books`)
  const rule = (id: string, mode?: 'all' | 'any') => ({
    id,
    description: 'x',
    owner: 'x',
    effective: { from: '2026-01-01' },
    priority: 1,
    scope: 'quote',
    conditions: { all: [{ fact: 'quote', path: '$.lineCount', operator: 'greaterThan', value: 500 }] },
    event: { type: 'approval.require', params: { role: 'finance', level: 7, ...(mode ? { mode } : {}), reason: 'x' } },
  })
  const withRules = (...rules: object[]) => buildRuleSet({ ...sources, rules: [...sources.rules, { file: 'approvals/zz-levels.yaml', content: { rules } }] })
  t.same(withRules(rule('lvl.a', 'all'), rule('lvl.b')).errors, [], 'mode all is the default')
  t.same(withRules(rule('lvl.a', 'any'), rule('lvl.b')).errors, [
    {
      file: 'approvals/zz-levels.yaml',
      ruleId: 'lvl.b',
      path: '/rules/1/event/params/mode',
      message: 'level 7 is "any" in lvl.a: all rules of one level need the same mode',
    },
  ])
})

import t from 'tap'
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { RuleSetRegistry } from '../../src/rules/rule-set.service.js'
import { TestClock, testDatabase } from '../helpers/app.js'

const ROOT = new URL('../../', import.meta.url).pathname

t.test('after a restart with broken files, the set that served last serves again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qtc-registry-'))
  await cp(join(ROOT, 'rules'), join(dir, 'rules'), { recursive: true })
  await cp(join(ROOT, 'price-books'), join(dir, 'price-books'), { recursive: true })
  const database = await testDatabase(t)
  const clock = new TestClock()
  const deps = { db: database.db, clock, log: pino({ level: 'silent' }), rulesDir: join(dir, 'rules'), priceBooksDir: join(dir, 'price-books') }
  const file = join(dir, 'rules', 'pricing', 'term.yaml')
  const original = await readFile(file, 'utf8')

  const first = new RuleSetRegistry(deps)
  await first.start()
  const a = first.get().hash
  await writeFile(file, original.replace('"10"', '"11"'))
  clock.advance(1000)
  const b = (await first.reload(null)).ruleSet!.hash
  t.not(b, a, 'a second set')
  await writeFile(file, original)
  clock.advance(1000)
  t.equal((await first.reload(null)).ruleSet!.hash, a, 'back to the first set, published earlier')

  await writeFile(file, 'rules: [ { id: broken } ]\n')
  const restarted = new RuleSetRegistry(deps)
  await restarted.start()
  t.equal(restarted.get().hash, a, 'the last set in service, not the last one first published')
  const activations = await database.db.selectFrom('rule_set_activations').select('rule_set_hash').orderBy('id').execute()
  t.same(activations.map((r) => r.rule_set_hash), [a, b, a])
})

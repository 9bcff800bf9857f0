import t from 'tap'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { RuleSetRegistry } from '../../src/rules/rule-set.service.js'
import { buildApp } from '../../src/app.js'
import { buildTestApp, TestClock, testConfig, testDatabase, type Teardown } from '../helpers/app.js'

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
  t.same(
    activations.map((r) => r.rule_set_hash),
    [a, b, a],
  )
})

/** A registry over a private copy of the demo files, which the test may break. */
async function copyOfDemo(t: Teardown) {
  const dir = await mkdtemp(join(tmpdir(), 'qtc-registry-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await cp(join(ROOT, 'rules'), join(dir, 'rules'), { recursive: true })
  await cp(join(ROOT, 'price-books'), join(dir, 'price-books'), { recursive: true })
  return { rulesDir: join(dir, 'rules'), priceBooksDir: join(dir, 'price-books') }
}

const TERM_CONDITION = '- { fact: line, path: $.termMonths, operator: between, value: [24, 35] }'

t.test('numbers JSON cannot hold are refused as validation errors naming file, rule and path', async (t) => {
  const dirs = await copyOfDemo(t)
  const database = await testDatabase(t)
  const registry = new RuleSetRegistry({ db: database.db, clock: new TestClock(), log: pino({ level: 'silent' }), ...dirs })
  await registry.start()
  const served = registry.get().hash
  const term = join(dirs.rulesDir, 'pricing', 'term.yaml')
  const original = await readFile(term, 'utf8')
  t.ok(original.includes(TERM_CONDITION), 'the fixture line is there')

  for (const [literal, message] of [
    ['1e400', 'must be a finite number, not Infinity (.inf, or too large, like 1e400)'],
    ['.inf', 'must be a finite number, not Infinity (.inf, or too large, like 1e400)'],
    ['-.inf', 'must be a finite number, not -Infinity (.inf, or too large, like 1e400)'],
    ['.nan', 'must be a finite number, not NaN (.nan)'],
  ] as const) {
    await writeFile(
      term,
      original.replace(TERM_CONDITION, `${TERM_CONDITION}\n        - { fact: line, path: $.quantity, operator: lessThan, value: ${literal} }`),
    )
    const { ruleSet, errors, changed } = await registry.reload(null)
    t.equal(ruleSet, undefined, `${literal}: no set`)
    t.equal(changed, false)
    t.same(
      errors,
      [{ file: 'pricing/term.yaml', ruleId: 'price.term-24-months', path: '/rules/0/conditions/all/3/value', message }],
      `${literal}: file, rule id and path`,
    )
    t.equal(registry.get().hash, served, `${literal}: the old set keeps serving`)
  }
  await writeFile(term, original)

  const book = join(dirs.priceBooksDir, 'eur-list.yaml')
  const prices = await readFile(book, 'utf8')
  await writeFile(book, prices.replace('priority: 0', 'priority: .inf').replace('cost: "780.00"', 'cost: 1e999'))
  const books = await registry.reload(null)
  t.same(
    books.errors.map((e) => [e.file, e.ruleId, e.path]),
    [
      ['eur-list.yaml', undefined, '/priority'],
      ['eur-list.yaml', undefined, '/entries/14/cost'],
    ],
    'price books too, every one at once, with no rule id outside rules',
  )
  t.equal(registry.get().hash, served)
  const activations = await database.db.selectFrom('rule_set_activations').select('id').execute()
  t.equal(activations.length, 1, 'nothing was activated')
})

t.test('text PostgreSQL cannot store (U+0000, lone surrogates) is a validation error, not a database failure', async (t) => {
  const dirs = await copyOfDemo(t)
  const database = await testDatabase(t)
  const registry = new RuleSetRegistry({ db: database.db, clock: new TestClock(), log: pino({ level: 'silent' }), ...dirs })
  await registry.start()
  const term = join(dirs.rulesDir, 'pricing', 'term.yaml')
  const original = await readFile(term, 'utf8')
  await writeFile(term, original.replace('label: "Multi-year commitment (24 months)"', 'label: "Multi-year\\0commitment"'))
  const { ruleSet, errors } = await registry.reload(null)
  t.equal(ruleSet, undefined)
  t.same(errors, [
    {
      file: 'pricing/term.yaml',
      ruleId: 'price.term-24-months',
      path: '/rules/0/event/params/label',
      message: 'the NUL character (\\0) is not allowed in text',
    },
  ])
  await writeFile(term, original.replace('label: "Multi-year commitment (24 months)"', 'label: "Multi-year"\n        "lone\\udc00/key": x'))
  const surrogate = await registry.reload(null)
  t.same(
    surrogate.errors,
    [
      {
        file: 'pricing/term.yaml',
        ruleId: 'price.term-24-months',
        path: '/rules/0/event/params/lone\udc00~1key',
        message: 'in a key: text must be valid Unicode: a lone surrogate (\\ud800–\\udfff) is not allowed',
      },
    ],
    'in a key, with the key escaped in the pointer',
  )
  t.equal((await database.db.selectFrom('rule_set_versions').select('rule_set_hash').execute()).length, 1, 'nothing new was stored')
})

t.test('any failure while loading at start-up falls back to the set last in service', async (t) => {
  const dirs = await copyOfDemo(t)
  const database = await testDatabase(t)
  const logged: Array<{ msg: string; errors?: string[] }> = []
  const log = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) })
  const deps = { db: database.db, clock: new TestClock(), log, ...dirs }
  const first = new RuleSetRegistry(deps)
  await first.start()
  const served = first.get()

  const term = join(dirs.rulesDir, 'pricing', 'term.yaml')
  const original = await readFile(term, 'utf8')
  await writeFile(term, original.replace(TERM_CONDITION, `${TERM_CONDITION}\n        - { fact: line, path: $.quantity, operator: lessThan, value: .inf }`))
  const overflowing = new RuleSetRegistry(deps)
  await overflowing.start()
  t.equal(overflowing.get().hash, served.hash, 'a non-finite number: the last set serves')
  t.equal(overflowing.problem(), null, 'and the instance is ready')
  t.match(logged.find((l) => l.msg === 'rule files are invalid; they are not served')?.errors, [
    'pricing/term.yaml [price.term-24-months] /rules/0/conditions/all/3/value: must be a finite number, not Infinity (.inf, or too large, like 1e400)',
  ])
  t.ok(logged.some((l) => l.msg === 'serving the last rule set in service instead'))
  await writeFile(term, original)

  const missing = new RuleSetRegistry({ ...deps, rulesDir: join(dirs.rulesDir, 'no-such-folder') })
  await missing.start()
  t.equal(missing.get().hash, served.hash, 'a missing folder: the last set serves')
  t.equal(missing.get().priceBookHash, served.priceBookHash)
  const reload = await missing.reload(null)
  t.match(reload.errors, [{ file: '.', path: '', message: /^cannot read the folder .*no-such-folder: ENOENT/ }], 'a reload names the folder')

  const fresh = await testDatabase(t)
  const nothing = new RuleSetRegistry({ ...deps, db: fresh.db, rulesDir: join(dirs.rulesDir, 'no-such-folder') })
  await nothing.start()
  t.equal(nothing.isLoaded(), false, 'nothing ever served: not loaded, and start-up did not throw')
  t.equal(nothing.problem(), 'no valid rule set loaded')
})

t.test('an instance follows the set another instance activates, and stops following on request', async (t) => {
  const dirs = await copyOfDemo(t)
  const database = await testDatabase(t)
  const log = pino({ level: 'silent' })
  const clock = new TestClock()
  // Two registries on one database are two instances, as far as activations go.
  const a = new RuleSetRegistry({ db: database.db, clock, log, ...dirs })
  const b = new RuleSetRegistry({ db: database.db, clock, log, ...dirs })
  await a.start()
  await b.start()
  t.equal(b.get().hash, a.get().hash)
  const before = a.get()
  b.follow(100)
  t.teardown(() => b.stopFollowing())

  const book = join(dirs.priceBooksDir, 'eur-list.yaml')
  await writeFile(book, (await readFile(book, 'utf8')).replace('{ sku: GW-200, listPrice: "1290.00"', '{ sku: GW-200, listPrice: "1390.00"'))
  const reloaded = await a.reload(null)
  t.equal(reloaded.changed, true)
  t.equal(reloaded.ruleSet!.hash, before.hash, 'same rules')
  t.not(reloaded.ruleSet!.priceBookHash, before.priceBookHash, 'new prices')
  t.not(b.get().priceBookHash, reloaded.ruleSet!.priceBookHash, 'B has not polled yet')

  const converged = await until(() => b.get().priceBookHash === reloaded.ruleSet!.priceBookHash)
  t.ok(converged, 'B serves the new price books within the bound')
  t.equal(
    b
      .get()
      .priceBooks.books.find((x) => x.id === 'eur-list')!
      .entries.get('GW-200')!.listMinor,
    139000n,
    'rebuilt from the stored sources, with the new price',
  )
  t.equal(b.problem(), null)

  // B's files still hold the old price: reloading them on B activates them again, and A follows.
  a.follow(100)
  t.teardown(() => a.stopFollowing())
  await writeFile(book, (await readFile(book, 'utf8')).replace('listPrice: "1390.00"', 'listPrice: "1290.00"'))
  const back = await b.reload(null)
  t.equal(back.changed, true, 'B activates its files: they differ from the activated set')
  t.ok(await until(() => a.get().priceBookHash === before.priceBookHash), 'A follows back')

  await b.stopFollowing()
  await a.stopFollowing()
  const activations = await database.db.selectFrom('rule_set_activations').select('price_book_hash').orderBy('id').execute()
  t.same(
    activations.map((r) => r.price_book_hash),
    [before.priceBookHash, reloaded.ruleSet!.priceBookHash, before.priceBookHash],
    'one activation per change, none for a start on the activated set',
  )
})

t.test('an activated set this instance cannot build leaves it serving the old set, and not ready', async (t) => {
  const dirs = await copyOfDemo(t)
  const database = await testDatabase(t)
  const clock = new TestClock()
  const registry = new RuleSetRegistry({ db: database.db, clock, log: pino({ level: 'silent' }), ...dirs })
  await registry.start()
  const served = registry.get().hash
  // A set stored by a newer version whose rules this version's checks refuse.
  const sources = structuredClone(registry.get().sources)
  ;(sources.rules[0]!.content as { rules: Array<{ priority: unknown }> }).rules[0]!.priority = 'urgent'
  await database.db
    .insertInto('rule_set_versions')
    .values({
      rule_set_hash: 'f'.repeat(64),
      price_book_hash: registry.get().priceBookHash,
      sources: JSON.stringify(sources),
      summary: '{}',
      published_by: null,
      published_at: clock.now(),
    })
    .execute()
  await database.db
    .insertInto('rule_set_activations')
    .values({ rule_set_hash: 'f'.repeat(64), price_book_hash: registry.get().priceBookHash, activated_by: null, activated_at: clock.now() })
    .execute()
  registry.follow(100)
  t.teardown(() => registry.stopFollowing())
  t.ok(await until(() => registry.problem() !== null), 'the failure is noticed')
  t.match(registry.problem(), new RegExp(`^cannot serve the activated rule set f{64} \\(1 error\\(s\\), see the log\\); still serving ${served}$`))
  t.equal(registry.get().hash, served, 'the old set keeps serving')
  const app = await buildApp({ config: testConfig(), database, clock, ruleSets: registry })
  t.teardown(() => app.close())
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 503, 'not ready: it would price differently from the other instances')
  t.equal(ready.json().detail, `Not ready: ruleSet: ${registry.problem()}.`)
})

/** Waits (bounded: 5 s) for a condition that a poll makes true. */
async function until(condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return condition()
}

t.test('over HTTP: a reload with an overflowing number is a 422 naming file, rule and path; start-up survives it', async (t) => {
  const dirs = await copyOfDemo(t)
  const term = join(dirs.rulesDir, 'pricing', 'term.yaml')
  const original = await readFile(term, 'utf8')
  const { app, as } = await buildTestApp(t, dirs)
  const before = (await app.inject({ method: 'GET', url: '/ready' })).json()
  await writeFile(term, original.replace(TERM_CONDITION, `${TERM_CONDITION}\n        - { fact: line, path: $.quantity, operator: lessThan, value: 1e400 }`))
  const refused = await app.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: as('pricing_analyst') })
  t.equal(refused.statusCode, 422)
  t.match(refused.headers['content-type'], /^application\/problem\+json/)
  t.equal(refused.json().code, 'RULE_SET_INVALID')
  t.same(refused.json().errors, [
    {
      pointer: '/rules/0/conditions/all/3/value',
      detail: 'must be a finite number, not Infinity (.inf, or too large, like 1e400)',
      file: 'pricing/term.yaml',
      ruleId: 'price.term-24-months',
    },
  ])
  const after = (await app.inject({ method: 'GET', url: '/ready' })).json()
  t.same([after.status, after.ruleSetHash, after.priceBookHash], ['ready', before.ruleSetHash, before.priceBookHash], 'the old set keeps serving')
})

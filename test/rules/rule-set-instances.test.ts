import t from 'tap'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { createPrincipal } from '../../src/principals/principal.service.js'
import { onPostgres, TestClock, testConfig, testDatabase } from '../helpers/app.js'

const ROOT = new URL('../../', import.meta.url).pathname

t.test('RULE_SET_POLL_MS: 2000 by default, 100 to 60000', async (t) => {
  t.equal(loadConfig({}).ruleSetPollMs, 2000)
  t.equal(loadConfig({ RULE_SET_POLL_MS: '100' }).ruleSetPollMs, 100)
  t.throws(() => loadConfig({ RULE_SET_POLL_MS: '99' }), new ConfigError('Invalid RULE_SET_POLL_MS=99: Expected integer to be greater or equal to 100'))
  t.throws(() => loadConfig({ RULE_SET_POLL_MS: '60001' }), ConfigError)
})

const CART = {
  currency: 'EUR',
  date: '2026-12-01',
  account: { id: 'acc_1', segment: 'smb', country: 'FR' },
  lines: [{ sku: 'GW-200', quantity: 4 }],
}

t.test(
  'two instances on one PostgreSQL serve the set activated on either',
  { skip: onPostgres ? false : 'needs two processes on one database: PostgreSQL only (set DATABASE_URL)' },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'qtc-instances-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    await cp(join(ROOT, 'rules'), join(dir, 'rules'), { recursive: true })
    await cp(join(ROOT, 'price-books'), join(dir, 'price-books'), { recursive: true })
    // One configuration object: both instances use the same schema, as two servers would.
    const config = testConfig({ rulesDir: join(dir, 'rules'), priceBooksDir: join(dir, 'price-books'), ruleSetPollMs: 100 })
    const databaseA = await testDatabase(t, config)
    const databaseB = await testDatabase(t, config)
    const clock = new TestClock()
    const a = await buildApp({ config, database: databaseA, clock })
    t.teardown(() => a.close())
    const b = await buildApp({ config, database: databaseB, clock })
    t.teardown(() => b.close())
    const analyst = (await createPrincipal({ db: databaseA.db, clock }, { name: 'Analyst', roles: ['pricing_analyst'] }, null)).body.apiKey!
    const rep = (await createPrincipal({ db: databaseA.db, clock }, { name: 'Rep', roles: ['sales_rep'] }, null)).body.apiKey!
    const evaluate = async (app: typeof a) => {
      const res = await app.inject({ method: 'POST', url: '/v1/quotes/evaluate', headers: { authorization: `Bearer ${rep}` }, payload: CART })
      if (res.statusCode !== 200) t.fail(res.body)
      return res.json() as { ruleSetHash: string; priceBookHash: string; lines: Array<{ listAmount: string }> }
    }
    const ready = async (app: typeof a) =>
      (await app.inject({ method: 'GET', url: '/ready' })).json() as { status: string; ruleSetHash: string; priceBookHash: string }
    const hashes = ({ ruleSetHash, priceBookHash }: { ruleSetHash: string; priceBookHash: string }) => ({ ruleSetHash, priceBookHash })

    const before = await evaluate(b)
    t.equal(before.lines[0]!.listAmount, '5160.00', '4 × 1290.00')
    t.same(hashes(await ready(b)), hashes(await ready(a)), 'both serve one set')
    t.same(hashes(await ready(b)), hashes(before), '/ready reports the hashes the evaluation used')

    const book = join(dir, 'price-books', 'eur-list.yaml')
    await writeFile(book, (await readFile(book, 'utf8')).replace('{ sku: GW-200, listPrice: "1290.00"', '{ sku: GW-200, listPrice: "1380.00"'))
    const reload = await a.inject({ method: 'POST', url: '/v1/rule-sets/reload', headers: { authorization: `Bearer ${analyst}` } })
    t.equal(reload.statusCode, 200, 'reloaded on A')
    t.equal(reload.json().changed, true)
    const activated = { ruleSetHash: reload.json().ruleSetHash, priceBookHash: reload.json().priceBookHash }
    t.not(activated.priceBookHash, before.priceBookHash)
    t.equal((await evaluate(a)).lines[0]!.listAmount, '5520.00', 'A prices with the new book at once')

    // Bounded wait: the poll runs every 100 ms; 5 s covers a loaded machine.
    let seen = await ready(b)
    for (let i = 0; i < 100 && seen.priceBookHash !== activated.priceBookHash; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      seen = await ready(b)
    }
    t.match(seen, { status: 'ready', ...activated }, 'B reports the activated hashes on /ready')
    const after = await evaluate(b)
    t.same(hashes(after), activated, 'B evaluates with the activated hashes')
    t.equal(after.lines[0]!.listAmount, '5520.00', 'and the new price: 4 × 1380.00')
    const current = (await b.inject({ method: 'GET', url: '/v1/rule-sets/current', headers: { authorization: `Bearer ${analyst}` } })).json()
    t.same(hashes(current), activated)
  },
)

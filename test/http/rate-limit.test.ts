import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { buildApp } from '../../src/app.js'
import { RATE_LIMIT_BUCKETS } from '../../src/http/rate-limit.js'
import { buildTestApp } from '../helpers/app.js'

const junk = () => ({ authorization: `Bearer qtc_${randomBytes(24).toString('hex')}` })

t.test('the rate limit counts failed authentications and keys, not header spellings', async (t) => {
  const { app, keys } = await buildTestApp(t, { rateLimitPerMinute: 3 })
  const bad = { authorization: 'Bearer qtc_not-a-real-key-but-long-enough-to-be-looked-up' }
  const codes = []
  for (let i = 0; i < 4; i++) codes.push((await app.inject({ method: 'GET', url: '/v1/principals/me', headers: bad })).statusCode)
  t.same(codes, [401, 401, 401, 429], 'guessing keys is limited too')
  const spellings = [`Bearer ${keys.admin}`, `bearer ${keys.admin}`, `Bearer   ${keys.admin}  `, `Bearer ${keys.admin}`]
  const answers = []
  for (const authorization of spellings) answers.push((await app.inject({ method: 'GET', url: '/v1/principals/me', headers: { authorization } })).statusCode)
  t.same(answers, [200, 200, 200, 429], 'one key, one bucket, however the header is written')
  const limited = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: { authorization: `Bearer ${keys.admin}` } })
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/principals/me', headers: { authorization: `Bearer ${keys.finance}` } })).statusCode,
    200,
    'another key has its own bucket',
  )
})

t.test('rotating junk keys is limited per client address', async (t) => {
  const { app, as } = await buildTestApp(t, { rateLimitPerMinute: 3 })
  const fromA = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/v1/principals/me', headers, remoteAddress: '203.0.113.7' })
  const codes = []
  for (let i = 0; i < 5; i++) codes.push((await fromA(junk())).statusCode)
  t.same(codes, [401, 401, 401, 429, 429], 'a new junk key each time does not buy a new budget')
  t.equal((await fromA({})).statusCode, 429, 'nor does sending no key at all')
  const other = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: junk(), remoteAddress: '203.0.113.8' })
  t.equal(other.statusCode, 401, 'another address has its own budget')
  const valid = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: as('sales_rep'), remoteAddress: '203.0.113.7' })
  t.equal(valid.statusCode, 200, 'a key that authenticates counts against its principal, not the address')
  const v6 = (suffix: string) => app.inject({ method: 'GET', url: '/v1/principals/me', headers: junk(), remoteAddress: `2001:db8:1:2:${suffix}` })
  const sameSubnet = []
  for (const suffix of ['0:0:0:1', '0:0:0:2', 'a:b:c:d', 'ffff:ffff:ffff:ffff']) sameSubnet.push((await v6(suffix)).statusCode)
  t.same(sameSubnet, [401, 401, 401, 429], 'IPv6 addresses of one /64 share a budget')
})

t.test('a flood of junk from many addresses cannot evict a limited key', async (t) => {
  const { app, as } = await buildTestApp(t, { rateLimitPerMinute: 2 })
  const me = () => app.inject({ method: 'GET', url: '/v1/principals/me', headers: as('sales_rep') })
  t.same([(await me()).statusCode, (await me()).statusCode, (await me()).statusCode], [200, 200, 429], 'the key is limited')
  // More distinct junk keys and addresses than the old shared store held (5,000 buckets).
  const flood = 5_200
  t.same(RATE_LIMIT_BUCKETS, { principals: 10_000, addresses: 50_000 }, 'the documented store sizes')
  t.ok(flood > 5_000 && flood < RATE_LIMIT_BUCKETS.addresses, 'the flood overflows the old store, not the address store')
  for (let i = 0; i < flood; i++) {
    // Short junk: refused without a database lookup, which keeps the flood quick.
    await app.inject({
      method: 'GET',
      url: '/v1/principals/me',
      headers: { authorization: `Bearer junk-${i}` },
      remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    })
  }
  t.equal((await me()).statusCode, 429, 'still limited after the flood')
})

t.test('health and readiness are never limited', async (t) => {
  const { app } = await buildTestApp(t, { rateLimitPerMinute: 2 })
  const codes = []
  for (let i = 0; i < 5; i++) {
    codes.push((await app.inject({ method: 'GET', url: '/health' })).statusCode, (await app.inject({ method: 'GET', url: '/ready' })).statusCode)
  }
  t.same(codes, Array(10).fill(200), 'probes always answer')
  const docs = []
  for (let i = 0; i < 3; i++) docs.push((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode)
  t.same(docs, [200, 200, 429], 'other public routes count against the address')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'an address over its budget still gets its probes answered')
})

t.test('a 429 carries the limit headers and no-store', async (t) => {
  const { app, as } = await buildTestApp(t, { rateLimitPerMinute: 1 })
  const first = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: as('finance') })
  t.equal(first.headers['x-ratelimit-limit'], '1')
  t.equal(first.headers['x-ratelimit-remaining'], '0')
  const res = await app.inject({ method: 'GET', url: '/v1/principals/me', headers: as('finance') })
  t.equal(res.statusCode, 429)
  t.match(res.json().detail, /^Too many requests: at most 1 a minute\. Retry after \d+ seconds\.$/)
  t.ok(Number(res.headers['retry-after']) > 0 && Number(res.headers['retry-after']) <= 60, 'Retry-After within the minute')
  t.equal(res.headers['cache-control'], 'no-store')
})

const redisUrl = process.env.REDIS_URL
t.test(
  'several instances share one budget through Redis',
  { skip: redisUrl ? false : 'set REDIS_URL (e.g. redis://127.0.0.1:6379) to run against a Redis' },
  async (t) => {
    const ctx = await buildTestApp(t, { rateLimitPerMinute: 3, rateLimitRedisUrl: redisUrl! })
    const second = await buildApp({ config: ctx.config, database: ctx.database, clock: ctx.clock })
    t.teardown(() => second.close())
    const instances = [ctx.app, second]
    const codes = []
    for (let i = 0; i < 4; i++)
      codes.push((await instances[i % 2]!.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('deal_desk') })).statusCode)
    t.same(codes, [200, 200, 200, 429], 'a budget of 3 across both instances')
    // A random address, so that a run within a minute of the last one starts afresh.
    const address = `198.51.${randomBytes(1)[0]}.${randomBytes(1)[0]}`
    const junkCodes = []
    for (let i = 0; i < 4; i++)
      junkCodes.push((await instances[i % 2]!.inject({ method: 'GET', url: '/v1/principals/me', headers: junk(), remoteAddress: address })).statusCode)
    t.same(junkCodes, [401, 401, 401, 429], 'failed authentications too')
    const redis = new Redis(redisUrl!)
    t.teardown(() => redis.disconnect())
    const stored = await redis.keys(`qtc-rate-limit-*principal:${ctx.principalIds.deal_desk}`)
    t.equal(stored.length, 1, 'the bucket lives in Redis')
    t.equal(await redis.get(stored[0]!), '4')
  },
)

t.test('an unreachable Redis does not take the API down', async (t) => {
  // Port 9 (discard) on localhost: nothing listens there.
  const ctx = await buildTestApp(t, { rateLimitPerMinute: 3, rateLimitRedisUrl: 'redis://127.0.0.1:9' })
  const res = await ctx.app.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('admin') })
  t.equal(res.statusCode, 200, 'served, unlimited, while the store is down')
})

import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults give an embedded database in ./.qtc-data with demo seeding', async (t) => {
  const config = loadConfig({}, '/srv/qtc')
  t.equal(config.port, 3000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.databaseUrl, null)
  t.equal(config.dataDir, '/srv/qtc/.qtc-data')
  t.equal(config.rulesDir, '/srv/qtc/rules')
  t.equal(config.priceBooksDir, '/srv/qtc/price-books')
  t.equal(config.seedDemo, true)
  t.equal(config.maxCartLines, 10_000)
  t.ok(Object.isFrozen(config))
})

t.test('a real database never seeds demo principals by default', async (t) => {
  const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' }, '/srv')
  t.equal(config.seedDemo, false)
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://x/y', QTC_SEED_DEMO: 'true' }), /QTC_SEED_DEMO/)
})

t.test('a bad value names its variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^Invalid PORT="eighty"/],
    [{ PORT: '70000' }, /^Invalid PORT=70000/],
    [{ DATABASE_URL: 'mysql://x' }, /^Invalid DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /^Invalid LOG_LEVEL/],
    [{ QTC_BOOTSTRAP_ADMIN_KEY: 'admin' }, /^Invalid QTC_BOOTSTRAP_ADMIN_KEY=\(hidden\)/],
    [{ MAX_CART_LINES: '0' }, /^Invalid MAX_CART_LINES/],
    [{ QTC_SEED_DEMO: 'maybe' }, /^Invalid QTC_SEED_DEMO/],
    [{ DATABASE_SCHEMA: 'Robert; DROP' }, /^Invalid DATABASE_SCHEMA/],
  ]
  for (const [env, message] of cases) {
    const error = (() => {
      try {
        loadConfig(env)
      } catch (e) {
        return e
      }
    })()
    t.ok(error instanceof ConfigError, `${JSON.stringify(env)} is refused`)
    t.match((error as Error).message, message)
  }
})

t.test('a bad DATABASE_URL is named without its password', async (t) => {
  try {
    loadConfig({ DATABASE_URL: 'mysql://admin:s3cret@db.internal/qtc' })
    t.fail('should throw')
  } catch (error) {
    t.match((error as Error).message, /^Invalid DATABASE_URL="mysql:\/\/admin:\*\*\*@db\.internal\/qtc"/)
    t.notMatch((error as Error).message, /s3cret/)
  }
})

t.test('RATE_LIMIT_REDIS_URL: absent by default, a redis:// URL, named without its password', async (t) => {
  t.equal(loadConfig({}).rateLimitRedisUrl, null, 'in memory unless set')
  t.equal(loadConfig({ RATE_LIMIT_REDIS_URL: 'rediss://cache.internal:6380/2' }).rateLimitRedisUrl, 'rediss://cache.internal:6380/2')
  t.equal(loadConfig({}).rateLimitPerMinute, 600)
  try {
    loadConfig({ RATE_LIMIT_REDIS_URL: 'http://:s3cret@cache.internal' })
    t.fail('should throw')
  } catch (error) {
    t.ok(error instanceof ConfigError)
    t.match((error as Error).message, /^Invalid RATE_LIMIT_REDIS_URL="http:\/\/:\*\*\*@cache\.internal"/)
    t.notMatch((error as Error).message, /s3cret/)
  }
  t.throws(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '0' }), /^Invalid RATE_LIMIT_PER_MINUTE/)
})

t.test('webhook settings: defaults, bounds, and a network list checked address by address', async (t) => {
  const config = loadConfig({})
  t.same([config.webhookAllowHttp, config.webhookAllowedNetworks, config.webhookTimeoutMs, config.webhookMaxAttempts], [false, [], 10_000, 8])
  t.same(loadConfig({ QTC_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1, 10.0.0.0/8,fd00::/8' }).webhookAllowedNetworks, ['127.0.0.1', '10.0.0.0/8', 'fd00::/8'])
  t.throws(() => loadConfig({ QTC_WEBHOOK_ALLOWED_NETWORKS: '10.0.0.0/33' }), /^Invalid QTC_WEBHOOK_ALLOWED_NETWORKS: "10.0.0.0\/33"/)
  t.throws(() => loadConfig({ QTC_WEBHOOK_ALLOWED_NETWORKS: 'localhost' }), /QTC_WEBHOOK_ALLOWED_NETWORKS/)
  t.throws(() => loadConfig({ QTC_WEBHOOK_MAX_ATTEMPTS: '21' }), /^Invalid QTC_WEBHOOK_MAX_ATTEMPTS/)
  t.throws(() => loadConfig({ QTC_WEBHOOK_TIMEOUT_MS: '60001' }), /^Invalid QTC_WEBHOOK_TIMEOUT_MS/)
  t.equal(loadConfig({ QTC_WEBHOOK_ALLOW_HTTP: 'true' }).webhookAllowHttp, true)
})

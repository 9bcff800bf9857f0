import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

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
  t.equal((await app.inject({ method: 'GET', url: '/v1/principals/me', headers: { authorization: `Bearer ${keys.finance}` } })).statusCode, 200, 'another key has its own bucket')
})

import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

const ctx = await buildTestApp(t)
const { app } = ctx

t.test('every response of a route that needs a key is no-store, errors included', async (t) => {
  const created = await app.inject({ method: 'POST', url: '/v1/principals', headers: ctx.as('admin'), payload: { name: 'Integration', roles: ['sales_rep'] } })
  t.equal(created.statusCode, 201)
  t.match(created.json().apiKey, /^qtc_/, 'the answer holds a new API key')
  t.equal(created.headers['cache-control'], 'no-store', 'so no cache may keep it')

  const cases = {
    'a read': await app.inject({ method: 'GET', url: '/v1/principals/me', headers: ctx.as('sales_rep') }),
    'a list': await app.inject({ method: 'GET', url: '/v1/quotes', headers: ctx.as('sales_rep') }),
    'a 400': await app.inject({ method: 'POST', url: '/v1/accounts', headers: ctx.as('sales_rep'), payload: {} }),
    'a 401': await app.inject({ method: 'GET', url: '/v1/principals/me' }),
    'a 403': await app.inject({ method: 'GET', url: '/v1/principals', headers: ctx.as('sales_rep') }),
    'a 404 object': await app.inject({ method: 'GET', url: '/v1/quotes/qt_nope', headers: ctx.as('sales_rep') }),
    'a 404 route': await app.inject({ method: 'GET', url: '/v1/nowhere', headers: ctx.as('sales_rep') }),
  }
  t.same(
    Object.values(cases).map((r) => r.statusCode),
    [200, 200, 400, 401, 403, 404, 404],
  )
  for (const [name, res] of Object.entries(cases)) t.equal(res.headers['cache-control'], 'no-store', name)
})

t.test('public routes keep their own caching', async (t) => {
  for (const url of ['/health', '/openapi.json']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], undefined, `${url} says nothing about caching`)
  }
})

import t, { type Test } from 'tap'
import { connect } from 'node:net'
import { clientErrorHandler } from '../../src/http/client-errors.js'
import { buildTestApp } from '../helpers/app.js'

/**
 * Errors answered before a route runs (by Node's HTTP parser or Fastify's router) are
 * problem+json too, with a request id, and never echo the request. Tested over a real socket:
 * `inject` bypasses Node's parser.
 */

const ctx = await buildTestApp(t)
await ctx.app.listen({ port: 0, host: '127.0.0.1' })
const port = (ctx.app.server.address() as { port: number }).port

/** Sends raw bytes and returns the whole answer (the server closes after these errors). */
function raw(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (c) => chunks.push(c))
    socket.on('error', () => undefined) // the server may reset after answering
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const [head, ...rest] = text.split('\r\n\r\n')
      const [statusLine, ...lines] = (head ?? '').split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      if (!statusLine) return reject(new Error('no answer'))
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') })
    })
    socket.write(request)
  })
}

function assertProblem(t: Test, res: Awaited<ReturnType<typeof raw>>, status: number, code: string, secret: string) {
  t.equal(res.status, status, `status ${status}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  const body = JSON.parse(res.body)
  t.equal(body.status, status)
  t.equal(body.code, code)
  t.match(body.instance, /^req_[0-9a-f]{32}$/, 'a request id')
  t.equal(res.headers['x-request-id'], body.instance, 'the same id in the header')
  t.type(body.detail, 'string')
  t.notOk(res.body.includes(secret), 'the input is not echoed')
  return body
}

t.test('a path parameter too long: 414 problem without the path', async (t) => {
  const secret = `SECRET${'x'.repeat(300)}`
  const res = await raw(`GET /v1/quotes/${secret} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  const body = assertProblem(t, res, 414, 'URI_TOO_LONG', 'SECRET')
  t.equal(body.title, 'URI Too Long')
  t.equal(body.detail, 'A path segment is longer than 200 characters.')
})

t.test('a malformed percent-encoding: 400 problem without the path', async (t) => {
  const res = await raw('GET /v1/quotes/SECRET%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assertProblem(t, res, 400, 'MALFORMED_REQUEST', 'SECRET')
})

t.test('headers too large: 431 problem', async (t) => {
  const res = await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: SECRET${'y'.repeat(20_000)}\r\n\r\n`)
  const body = assertProblem(t, res, 431, 'HEADERS_TOO_LARGE', 'SECRET')
  t.equal(body.title, 'Request Header Fields Too Large')
  t.equal(body.detail, 'The request line and headers are larger than 16384 bytes together.', "Node's default, as documented")
})

t.test('too many headers: 431 problem', async (t) => {
  const headers = Array.from({ length: 3000 }, (_, i) => `X-H${i}: SECRET\r\n`).join('')
  const res = await raw(`GET /health HTTP/1.1\r\nHost: x\r\n${headers}\r\n`)
  assertProblem(t, res, 431, 'HEADERS_TOO_LARGE', 'SECRET')
})

t.test('a URL too long for the request line: 431 problem without the URL', async (t) => {
  const res = await raw(`GET /v1/quotes?q=SECRET${'z'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
  assertProblem(t, res, 431, 'HEADERS_TOO_LARGE', 'SECRET')
})

t.test('a malformed request: 400 problem', async (t) => {
  const res = await raw('GET /health HTTP/1.1\r\nHost: x\r\nBad\u0000Header: SECRET\r\n\r\n')
  assertProblem(t, res, 400, 'MALFORMED_REQUEST', 'SECRET')
})

t.test('a NUL in a header value: 400 problem', async (t) => {
  const res = await raw('GET /v1/principals/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRET\u0000x\r\n\r\n')
  assertProblem(t, res, 400, 'MALFORMED_REQUEST', 'SECRET')
})

t.test('the server still answers normally after these', async (t) => {
  const res = await raw('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), { status: 'ok' })
})

t.test('a request not received in time: 408 problem', async (t) => {
  // Node raises this after its requestTimeout (5 minutes): called directly rather than waited for.
  let written = ''
  let destroyed = false
  const socket = { destroyed: false, writable: true, write: (s: string) => (written += s), destroy: () => (destroyed = true) }
  const handler = clientErrorHandler(() => 'req_00000000000000000000000000000408')
  handler.call(ctx.app as never, Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }) as never, socket as never)
  t.match(written, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  const body = JSON.parse(written.split('\r\n\r\n')[1]!)
  t.same(body, {
    type: 'urn:qtc:problem:request-timeout',
    title: 'Request Timeout',
    status: 408,
    detail: 'The request was not received in time.',
    code: 'REQUEST_TIMEOUT',
    instance: 'req_00000000000000000000000000000408',
  })
  t.ok(destroyed, 'the connection is closed')
  written = ''
  handler.call(ctx.app as never, Object.assign(new Error('reset'), { code: 'ECONNRESET' }) as never, socket as never)
  t.equal(written, '', 'nobody to answer on a reset connection')
})

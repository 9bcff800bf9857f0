import t from 'tap'
import { readFileSync } from 'node:fs'
import { ERROR_STATUS } from '../../src/errors.js'

/** docs/api.md's error table lists every error code the service can answer, each with its HTTP status. */

const documented = (() => {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8')
  const section = doc.slice(doc.indexOf('| code | status | when |'))
  const rows = section.slice(0, section.indexOf('\n\n')).split('\n').slice(2)
  return new Map(
    rows.map((row) => {
      const [, code = '', status = ''] = /^\| `([A-Z_]+)` \| (\d{3}) \|/.exec(row) ?? []
      return [code, Number(status)] as const
    }),
  )
})()

t.test('every error code is in the table with its status, and the table names no other', async (t) => {
  t.same([...documented.keys()].sort(), Object.keys(ERROR_STATUS).sort(), 'the same codes')
  for (const [code, status] of Object.entries(ERROR_STATUS)) t.equal(documented.get(code), status, `${code} → ${status}`)
})

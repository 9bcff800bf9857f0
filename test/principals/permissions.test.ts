import t from 'tap'
import { readFileSync } from 'node:fs'
import { AS_OF_ROLES } from '../../src/evaluation/evaluation.service.js'
import {
  APPROVER_ROLES,
  AUDIT_READERS,
  DECISION_REPLAYERS,
  CREDIT_NOTE_ISSUERS,
  INVOICE_RUNNERS,
  JOB_OPERATORS,
  LEDGER_READERS,
  CASH_OPERATORS,
  ORDER_OPERATORS,
  PRICE_READERS,
  PRINCIPAL_ADMINS,
  ROLES,
  RULE_SET_ACTIVATORS,
  SELLING_ROLES,
  WEBHOOK_ADMINS,
  type Role,
} from '../../src/principals/roles.js'
import { buildTestApp } from '../helpers/app.js'

/**
 * docs/api.md's role table is the documented answer to "who may do what": each row must list
 * exactly the roles of the named permission it stands for, and the service must refuse, on the
 * role check, exactly the roles the row leaves out.
 */

const table = (() => {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8')
  const section = doc.slice(doc.indexOf('| route | roles |'))
  const rows = section.slice(0, section.indexOf('\n\n')).split('\n').slice(2)
  return rows.map((row) => {
    const [routes = '', roles = ''] = row
      .slice(1, -1)
      .split(/ \| /)
      .map((c) => c.trim())
    return { routes, roles }
  })
})()

/** The permission each row of the table documents, by the row's first route; null: any principal, or none (the buyer's pages). */
const permissionOfRow: Record<string, readonly Role[] | null> = {
  'POST /v1/principals': PRINCIPAL_ADMINS,
  'GET /v1/principals/me': null,
  'POST /v1/quotes/evaluate': PRICE_READERS,
  'GET /v1/catalog/products': PRICE_READERS,
  'POST /v1/rule-sets/reload': RULE_SET_ACTIVATORS,
  'GET /v1/decisions/:id/replay': DECISION_REPLAYERS,
  'POST/GET /v1/accounts': SELLING_ROLES,
  'POST/GET /v1/quotes': SELLING_ROLES,
  'GET /v1/approvals?assignee=me': null,
  'POST /v1/delegations': APPROVER_ROLES,
  'GET /v1/delegations': null,
  'GET /v1/audit/verify': AUDIT_READERS,
  'GET /v1/contracts/:id': SELLING_ROLES,
  'GET /v1/orders': SELLING_ROLES,
  'POST /v1/orders/:id/fulfilments|milestones|cancel': ORDER_OPERATORS,
  'POST/GET /v1/invoice-runs': INVOICE_RUNNERS,
  'GET /v1/invoices': SELLING_ROLES,
  'POST /v1/invoices/:id/credit-notes': CREDIT_NOTE_ISSUERS,
  'GET /v1/journal': LEDGER_READERS,
  'POST/GET /v1/payments': CASH_OPERATORS,
  'GET /v1/jobs': JOB_OPERATORS,
  'POST/GET /v1/webhook-endpoints': WEBHOOK_ADMINS,
  'GET /sign/:token': null,
}

/** `GET/PATCH /v1/quotes/:id/submit|present` → one request per method and last-segment alternative, ids filled in. */
function requestsOf(routesCell: string): Array<{ method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string }> {
  return [...routesCell.matchAll(/`([A-Z/]+) ([^`]+)`/g)].flatMap(([, methods = '', path = '']) => {
    const slash = path.lastIndexOf('/')
    const paths = path
      .slice(slash + 1)
      .split('|')
      .map((last) => path.slice(0, slash + 1) + last)
    return methods
      .split('/')
      .flatMap((method) =>
        paths.map((p) => ({ method: method as 'GET' | 'POST' | 'PATCH' | 'DELETE', url: p.replace(/:id|:n/g, (m) => (m === ':n' ? '1' : 'x_unknown')) })),
      )
  })
}

function documentedRoles(rolesCell: string): Role[] | null {
  if (rolesCell.startsWith('any principal') || rolesCell.startsWith('no API key')) return null
  return rolesCell
    .split(/[(;]/)[0]!
    .split(',')
    .map((r) => r.trim()) as Role[]
}

t.test('the table documents every permission, each row naming its roles exactly', async (t) => {
  t.same(table.map((r) => r.routes.match(/`([^`]+)`/)?.[1]).sort(), Object.keys(permissionOfRow).sort(), 'one row per permission, none missing')
  for (const row of table) {
    const first = row.routes.match(/`([^`]+)`/)?.[1] ?? ''
    const documented = documentedRoles(row.roles)
    const permission = permissionOfRow[first]
    t.same(documented === null ? null : [...documented].sort(), permission === undefined || permission === null ? permission : [...permission].sort(), first)
    if (documented)
      t.ok(
        documented.every((r) => (ROLES as readonly string[]).includes(r)),
        `${first}: only known roles`,
      )
  }
})

t.test('pricing as of a past date: the roles the table names', async (t) => {
  const evaluate = table.find((r) => r.routes.startsWith('`POST /v1/quotes/evaluate`'))
  const named = evaluate?.roles.match(/a past `date`: (\w+) and (\w+) only/)
  t.ok(named, 'the evaluate row says who may price as of a past date')
  t.same(named?.slice(1, 3).sort(), [...AS_OF_ROLES].sort())
})

t.test('the service refuses on the role check exactly the roles a row leaves out', async (t) => {
  const ctx = await buildTestApp(t)
  for (const row of table) {
    const documented = documentedRoles(row.roles)
    const requests = requestsOf(row.routes)
    t.ok(requests.length > 0, `${row.routes}: routes parsed`)
    for (const { method, url } of requests) {
      const refused: Role[] = []
      for (const role of ROLES) {
        const res = await ctx.app.inject({ method, url, headers: ctx.as(role), ...(method === 'GET' ? {} : { payload: {} }) })
        if (res.statusCode === 403 && res.json().detail.startsWith('This function needs one of the roles')) refused.push(role)
      }
      t.same(refused.sort(), documented === null ? [] : ROLES.filter((r) => !documented.includes(r)).sort(), `${method} ${url}`)
    }
  }
})

import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Db } from '../db/database.js'
import { PageOf, PageQuery, pageFrom } from '../http/pagination.js'
import { problemResponses } from '../http/problem.js'
import { formatAmount } from '../money/money.js'
import { LEDGER_READERS } from '../principals/roles.js'
import type { Clock } from '../shared/clock.js'
import { listJournal, trialBalance } from './journal.js'

const Amount = Type.String({ description: 'A decimal amount in the entry currency' })
const SEQ = /^[1-9][0-9]{0,18}$/

const JournalEntrySchema = Type.Object({
  id: Type.String(),
  seq: Type.String({ description: 'Posting order; the cursor' }),
  date: Type.String({ format: 'date' }),
  currency: Type.String(),
  sourceType: Type.String({ description: 'What the entry records: invoice…' }),
  sourceId: Type.String(),
  memo: Type.String(),
  lines: Type.Array(
    Type.Object({
      accountCode: Type.String({ description: 'French chart of accounts (docs/invoicing.md)' }),
      accountName: Type.Union([Type.String(), Type.Null()]),
      debit: Amount,
      credit: Amount,
      partyId: Type.Union([Type.String(), Type.Null()], { description: 'The buyer account, on receivable lines' }),
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
})

/** The books: the journal as posted and the trial balance (finance and admins). */
export const ledgerRoutes: FastifyPluginAsyncTypebox<{ deps: { db: Db; clock: Clock } }> = async (app, { deps }) => {
  const config = { roles: LEDGER_READERS }
  const tags = ['ledger']

  app.get(
    '/v1/journal',
    {
      config,
      schema: {
        tags,
        summary: 'Journal entries in posting order; each balanced, never edited',
        querystring: Type.Object(
          {
            limit: PageQuery.properties.limit,
            starting_after: Type.Optional(Type.String({ pattern: SEQ.source, description: 'The seq of the last entry seen' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(JournalEntrySchema), ...problemResponses(403) },
      },
    },
    async (request) => {
      const { limit = 20, starting_after } = request.query
      const entries = await listJournal(deps.db, limit + 1, starting_after ? BigInt(starting_after) : undefined)
      const page = pageFrom(entries, limit, (e) => e.seq.toString())
      return {
        ...page,
        data: page.data.map((e) => ({
          ...e,
          seq: e.seq.toString(),
          lines: e.lines.map((l) => ({ ...l, debit: formatAmount(l.debit, e.currency), credit: formatAmount(l.credit, e.currency) })),
          createdAt: e.createdAt.toISOString(),
        })),
      }
    },
  )

  app.get(
    '/v1/reports/trial-balance',
    {
      config,
      schema: {
        tags,
        summary: 'Debits, credits and balance per account and currency, of entries dated on or before asOf (today by default)',
        querystring: Type.Object({ asOf: Type.Optional(Type.String({ format: 'date' })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            asOf: Type.String({ format: 'date' }),
            currencies: Type.Array(
              Type.Object({
                currency: Type.String(),
                accounts: Type.Array(
                  Type.Object({
                    code: Type.String(),
                    name: Type.Union([Type.String(), Type.Null()]),
                    debit: Amount,
                    credit: Amount,
                    balance: Type.String({ description: 'Debit minus credit: negative for a credit balance' }),
                  }),
                ),
                totals: Type.Object({ debit: Amount, credit: Amount }),
                balanced: Type.Boolean({ description: 'Total debits equal total credits' }),
              }),
            ),
          }),
          ...problemResponses(403),
        },
      },
    },
    async (request) => {
      const asOf = request.query.asOf ?? deps.clock.now().toISOString().slice(0, 10)
      const rows = await trialBalance(deps.db, asOf)
      const currencies = [...new Set(rows.map((r) => r.currency))]
      return {
        asOf,
        currencies: currencies.map((currency) => {
          const own = rows.filter((r) => r.currency === currency)
          const debit = own.reduce((s, r) => s + r.debit, 0n)
          const credit = own.reduce((s, r) => s + r.credit, 0n)
          return {
            currency,
            accounts: own.map((r) => ({
              code: r.accountCode,
              name: r.accountName,
              debit: formatAmount(r.debit, currency),
              credit: formatAmount(r.credit, currency),
              balance: formatAmount(r.balance, currency),
            })),
            totals: { debit: formatAmount(debit, currency), credit: formatAmount(credit, currency) },
            balanced: debit === credit,
          }
        }),
      }
    },
  )
}

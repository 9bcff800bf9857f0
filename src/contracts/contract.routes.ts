import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Db } from '../db/database.js'
import { principalOf } from '../http/auth.js'
import { PDF_RESPONSE } from '../http/pdf.js'
import { problemResponses } from '../http/problem.js'
import { SELLING_ROLES } from '../principals/roles.js'
import type { Clock } from '../shared/clock.js'
import { CONTRACT_STATUSES } from './contract.js'
import * as service from './contract.service.js'

const Terms = Type.Object({ id: Type.String(), version: Type.String(), sha256: Type.String() })

export const ContractSchema = Type.Object(
  {
    id: Type.String(),
    quoteId: Type.String(),
    revision: Type.Integer(),
    quoteNumber: Type.String(),
    accountId: Type.String(),
    contactId: Type.String({ description: 'The contact who may sign' }),
    status: Type.Union(CONTRACT_STATUSES.map((s) => Type.Literal(s))),
    lang: Type.Union([Type.Literal('en'), Type.Literal('fr')]),
    expiresOn: Type.String({ format: 'date', description: 'The last day the link signs' }),
    terms: Terms,
    documentSha256: Type.String({ description: 'SHA-256 of the document as presented' }),
    signedDocumentSha256: Type.Union([Type.String(), Type.Null()]),
    evidence: Type.Union([
      Type.Object({
        contractId: Type.String(),
        quoteNumber: Type.String(),
        revision: Type.Integer(),
        signer: Type.Object({ name: Type.String(), title: Type.String(), email: Type.String() }),
        consent: Type.Object({ version: Type.String(), text: Type.String() }),
        terms: Terms,
        signedAt: Type.String({ format: 'date-time' }),
        ip: Type.String(),
        userAgent: Type.String(),
        documentSha256: Type.String(),
      }),
      Type.Null(),
    ]),
    evidenceHash: Type.Union([Type.String({ description: 'SHA-256 of the evidence in canonical JSON (RFC 8785)' }), Type.Null()]),
    declineReason: Type.Union([Type.String(), Type.Null()]),
    createdBy: Type.String(),
    sellerId: Type.Union([Type.String(), Type.Null()], { description: 'The seller legal entity the document was issued by' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    timeline: Type.Array(
      Type.Object({
        type: Type.String(),
        at: Type.String({ format: 'date-time' }),
        ip: Type.Union([Type.String(), Type.Null()]),
        userAgent: Type.Union([Type.String(), Type.Null()]),
        detail: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
  },
  { $id: 'Contract' },
)

/** The API form of a contract with its timeline. */
export function contractJson({ contract, timeline }: service.ContractView) {
  const { ownerId: _, ...shown } = contract
  return {
    ...shown,
    createdAt: contract.createdAt.toISOString(),
    updatedAt: contract.updatedAt.toISOString(),
    timeline: timeline.map((e) => ({ type: e.type, at: e.at.toISOString(), ip: e.ip, userAgent: e.userAgent, detail: e.detail })),
  }
}

export interface ContractRouteDeps {
  db: Db
  clock: Clock
  signingUrl(token: string): string
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

export const contractRoutes: FastifyPluginAsyncTypebox<{ deps: ContractRouteDeps }> = async (app, { deps }) => {
  const config = { roles: SELLING_ROLES }
  const tags = ['contracts']

  app.get(
    '/v1/contracts/:id',
    {
      config,
      schema: {
        tags,
        summary: 'A contract: its status, evidence and timeline',
        params: IdParams,
        response: { 200: Type.Ref('Contract'), ...problemResponses(403, 404) },
      },
    },
    async (request) => contractJson(await service.getContract(deps.db, principalOf(request), request.params.id)),
  )

  for (const [which, path, summary] of [
    ['document', 'document.pdf', 'The document as presented to the buyer (its SHA-256 is documentSha256)'],
    ['signed', 'signed.pdf', 'The signed copy: the document and its certificate page'],
  ] as const) {
    app.get(
      `/v1/contracts/:id/${path}`,
      { config, schema: { tags, summary, params: IdParams, response: { 200: PDF_RESPONSE, ...problemResponses(403, 404) } } },
      async (request, reply) => {
        const { contract, bytes } = await service.contractFile(deps.db, principalOf(request), request.params.id, which)
        const name = `${contract.quoteNumber}-r${contract.revision}${which === 'signed' ? '-signed' : ''}.pdf`
        return reply.type('application/pdf').header('content-disposition', `attachment; filename="${name}"`).send(bytes)
      },
    )
  }

  app.post(
    '/v1/contracts/:id/link',
    {
      config,
      schema: {
        tags,
        summary: 'A new signing link for an open contract (the previous one stops working); shown once',
        params: IdParams,
        response: { 200: Type.Object({ contract: Type.Ref('Contract'), signingUrl: Type.String() }), ...problemResponses(403, 404, 409) },
      },
    },
    async (request) => {
      const actor = principalOf(request)
      const { signingUrl } = await deps.db.transaction().execute((trx) => service.reissueLink(trx, actor, request.params.id, deps.signingUrl, deps.clock.now()))
      return { contract: contractJson(await service.getContract(deps.db, actor, request.params.id)), signingUrl }
    },
  )
}

import formbody from '@fastify/formbody'
import { normalizeIP } from '@fastify/rate-limit'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { contractFile, linkState, recordBuyerVisit, type Lang, type RequestMeta } from '../contracts/contract.service.js'
import { negotiateLang } from '../documents/locale.js'
import { AppError } from '../errors.js'
import { declineQuote, openSigningLink, signQuote, type QuoteDeps, type SigningView } from '../quotes/quote.service.js'
import { ASSETS, CONTENT_SECURITY_POLICY, renderMessagePage, renderOpenPage, type MessageKind, type OpenPage } from './signing-page.js'
import { PAGE_TEXT } from './page-text.js'

/** Sign or decline attempts an address may make a minute: a link is one person's, a burst is a script. */
export const SIGNING_ATTEMPTS_PER_MINUTE = 10

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false })
const LangQuery = Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('fr')])) })
const Text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const SignForm = Type.Object(
  { name: Text(200), title: Text(200), email: Text(254), consent: Text(10), consentVersion: Text(20) },
  { additionalProperties: false },
)
const DeclineForm = Type.Object({ reason: Text(1000) }, { additionalProperties: false })

/** A practical check, not RFC 5322: one @, no spaces, a dot in the domain. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

function metaOf(request: FastifyRequest): RequestMeta {
  return { ip: normalizeIP(request.ip), userAgent: String(request.headers['user-agent'] ?? '').slice(0, 500) }
}

/** The language asked for by the switch, else the browser's, else the contract's. */
function langOf(request: FastifyRequest, fallback: Lang): Lang {
  const asked = (request.query as { lang?: Lang }).lang
  return asked ?? (request.headers['accept-language'] ? negotiateLang(request.headers['accept-language']) : fallback)
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('content-type', 'text/html; charset=utf-8').header('content-security-policy', CONTENT_SECURITY_POLICY).send(body)
}

const STATUS_OF: Record<MessageKind, number> = { signed: 200, declined: 200, expired: 410, withdrawn: 410, invalid: 404, documentChanged: 409, tooMany: 429 }

/**
 * The buyer's pages: no API key — the link's token is the credential — and nothing about any
 * other quote. Forms post without JavaScript; every answer is a page, errors included.
 */
export const signingRoutes: FastifyPluginAsyncTypebox<{ deps: QuoteDeps }> = async (app, { deps }) => {
  // Form bodies only here: the API itself accepts JSON alone.
  await app.register(formbody, { bodyLimit: 16 * 1024 })
  const attempts = app.createRateLimit({
    max: SIGNING_ATTEMPTS_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `signing:${normalizeIP(request.ip)}`,
  } as Parameters<typeof app.createRateLimit>[0])
  // The seller the contract's document names; pages without a contract (an unknown link) name the default one.
  const sellerNameOf = (contract?: SigningView['contract']) =>
    (contract?.sellerId ? deps.documents.sellers.byId(contract.sellerId)?.name : undefined) ?? deps.documents.sellers.default().name
  const config = { public: true }
  const tags = ['signing']

  const message = (
    reply: FastifyReply,
    lang: Lang,
    path: string,
    kind: MessageKind,
    extra: { signedAt?: Date; signedCopyHref?: string; contract?: SigningView['contract'] } = {},
  ) => {
    const { contract, ...shown } = extra
    return html(reply, STATUS_OF[kind], renderMessagePage({ lang, sellerName: sellerNameOf(contract), path, kind, ...shown }))
  }

  /** The page for a link that does not sign any more: where the contract stands, never the quote. */
  const closedPage = (reply: FastifyReply, lang: Lang, token: string, view: SigningView) => {
    const state = linkState(view.contract, deps.clock.now())
    const path = `/sign/${token}`
    if (state === 'signed')
      return message(reply, lang, path, 'signed', { signedAt: view.contract.updatedAt, signedCopyHref: `${path}/signed.pdf`, contract: view.contract })
    return message(reply, lang, path, state === 'open' ? 'invalid' : state, { contract: view.contract })
  }

  const openPage = (view: SigningView, token: string, lang: Lang, extra: Pick<OpenPage, 'errors' | 'form'>) =>
    renderOpenPage({
      lang,
      sellerName: sellerNameOf(view.contract),
      path: `/sign/${token}`,
      token,
      quote: {
        number: view.quote.number,
        revision: view.contract.revision,
        validUntil: view.contract.expiresOn,
        paymentTermsDays: view.quote.paymentTermsDays,
        buyer: view.accountName,
      },
      evaluation: view.revision.evaluation,
      terms: view.contract.terms,
      documentSha256: view.contract.documentSha256,
      ...extra,
    })

  const limited = async (request: FastifyRequest, reply: FastifyReply, lang: Lang, path: string): Promise<boolean> => {
    const limit = await attempts(request)
    if (limit.isAllowed || !limit.isExceeded) return false
    reply.header('retry-after', limit.ttlInSeconds)
    message(reply, lang, path, 'tooMany')
    return true
  }

  app.get('/sign/assets/:name', { config, schema: { hide: true, params: Type.Object({ name: Type.String({ maxLength: 20 }) }) } }, async (request, reply) => {
    const asset = Object.hasOwn(ASSETS, request.params.name) ? ASSETS[request.params.name] : undefined
    if (!asset) throw new AppError('NOT_FOUND', 'No such file.')
    reply.header('cache-control', 'public, max-age=3600').header('etag', asset.etag).type(asset.type)
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
    return reply.send(asset.bytes)
  })

  app.get(
    '/sign/:token',
    {
      config,
      schema: {
        hide: true,
        tags,
        summary: "The buyer's page: the quote, its document and the forms to sign or decline",
        params: TokenParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const { token } = request.params
      const view = await openSigningLink(deps, token)
      if (!view) return message(reply, langOf(request, 'en'), `/sign/${token}`, 'invalid')
      const lang = langOf(request, view.contract.lang)
      if (linkState(view.contract, deps.clock.now()) !== 'open') return closedPage(reply, lang, token, view)
      await recordBuyerVisit(deps.db, view.contract, 'viewed', metaOf(request), deps.clock.now())
      return html(reply, 200, openPage(view, token, lang, { errors: [], form: { name: '', title: '', email: '', reason: '' } }))
    },
  )

  app.get(
    '/sign/:token/document.pdf',
    {
      config,
      schema: {
        hide: true,
        tags,
        summary: 'The document the buyer is asked to sign, as stored when the link was issued',
        params: TokenParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const { token } = request.params
      const view = await openSigningLink(deps, token)
      if (!view) return message(reply, langOf(request, 'en'), `/sign/${token}`, 'invalid')
      if (linkState(view.contract, deps.clock.now()) !== 'open') return closedPage(reply, langOf(request, view.contract.lang), token, view)
      await recordBuyerVisit(deps.db, view.contract, 'downloaded', metaOf(request), deps.clock.now())
      const { bytes } = await contractFile(deps.db, null, view.contract.id, 'document')
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${view.quote.number}-r${view.contract.revision}.pdf"`).send(bytes)
    },
  )

  app.get(
    '/sign/:token/signed.pdf',
    {
      config,
      schema: {
        hide: true,
        tags,
        summary: 'The signed copy (the document and its certificate page), once signed',
        params: TokenParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const { token } = request.params
      const view = await openSigningLink(deps, token)
      if (view?.contract.status !== 'signed') return message(reply, langOf(request, view?.contract.lang ?? 'en'), `/sign/${token}`, 'invalid')
      const { bytes } = await contractFile(deps.db, null, view.contract.id, 'signed')
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="${view.quote.number}-r${view.contract.revision}-signed.pdf"`)
        .send(bytes)
    },
  )

  app.post(
    '/sign/:token/sign',
    {
      config,
      schema: { hide: true, tags, summary: 'Sign: typed name, title, email and explicit consent', params: TokenParams, querystring: LangQuery, body: SignForm },
    },
    async (request, reply) => {
      const { token } = request.params
      const path = `/sign/${token}`
      const view = await openSigningLink(deps, token)
      const lang = langOf(request, view?.contract.lang ?? 'en')
      if (await limited(request, reply, lang, path)) return reply
      if (!view) return message(reply, lang, path, 'invalid')
      if (linkState(view.contract, deps.clock.now()) !== 'open') return closedPage(reply, lang, token, view)
      const t = PAGE_TEXT[lang]
      const form = {
        name: (request.body.name ?? '').trim(),
        title: (request.body.title ?? '').trim(),
        email: (request.body.email ?? '').trim(),
        reason: '',
      }
      const errors: string[] = []
      if (!form.name) errors.push(t.missing.name)
      if (!form.title) errors.push(t.missing.title)
      if (!form.email) errors.push(t.missing.email)
      else if (!EMAIL.test(form.email)) errors.push(t.invalidEmail)
      if (request.body.consent !== 'yes') errors.push(t.missing.consent)
      if (errors.length > 0) return html(reply, 422, openPage(view, token, lang, { errors, form }))
      try {
        const signed = await signQuote(
          deps,
          token,
          { signer: { name: form.name, title: form.title, email: form.email }, consentVersion: request.body.consentVersion ?? '' },
          metaOf(request),
        )
        return message(reply, lang, path, 'signed', { signedAt: signed.updatedAt, signedCopyHref: `${path}/signed.pdf`, contract: signed })
      } catch (error) {
        if (error instanceof AppError && error.code === 'DOCUMENT_CHANGED') return message(reply, lang, path, 'documentChanged')
        if (error instanceof AppError && error.code === 'SIGNING_LINK_CLOSED') {
          const again = await openSigningLink(deps, token)
          return again ? closedPage(reply, lang, token, again) : message(reply, lang, path, 'invalid')
        }
        if (error instanceof AppError && error.code === 'VALIDATION_FAILED')
          return html(reply, 422, openPage(view, token, lang, { errors: [error.message], form }))
        throw error
      }
    },
  )

  app.post(
    '/sign/:token/decline',
    { config, schema: { hide: true, tags, summary: 'Decline, with a reason', params: TokenParams, querystring: LangQuery, body: DeclineForm } },
    async (request, reply) => {
      const { token } = request.params
      const path = `/sign/${token}`
      const view = await openSigningLink(deps, token)
      const lang = langOf(request, view?.contract.lang ?? 'en')
      if (await limited(request, reply, lang, path)) return reply
      if (!view) return message(reply, lang, path, 'invalid')
      if (linkState(view.contract, deps.clock.now()) !== 'open') return closedPage(reply, lang, token, view)
      const reason = (request.body.reason ?? '').trim()
      if (!reason)
        return html(reply, 422, openPage(view, token, lang, { errors: [PAGE_TEXT[lang].missing.reason], form: { name: '', title: '', email: '', reason } }))
      try {
        await declineQuote(deps, token, reason, metaOf(request))
        return message(reply, lang, path, 'declined')
      } catch (error) {
        if (error instanceof AppError && error.code === 'SIGNING_LINK_CLOSED') {
          const again = await openSigningLink(deps, token)
          return again ? closedPage(reply, lang, token, again) : message(reply, lang, path, 'invalid')
        }
        throw error
      }
    },
  )
}

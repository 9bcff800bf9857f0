import { Type } from '@sinclair/typebox'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, ERROR_STATUS, type ErrorCode } from '../errors.js'
import { fieldErrors } from './validation-messages.js'

/** RFC 9457 problem details, as every error of the API is rendered. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI reference naming the problem type' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code (SCREAMING_SNAKE)' }),
    instance: Type.String({ description: 'The request id, to quote when reporting the problem' }),
    errors: Type.Optional(
      Type.Array(
        Type.Object(
          {
            pointer: Type.String({ description: 'JSON pointer into the request part named by `in`' }),
            in: Type.Optional(Type.String()),
            detail: Type.String(),
          },
          { additionalProperties: true },
        ),
      ),
    ),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
)

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/**
 * Response schemas for the given error statuses, as application/problem+json, for a route's
 * OpenAPI description. 400, 429 and 500 can happen anywhere; 401 on every route that needs a
 * key (pass `{ public: true }` first to leave it out).
 */
export function problemResponses(...statuses: Array<number | { public: true }>): Record<number, unknown> {
  const isPublic = statuses.some((s) => typeof s === 'object')
  const codes = statuses.filter((s): s is number => typeof s === 'number')
  const all = [...new Set([400, ...(isPublic ? [] : [401]), 429, 500, ...codes])].sort()
  return Object.fromEntries(
    all.map((s) => [s, { description: TITLES[s] ?? 'Error', content: { 'application/problem+json': { schema: Type.Ref('Problem') } } }]),
  )
}

function problemType(code: ErrorCode): string {
  return `urn:qtc:problem:${code.toLowerCase().replaceAll('_', '-')}`
}

/** The RFC 9457 body of an error; `instance` is the request id. */
export function problemBody(error: AppError, instance: string): Record<string, unknown> & { status: number } {
  const status = ERROR_STATUS[error.code]
  const { errors, ...extensions } = error.details
  return {
    ...extensions,
    type: problemType(error.code),
    title: TITLES[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
    instance,
    ...(errors ? { errors } : {}),
  }
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const body = problemBody(error, String(request.id))
  return reply.status(body.status).type('application/problem+json').send(body)
}

/** The 413 sentence: this route's body limit, and on a cart route the line limit it is sized from. */
function tooLarge(request: FastifyRequest): string {
  const bytes = (request.routeOptions.bodyLimit ?? 0).toLocaleString('en')
  const lines = request.routeOptions.config.maxCartLines
  return lines === undefined
    ? `The request body is larger than ${bytes} bytes, the limit of this route (BODY_LIMIT_BYTES).`
    : `The request body is larger than ${bytes} bytes, the limit of this route: it takes a cart of up to ${lines.toLocaleString('en')} lines (MAX_CART_LINES).`
}

/** Maps anything thrown in a request to an AppError; unknown errors become INTERNAL and are logged. */
export function toAppError(error: FastifyError & { validationContext?: string }, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error
  if (error.validation) {
    const errors = fieldErrors(error.validation as never, error.validationContext, request)
    return new AppError('VALIDATION_FAILED', `The request ${error.validationContext ?? 'body'} is invalid.`, { errors })
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', tooLarge(request))
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('MALFORMED_REQUEST', 'The request body is not valid JSON.')
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    // Covers JSON syntax errors and secure-json-parse's refusal of __proto__ / constructor keys.
    return new AppError('MALFORMED_REQUEST', `The request body could not be parsed: ${error.message}`)
  }
  if (error.statusCode === 404) return new AppError('NOT_FOUND', 'Not found.')
  request.log.error({ err: error }, 'unexpected error')
  return new AppError('INTERNAL', 'An unexpected error occurred; quote the instance id when reporting it.')
}

export function registerProblemHandling(app: FastifyInstance): void {
  app.addSchema(ProblemSchema)
  app.setErrorHandler((error: FastifyError, request, reply) => sendProblem(request, reply, toAppError(error, request)))
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new AppError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}.`)),
  )
}

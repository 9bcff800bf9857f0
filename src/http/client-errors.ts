import { maxHeaderSize } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import { AppError } from '../errors.js'
import { problemBody, sendProblem } from './problem.js'

/** The router's longest path parameter; longer ones get 414 (Fastify's `maxParamLength`). */
export const MAX_PARAM_LENGTH = 200

/**
 * Errors Fastify raises before a route is found (a path parameter too long, a malformed
 * percent-encoding). Its default answers echo the path back; these say what is wrong
 * without repeating the caller's input.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id)
  reply.header('cache-control', 'no-store')
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      sendProblem(request, reply, new AppError('URI_TOO_LONG', `A path segment is longer than ${MAX_PARAM_LENGTH} characters.`))
      return
    case 'FST_ERR_BAD_URL':
      sendProblem(request, reply, new AppError('MALFORMED_REQUEST', 'The URL is not valid: a percent-encoded sequence is malformed.'))
      return
  }
  request.log.error({ err: error }, 'unexpected framework error')
  sendProblem(request, reply, new AppError('INTERNAL', 'An unexpected error occurred; quote the instance id when reporting it.'))
}

function clientProblem(error: NodeJS.ErrnoException): AppError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('HEADERS_TOO_LARGE', `The request line and headers are larger than ${maxHeaderSize} bytes together.`)
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('REQUEST_TIMEOUT', 'The request was not received in time.')
    default:
      return new AppError('MALFORMED_REQUEST', 'The HTTP request is malformed.')
  }
}

/**
 * Errors Node's HTTP parser raises before there is a request (headers too large or too many,
 * a malformed request line, a timeout). There is no reply object, so the problem is written
 * to the socket by hand, with a request id generated and logged like any other so that
 * `instance` can be looked up. The input is never echoed.
 */
export function clientErrorHandler(genReqId: () => string): NonNullable<FastifyServerOptions['clientErrorHandler']> {
  return function (this: { log: Logger }, error: NodeJS.ErrnoException, socket: Socket) {
    // A reset connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    const id = genReqId()
    const problem = problemBody(clientProblem(error), id)
    this.log.info({ reqId: id, code: error.code }, 'client error')
    if (socket.writable) {
      const body = JSON.stringify(problem)
      socket.write(
        `HTTP/1.1 ${problem.status} ${String(problem.title)}\r\n` +
          'Content-Type: application/problem+json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Request-Id: ${id}\r\n` +
          'Cache-Control: no-store\r\n' +
          'Connection: close\r\n\r\n' +
          body,
      )
    }
    socket.destroy(error)
  }
}

import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'

/**
 * Optimistic concurrency over HTTP. Every updatable object carries an integer `version`;
 * its ETag is `"v<version>"`. An update must send `If-Match` with the ETag it read; the
 * service then updates `WHERE version = expected`, so of two writers holding the same ETag
 * exactly one wins and the other gets 412.
 */
export function etagOf(version: number): string {
  return `"v${version}"`
}

export function setEtag(reply: FastifyReply, version: number): void {
  reply.header('etag', etagOf(version))
}

/** The version named by If-Match; 428 when the header is missing, 412 when it names no version. */
export function expectedVersion(request: FastifyRequest): number {
  const header = request.headers['if-match']
  if (header === undefined || header === '') {
    throw new AppError('PRECONDITION_REQUIRED', 'This update requires an If-Match header with the ETag you last read.')
  }
  const match = /^(?:W\/)?"v(\d{1,9})"$/.exec(header.trim())
  if (!match) {
    throw new AppError('PRECONDITION_FAILED', `If-Match ${JSON.stringify(header)} does not match the current ETag.`)
  }
  return Number(match[1])
}

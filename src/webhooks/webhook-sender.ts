import http from 'node:http'
import https from 'node:https'
import type { LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { MAX_RESPONSE_BYTES } from './webhook.js'
import { RefusedUrl, type AddressPolicy, type Resolver } from './url-guard.js'

export interface SendResult {
  /** The HTTP status, or null when no response came (refused address, network error, timeout). */
  status: number | null
  error: string | null
  responseBody: string | null
  responseTruncated: boolean
  durationMs: number
}

export interface SendOptions {
  policy: AddressPolicy
  resolver: Resolver
  timeoutMs: number
}

/** A `lookup` that answers only the addresses already checked: the connection cannot go anywhere else. */
function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const all = (options as { all?: boolean }).all === true
    if (all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
    else callback(null, addresses[0]!.address, addresses[0]!.family)
  }
}

/**
 * One POST of a webhook. The host is resolved once, every address checked, and the socket
 * connects to those addresses only (a DNS answer that changes between the check and the
 * connection cannot swap in a private address). No redirect is followed: a 3xx is a failed
 * attempt. The whole exchange, connection to the end of the response, has `timeoutMs`; at
 * most MAX_RESPONSE_BYTES of the response are read.
 */
export async function sendWebhook(url: string, headers: Record<string, string>, body: string, options: SendOptions): Promise<SendResult> {
  const started = performance.now()
  const finish = (partial: Omit<SendResult, 'durationMs'>): SendResult => ({ ...partial, durationMs: Math.round(performance.now() - started) })
  let addresses: LookupAddress[]
  let target: URL
  try {
    target = options.policy.parse(url)
    addresses = await options.policy.addresses(target, options.resolver)
  } catch (error) {
    if (error instanceof RefusedUrl) return finish({ status: null, error: `refused: the URL ${error.message}`, responseBody: null, responseTruncated: false })
    throw error
  }
  const transport = target.protocol === 'https:' ? https : http
  const signal = AbortSignal.timeout(options.timeoutMs)
  return new Promise<SendResult>((resolve) => {
    let settled = false
    const done = (result: Omit<SendResult, 'durationMs'>) => {
      if (settled) return
      settled = true
      resolve(finish(result))
    }
    const request = transport.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body).toString(), 'user-agent': 'qtc-webhooks/1' },
        lookup: pinnedLookup(addresses),
        // A fresh connection each time: a pooled socket would skip the lookup, and with it the check.
        agent: false,
        signal,
      },
      (response) => {
        const chunks: Buffer[] = []
        let received = 0
        let truncated = false
        const status = response.statusCode ?? null
        const complete = () => {
          const ok = status !== null && status >= 200 && status < 300
          done({
            status,
            error: ok ? null : `HTTP ${status}`,
            responseBody: textOf(chunks),
            responseTruncated: truncated,
          })
        }
        response.on('data', (chunk: Buffer) => {
          const room = MAX_RESPONSE_BYTES - received
          if (chunk.length > room) {
            // Enough read: the rest is never read.
            chunks.push(chunk.subarray(0, room))
            truncated = true
            complete()
            response.destroy()
            return
          }
          chunks.push(chunk)
          received += chunk.length
        })
        response.on('end', complete)
        response.on('error', (error) => done({ status, error: describe(error, signal), responseBody: textOf(chunks), responseTruncated: truncated }))
      },
    )
    request.on('error', (error) => done({ status: null, error: describe(error, signal), responseBody: null, responseTruncated: false }))
    request.end(body)
  })
}

function describe(error: Error, signal: AbortSignal): string {
  if (signal.aborted) return 'timeout: no complete answer in time'
  const code = (error as NodeJS.ErrnoException).code
  return code ? `${code}: ${error.message}` : error.message
}

/** The response as text PostgreSQL can store (no NUL characters). */
function textOf(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', '\ufffd')
}

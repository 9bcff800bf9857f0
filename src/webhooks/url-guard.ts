import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'

/**
 * What webhooks may reach. A webhook URL is chosen by whoever registers it, and QTC sends
 * requests to it from inside the network: without these rules it could be pointed at the
 * cloud metadata service, a database's admin port, or anything on localhost (SSRF).
 *
 * Refused, unless allowed by QTC_WEBHOOK_ALLOWED_NETWORKS: every address that is not a
 * public unicast address. Checked at registration and again at each delivery, on the
 * addresses the host resolves to then; the connection goes to the address checked.
 */
const BLOCKED_V4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
]
const BLOCKED_V6: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b::', 96, 'NAT64'],
  ['64:ff9b:1::', 48, 'NAT64'],
  ['100::', 64, 'discard'],
  ['2001::', 23, 'IETF protocol assignments'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
]

export interface UrlPolicy {
  allowHttp: boolean
  /** CIDRs or addresses reachable although in a refused range. */
  allowedNetworks: readonly string[]
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))))

export class RefusedUrl extends Error {
  override name = 'RefusedUrl'
}

function blockList(ranges: Array<[string, number, string]>, family: 'ipv4' | 'ipv6'): Array<[BlockList, string]> {
  return ranges.map(([network, prefix, why]) => {
    const list = new BlockList()
    list.addSubnet(network, prefix, family)
    return [list, why]
  })
}
const REFUSED = [...blockList(BLOCKED_V4, 'ipv4'), ...blockList(BLOCKED_V6, 'ipv6')]
const IPV4_MAPPED = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, also as ::ffff:7f00:1) is judged as its IPv4 address. */
function unmapped(address: string): string {
  const m = IPV4_MAPPED.exec(address)
  if (!m) return address
  if (m[1]) return m[1]
  const hi = Number.parseInt(m[2]!, 16)
  const lo = Number.parseInt(m[3]!, 16)
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.')
}

export class AddressPolicy {
  private readonly allowed = new BlockList()

  constructor(readonly policy: UrlPolicy) {
    for (const network of policy.allowedNetworks) {
      const [address = '', prefix] = network.split('/')
      const family = isIP(address) === 4 ? 'ipv4' : 'ipv6'
      if (prefix === undefined) this.allowed.addAddress(address, family)
      else this.allowed.addSubnet(address, Number(prefix), family)
    }
  }

  /** Why this address may not be reached, or null when it may. */
  refusal(address: string): string | null {
    const plain = unmapped(address)
    const family = isIP(plain) === 4 ? 'ipv4' : 'ipv6'
    if (isIP(plain) === 0) return 'not an IP address'
    if (this.allowed.check(plain, family) || (plain !== address && this.allowed.check(address, 'ipv6'))) return null
    for (const [list, why] of REFUSED) if (list.check(plain, family)) return why
    return null
  }

  /** The URL parsed, or RefusedUrl naming what is wrong with its form (scheme, credentials). */
  parse(url: string): URL {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new RefusedUrl('is not an absolute URL')
    }
    const schemes = this.policy.allowHttp ? ['https:', 'http:'] : ['https:']
    if (!schemes.includes(parsed.protocol)) throw new RefusedUrl(this.policy.allowHttp ? 'must use https or http' : 'must use https')
    if (parsed.username || parsed.password) throw new RefusedUrl('must not carry credentials')
    if (parsed.hash) throw new RefusedUrl('must not have a fragment')
    return parsed
  }

  /**
   * The addresses the URL's host stands for, every one of them allowed; RefusedUrl otherwise.
   * All of them, not only the first: a receiver's resolver may pick any.
   */
  async addresses(url: URL, resolver: Resolver): Promise<LookupAddress[]> {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    const literal = isIP(host)
    let addresses: LookupAddress[]
    if (literal !== 0) addresses = [{ address: host, family: literal }]
    else {
      try {
        addresses = await resolver(host)
      } catch (error) {
        throw new RefusedUrl(`host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
      }
    }
    if (addresses.length === 0) throw new RefusedUrl(`host ${host} does not resolve`)
    for (const { address } of addresses) {
      const why = this.refusal(address)
      if (why) throw new RefusedUrl(`resolves to ${address}, a ${why} address; only public addresses (or QTC_WEBHOOK_ALLOWED_NETWORKS) may be reached`)
    }
    return addresses
  }
}

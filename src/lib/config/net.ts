/**
 * Pure IPv4 helpers: the ONE address/CIDR parser pgha uses (config validation, VIP
 * comparisons, argv building). Strict dotted-quad only: four decimal octets 0-255 with no
 * leading zeros, because inet_aton reads `010` as octal 8 while a naive parser reads 10,
 * and the two would disagree about which address a VIP is.
 */

const OCTET = /^(0|[1-9]\d{0,2})$/

export function parseIPv4(s: string): number | undefined {
  if (typeof s !== 'string') return undefined
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined
    const v = Number(p)
    if (v > 255) return undefined
    n = n * 256 + v
  }
  return n >>> 0
}

export interface Cidr {
  /** The address without prefix (canonical: the parser accepts only canonical text). */
  address: string
  prefix: number
  /** The address as a 32-bit number. */
  value: number
}

/** "a.b.c.d/nn" with nn 1-32 (no leading zero); anything else is undefined. */
export function parseCidr(s: string): Cidr | undefined {
  if (typeof s !== 'string') return undefined
  const m = /^([^/]+)\/([1-9]\d?)$/.exec(s)
  if (!m) return undefined
  const value = parseIPv4(m[1])
  const prefix = Number(m[2])
  if (value === undefined || prefix < 1 || prefix > 32) return undefined
  return {address: m[1], prefix, value}
}

/** 192.0.2.100/24 → 192.0.2.100; a bare address stays as it is. The only prefix stripper. */
export function addressOf(cidrOrAddress: string): string {
  const slash = cidrOrAddress.indexOf('/')
  return slash < 0 ? cidrOrAddress : cidrOrAddress.slice(0, slash)
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

function netmask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
}

export function sameSubnet(a: number, b: number, prefix: number): boolean {
  const mask = netmask(prefix)
  return (a & mask) >>> 0 === (b & mask) >>> 0
}

/** The network and broadcast addresses of a prefix; undefined for /31 and /32, where every address is a host. */
export function reservedAddresses(c: Cidr): {network: number; broadcast: number} | undefined {
  if (c.prefix >= 31) return undefined
  const mask = netmask(c.prefix)
  const network = (c.value & mask) >>> 0
  return {network, broadcast: (network | (~mask >>> 0)) >>> 0}
}

/** Pure IPv4 helpers for config validation. */

export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined
    const v = Number(p)
    if (v > 255) return undefined
    n = n * 256 + v
  }
  return n >>> 0
}

export interface Cidr {
  /** The address as written, without prefix. */
  address: string
  prefix: number
  /** The address as a 32-bit number. */
  value: number
}

export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s)
  if (!m) return undefined
  const value = parseIPv4(m[1])
  const prefix = Number(m[2])
  if (value === undefined || prefix < 1 || prefix > 32) return undefined
  return {address: m[1], prefix, value}
}

export function sameSubnet(a: number, b: number, prefix: number): boolean {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  return ((a & mask) >>> 0) === ((b & mask) >>> 0)
}

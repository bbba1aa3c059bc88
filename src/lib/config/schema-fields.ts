/**
 * The value types config keys are made of (durations and sizes with limits, addresses,
 * paths, names), each with one clear error text; schema.ts assembles them into the config.
 */
import {z} from 'zod'
import {parseCidr, parseIPv4} from './net.js'
import {formatBytes, parseDuration, parseSize} from './units.js'
import {quote} from './quote.js'

/** Limits of a duration or size key, kept for the generated docs/configuration.md. */
export interface UnitLimits {
  kind: 'duration' | 'size'
  min: number
  max: number
}
const unitLimits = new WeakMap<z.ZodTypeAny, UnitLimits>()
export const limitsOf = (s: z.ZodTypeAny): UnitLimits | undefined => unitLimits.get(s)
/** A readable type name for refined strings ("IPv4 address"), for the generated docs. */
const typeLabels = new WeakMap<z.ZodTypeAny, string>()
export const typeLabelOf = (s: z.ZodTypeAny): string | undefined => typeLabels.get(s)
export const labelled = <T extends z.ZodTypeAny>(s: T, label: string): T => {
  typeLabels.set(s, label)
  return s
}

/** Node timers overflow above 2^31-1 ms (about 24.8 days) and then fire at once; every duration max stays below. */
export const TIMER_MAX_MS = 2 ** 31 - 1

export const duration = (dflt: string, min: string, max: string) => {
  const lo = parseDuration(min)!
  const hi = parseDuration(max)!
  const s = z
    .union([z.string(), z.number()])
    .default(dflt)
    .transform((v, ctx) => {
      const ms = parseDuration(v)
      if (ms === undefined) {
        ctx.addIssue({code: z.ZodIssueCode.custom, message: `expected a duration like 500ms, 10s or 2m, found ${quote(v)}`})
        return z.NEVER
      }
      if (ms < lo || ms > hi) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `${quote(v)} is ${ms < lo ? 'below the minimum' : 'above the maximum'} ${ms < lo ? min : max}; use a duration from ${min} to ${max}`,
        })
        return z.NEVER
      }
      return ms
    })
  unitLimits.set(s, {kind: 'duration', min: lo, max: hi})
  return labelled(s, 'duration')
}

export const size = (dflt: string, min: string, max: string) => {
  const lo = parseSize(min)!
  const hi = parseSize(max)!
  const s = z
    .union([z.string(), z.number()])
    .default(dflt)
    .transform((v, ctx) => {
      const n = parseSize(v)
      if (n === undefined) {
        ctx.addIssue({code: z.ZodIssueCode.custom, message: `expected a size like 80MB or 1GB, found ${quote(v)}`})
        return z.NEVER
      }
      if (n < lo || n > hi) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `${quote(v)} is ${n < lo ? 'below the minimum' : 'above the maximum'} ${formatBytes(n < lo ? lo : hi)}; use a size from ${min} to ${max}`,
        })
        return z.NEVER
      }
      return n
    })
  unitLimits.set(s, {kind: 'size', min: lo, max: hi})
  return labelled(s, 'size')
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
const noControl = (what: string) => (s: string) =>
  !CONTROL.test(s) || {message: `${what} must not contain control characters (newline, tab, ...), found ${quote(s)}`}
export const refineText = <T extends z.ZodString>(t: T, what: string) =>
  t.superRefine((s, ctx) => {
    const r = noControl(what)(s)
    if (r !== true) ctx.addIssue({code: z.ZodIssueCode.custom, message: r.message})
  })

export const ipv4 = labelled(
  z.string().refine(
    (s) => parseIPv4(s) !== undefined,
    (s) => ({message: `expected an IPv4 address like 192.0.2.11 (four numbers 0-255, no leading zeros), found ${quote(s)}`}),
  ),
  'IPv4 address',
)
export const cidr = labelled(
  z.string().refine(
    (s) => parseCidr(s) !== undefined,
    (s) => ({message: `expected an IPv4 address with prefix like 192.0.2.100/24 (prefix 1-32, no leading zeros), found ${quote(s)}`}),
  ),
  'IPv4 address/prefix',
)
export const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, "-", "_" or "." (1-63, starting with a letter or digit)')
export const absPath = labelled(
  refineText(z.string(), 'a path').refine(
    (s) => s.startsWith('/'),
    (s) => ({message: `expected an absolute path, found ${quote(s)}`}),
  ),
  'absolute path',
)
export const lagLimit = (age: string, bytes: string) =>
  z
    .object({maxAge: duration(age, '1s', '168h'), maxBytes: size(bytes, '0', '1TB')})
    .strict()
    .default({})

/** Linux accepts 1-15 bytes, not "." or "..", no "/", ":" or whitespace; a leading "-" would read as an option to ip/arping. */
const IFNAME = /^[A-Za-z0-9_.@-]{1,15}$/
export const ifname = labelled(
  z.string().superRefine((s, ctx) => {
    const bad = (why: string) =>
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `${quote(s)} is not a network interface name: ${why}; use the name \`ip link\` shows, like eth0`,
      })
    if (s.length === 0 || s.length > 15) bad('it must be 1-15 characters')
    else if (s === '.' || s === '..') bad('"." and ".." are not allowed')
    else if (s.startsWith('-')) bad('it must not start with "-"')
    else if (!IFNAME.test(s)) bad('only letters, digits, "_", ".", "@" and "-" are allowed')
  }),
  'interface name',
)

/** A BMC host name or address: no whitespace or control characters; all-digit forms must be valid IPv4. */
export const bmcAddress = labelled(
  z.string().superRefine((s, ctx) => {
    const bad = (why: string) =>
      ctx.addIssue({code: z.ZodIssueCode.custom, message: `${quote(s)} ${why}; use the BMC's IPv4 address or host name`})
    if (CONTROL.test(s)) bad('contains control characters (newline, tab, ...)')
    else if (!/^[A-Za-z0-9._:-]{1,253}$/.test(s)) bad('is not a host name or address (letters, digits, ".", "-", ":" only)')
    else if (s.startsWith('-')) bad('must not start with "-"')
    else if (/^[\d.]+$/.test(s) && parseIPv4(s) === undefined) bad('is not a valid IPv4 address (four numbers 0-255, no leading zeros)')
  }),
  'host name or IPv4 address',
)

/** Keys pgha puts on the fence agent's stdin itself; fence.options must not override them. */
const RESERVED_FENCE_OPTIONS = ['action', 'option']
export const fenceOptions = labelled(
  z.record(z.string()).superRefine((rec, ctx) => {
    for (const [k, v] of Object.entries(rec)) {
      if (RESERVED_FENCE_OPTIONS.includes(k))
        ctx.addIssue({code: z.ZodIssueCode.custom, path: [k], message: 'pgha sets the action itself (off, on, status); remove this key'})
      else if (!/^[A-Za-z0-9_-]{1,64}$/.test(k))
        ctx.addIssue({code: z.ZodIssueCode.custom, path: [k], message: `option name ${quote(k)} must be 1-64 letters, digits, "_" or "-"`})
      else if (CONTROL.test(v))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [k],
          message: `value must not contain control characters (newline, tab, ...): the fence-agents stdin protocol is one key=value per line`,
        })
    }
  }),
  'mapping of name: string',
)

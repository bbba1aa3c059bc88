import {z} from 'zod'
import {parseCidr, parseIPv4} from './net.js'
import {pgCtlSafe} from './pgctl-paths.js'
import {formatBytes, parseDuration, parseSize} from './units.js'
import {quote} from './quote.js'
import {EVENT_NAMES} from '../core/events.js'

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
const labelled = <T extends z.ZodTypeAny>(s: T, label: string): T => {
  typeLabels.set(s, label)
  return s
}

/** Node timers overflow above 2^31-1 ms (about 24.8 days) and then fire at once; every duration max stays below. */
export const TIMER_MAX_MS = 2 ** 31 - 1

const duration = (dflt: string, min: string, max: string) => {
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

const size = (dflt: string, min: string, max: string) => {
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
const refineText = <T extends z.ZodString>(t: T, what: string) =>
  t.superRefine((s, ctx) => {
    const r = noControl(what)(s)
    if (r !== true) ctx.addIssue({code: z.ZodIssueCode.custom, message: r.message})
  })

const ipv4 = labelled(
  z.string().refine(
    (s) => parseIPv4(s) !== undefined,
    (s) => ({message: `expected an IPv4 address like 192.0.2.11 (four numbers 0-255, no leading zeros), found ${quote(s)}`}),
  ),
  'IPv4 address',
)
const cidr = labelled(
  z.string().refine(
    (s) => parseCidr(s) !== undefined,
    (s) => ({message: `expected an IPv4 address with prefix like 192.0.2.100/24 (prefix 1-32, no leading zeros), found ${quote(s)}`}),
  ),
  'IPv4 address/prefix',
)
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, "-", "_" or "." (1-63, starting with a letter or digit)')
const absPath = labelled(
  refineText(z.string(), 'a path').refine(
    (s) => s.startsWith('/'),
    (s) => ({message: `expected an absolute path, found ${quote(s)}`}),
  ),
  'absolute path',
)
const lagLimit = (age: string, bytes: string) =>
  z
    .object({maxAge: duration(age, '1s', '168h'), maxBytes: size(bytes, '0', '1TB')})
    .strict()
    .default({})

/** Linux accepts 1-15 bytes, not "." or "..", no "/", ":" or whitespace; a leading "-" would read as an option to ip/arping. */
const IFNAME = /^[A-Za-z0-9_.@-]{1,15}$/
const ifname = labelled(
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
const bmcAddress = labelled(
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
const fenceOptions = labelled(
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

export const configSchema = z
  .object({
    cluster: name,
    node: z.object({name, address: ipv4, canPrimary: z.boolean().default(true)}).strict(),
    peer: z.object({name, address: ipv4}).strict(),
    network: z
      .object({
        interface: ifname,
        gateway: ipv4,
        vipPrimary: cidr,
        vipStandby: cidr,
        /** Gratuitous ARP announcements sent after claiming a VIP. */
        arpCount: z.number().int().min(0).max(10).default(3),
      })
      .strict(),
    postgres: z
      .object({
        // pg_ctl puts these three into a /bin/sh command line (see pgctl-paths.ts).
        bindir: pgCtlSafe(absPath).default('/usr/lib/postgresql/15/bin'),
        datadir: pgCtlSafe(absPath),
        port: z.number().int().min(1).max(65535).default(5432),
        osUser: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a POSIX user name like postgres')
          .default('postgres'),
        socketDir: absPath.default('/var/run/postgresql'),
        /** libpq password file for the heartbeat and replication users (PGPASSFILE). */
        passfile: absPath.optional(),
        heartbeat: z
          .object({database: name.default('pgha'), user: name.default('pgha')})
          .strict()
          .default({}),
        replication: z
          .object({user: name.default('replicator')})
          .strict()
          .default({}),
        /** Bound for pg_ctl start/stop/promote and other slow steps. */
        stepTimeout: duration('60s', '1s', '24h'),
        /** pg_ctl -l: server output before the logging collector starts (default: <datadir>/pgha-server.log). */
        logFile: pgCtlSafe(absPath).optional(),
        /** postgresql.conf outside the datadir (Debian: /etc/postgresql/15/main/postgresql.conf); passed as -c config_file. */
        configFile: absPath.optional(),
      })
      .strict(),
    archive: z
      .object({
        mode: z.enum(['nfs', 'bind', 'none']).default('none'),
        source: refineText(z.string().min(1), 'archive.source').optional(),
        mountpoint: absPath.default('/var/lib/pgha/peer_archive'),
        /** Extra NFS mount options, appended to pgha's soft,timeo,retrans defaults. */
        options: z
          .string()
          .regex(/^[A-Za-z0-9_=.,:/-]+$/, 'expected comma-separated mount options like vers=4.2,noatime')
          .optional(),
        timeout: duration('10s', '1s', '10m'),
      })
      .strict()
      .default({}),
    fence: z
      .object({
        agent: z.enum(['ipmitool', 'fence-agent', 'command', 'none']),
        /** fence-agent: the program, e.g. fence_ipmilan or /usr/sbin/fence_ilo. */
        name: z
          .string()
          .regex(/^[A-Za-z0-9_./-]{1,255}$/, 'expected a fence agent program like fence_ipmilan or /usr/sbin/fence_ilo')
          .optional(),
        /** command: argv with an {action} placeholder (off|on|status|reboot). */
        command: z.array(refineText(z.string(), 'a fence.command element')).min(1).optional(),
        address: bmcAddress.optional(),
        port: z.number().int().min(1).max(65535).default(623),
        user: refineText(z.string().min(1).max(64), 'fence.user').optional(),
        passwordFile: absPath.optional(),
        passwordEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
          .optional(),
        ipmi: z
          .object({interface: z.enum(['lan', 'lanplus']).default('lanplus'), cipherSuite: z.number().int().min(0).max(17).default(3)})
          .strict()
          .default({}),
        /** Extra key=value options passed to a fence-agent on stdin. */
        options: fenceOptions.default({}),
        timeout: duration('20s', '1s', '10m'),
        delay: duration('500ms', '0s', '5m'),
        /** Only with agent none: allow promotion with no fence. Dangerous; logged loudly. */
        allowUnfencedPromotion: z.boolean().default(false),
      })
      .strict(),
    timing: z
      .object({
        interval: duration('500ms', '100ms', '10m'),
        checkTimes: z.number().int().min(1).max(100).default(2),
        probeTimeout: duration('500ms', '10ms', '1m'),
        startupDelay: duration('45s', '0s', '24h'),
        // A peer whose PostgreSQL answers but is not ready (starting up, replaying WAL, rejecting
        // the heartbeat role) is alive: the primary waits this long before it counts as failed.
        peerStartTimeout: duration('300s', '0s', '24h'),
      })
      .strict()
      .default({}),
    lag: z
      .object({
        promote: lagLimit('600s', '160MB'),
        releaseStandbyVip: lagLimit('400s', '80MB'),
        yield: lagLimit('400s', '80MB'),
      })
      .strict()
      .default({}),
    stateDir: absPath.default('/var/lib/pgha'),
    // ── hooks and the HTTP API (docs/monitoring.md) ──
    /** Programs run beside the loop on events (failover, fence, …); never a shell string. */
    hooks: labelled(
      z.array(
        z
          .object({
            on: z.array(z.enum(EVENT_NAMES)).min(1).optional(),
            run: z
              .array(z.string().min(1))
              .min(1)
              .refine(
                (a) => a[0].startsWith('/'),
                (a) => ({message: `expected the program as an absolute path, found ${JSON.stringify(a[0])}`}),
              ),
            timeout: duration('10s', '1s', '1h'),
          })
          .strict(),
      ),
      'list of hooks',
    ).default([]),
    /** Read-only health endpoints and /metrics inside pgha watch; listen "off" disables. */
    api: z.preprocess(
      (v) => (v === 'off' || v === false ? {listen: 'off'} : (v ?? {})),
      z
        .object({
          listen: z
            .string()
            .default('127.0.0.1:8008')
            .refine(
              (s) =>
                s === 'off' ||
                (/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s) && Number(s.split(':').pop()) <= 65535),
              (s) => ({message: `expected host:port like 127.0.0.1:8008, or off, found ${JSON.stringify(s)}`}),
            ),
          /** /liveness answers 503 when no tick finished for this long. */
          livenessTimeout: duration('30s', '1s', '1h'),
        })
        .strict(),
    ),
    /**
     * sync: the primary waits for the standby to flush each commit (synchronous_standby_names =
     * peer.name) and stops waiting only after a verified fence of the standby. async: no wait.
     */
    replication: z
      .object({
        mode: z.enum(['sync', 'async']).default('sync'),
        /** The standby connected but not confirming WAL this long = a failed standby. */
        stallTimeout: duration('2s', '100ms', '10m'),
        /** Bound of the sync-replication SQL (ALTER SYSTEM, pg_reload_conf, pg_stat_replication). */
        sqlTimeout: duration('2s', '100ms', '1m'),
      })
      .strict()
      .default({}),
  })
  .strict()

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

import {z} from 'zod'
import {parseCidr, parseIPv4} from './net.js'
import {parseDuration, parseSize} from './units.js'

const duration = (dflt: string) =>
  z
    .union([z.string(), z.number()])
    .default(dflt)
    .transform((v, ctx) => {
      const ms = parseDuration(v)
      if (ms === undefined) {
        ctx.addIssue({code: z.ZodIssueCode.custom, message: `expected a duration like 500ms, 10s or 2m, found ${JSON.stringify(v)}`})
        return z.NEVER
      }
      return ms
    })

const size = (dflt: string) =>
  z
    .union([z.string(), z.number()])
    .default(dflt)
    .transform((v, ctx) => {
      const n = parseSize(v)
      if (n === undefined) {
        ctx.addIssue({code: z.ZodIssueCode.custom, message: `expected a size like 80MB or 1GB, found ${JSON.stringify(v)}`})
        return z.NEVER
      }
      return n
    })

const ipv4 = z.string().refine((s) => parseIPv4(s) !== undefined, (s) => ({message: `expected an IPv4 address like 192.0.2.11, found ${JSON.stringify(s)}`}))
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, (s) => ({message: `expected an IPv4 address with prefix like 192.0.2.100/24, found ${JSON.stringify(s)}`}))
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, "-", "_" or "."')
const absPath = z.string().refine((s) => s.startsWith('/'), (s) => ({message: `expected an absolute path, found ${JSON.stringify(s)}`}))
const lagLimit = (age: string, bytes: string) =>
  z.object({maxAge: duration(age), maxBytes: size(bytes)}).strict().default({})

export const configSchema = z
  .object({
    cluster: name,
    node: z.object({name, address: ipv4, canPrimary: z.boolean().default(true)}).strict(),
    peer: z.object({name, address: ipv4}).strict(),
    network: z
      .object({
        interface: z.string().regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'expected a network interface name like eth0'),
        gateway: ipv4,
        vipPrimary: cidr,
        vipStandby: cidr,
        /** Gratuitous ARP announcements sent after claiming a VIP. */
        arpCount: z.number().int().min(0).max(10).default(3),
      })
      .strict(),
    postgres: z
      .object({
        bindir: absPath.default('/usr/lib/postgresql/15/bin'),
        datadir: absPath,
        port: z.number().int().min(1).max(65535).default(5432),
        osUser: z.string().min(1).default('postgres'),
        socketDir: absPath.default('/var/run/postgresql'),
        /** libpq password file for the heartbeat and replication users (PGPASSFILE). */
        passfile: absPath.optional(),
        heartbeat: z.object({database: name.default('pgha'), user: name.default('pgha')}).strict().default({}),
        replication: z.object({user: name.default('replicator')}).strict().default({}),
        /** Bound for pg_ctl start/stop/promote and other slow steps. */
        stepTimeout: duration('60s'),
        /** pg_ctl -l: server output before the logging collector starts (default: <datadir>/pgha-server.log). */
        logFile: absPath.optional(),
        /** postgresql.conf outside the datadir (Debian: /etc/postgresql/15/main/postgresql.conf); passed as -c config_file. */
        configFile: absPath.optional(),
      })
      .strict(),
    archive: z
      .object({
        mode: z.enum(['nfs', 'bind', 'none']).default('none'),
        source: z.string().optional(),
        mountpoint: absPath.default('/var/lib/pgha/peer_archive'),
        /** Extra NFS mount options, appended to pgha's soft,timeo,retrans defaults. */
        options: z.string().optional(),
        timeout: duration('10s'),
      })
      .strict()
      .default({}),
    fence: z
      .object({
        agent: z.enum(['ipmitool', 'fence-agent', 'command', 'none']),
        /** fence-agent: the program, e.g. fence_ipmilan or /usr/sbin/fence_ilo. */
        name: z.string().optional(),
        /** command: argv with an {action} placeholder (off|on|status|reboot). */
        command: z.array(z.string()).min(1).optional(),
        address: z.string().optional(),
        port: z.number().int().min(1).max(65535).default(623),
        user: z.string().optional(),
        passwordFile: absPath.optional(),
        passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
        ipmi: z
          .object({interface: z.enum(['lan', 'lanplus']).default('lanplus'), cipherSuite: z.number().int().min(0).max(17).default(3)})
          .strict()
          .default({}),
        /** Extra key=value options passed to a fence-agent on stdin. */
        options: z.record(z.string()).default({}),
        timeout: duration('20s'),
        delay: duration('500ms'),
        /** Only with agent none: allow promotion with no fence. Dangerous; logged loudly. */
        allowUnfencedPromotion: z.boolean().default(false),
      })
      .strict(),
    timing: z
      .object({
        interval: duration('500ms'),
        checkTimes: z.number().int().min(1).max(100).default(2),
        probeTimeout: duration('500ms'),
        startupDelay: duration('45s'),
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
    /**
     * sync: the primary waits for the standby to flush each commit (synchronous_standby_names =
     * peer.name) and stops waiting only after a verified fence of the standby. async: no wait.
     */
    replication: z
      .object({
        mode: z.enum(['sync', 'async']).default('sync'),
        /** The standby connected but not confirming WAL this long = a failed standby. */
        stallTimeout: duration('2s'),
        /** Bound of the sync-replication SQL (ALTER SYSTEM, pg_reload_conf, pg_stat_replication). */
        sqlTimeout: duration('2s'),
      })
      .strict()
      .default({}),
  })
  .strict()

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

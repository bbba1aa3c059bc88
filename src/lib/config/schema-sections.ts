/** One schema per block of the config file: postgres, archive, fence, timing, lag. */
import {z} from 'zod'
import {pgCtlSafe} from './pgctl-paths.js'
import {absPath, bmcAddress, duration, fenceOptions, lagLimit, name, refineText} from './schema-fields.js'

/** postgres: where the server lives, who runs it, the heartbeat and replication users. */
export const postgresSchema = z
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
  .strict()

/** archive: how the peer's WAL archive is mounted (restore_command reads it). */
export const archiveSchema = z
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
  .default({})

/** fence: how the peer is powered off before any promotion. */
export const fenceSchema = z
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
  .strict()

/** timing: the loop's tick, probe bounds and grace periods. */
export const timingSchema = z
  .object({
    interval: duration('250ms', '100ms', '10m'),
    checkTimes: z.number().int().min(1).max(100).default(2),
    probeTimeout: duration('500ms', '10ms', '1m'),
    startupDelay: duration('45s', '0s', '24h'),
    // A peer whose PostgreSQL answers but is not ready (starting up, replaying WAL, rejecting
    // the heartbeat role) is alive: the primary waits this long before it counts as failed.
    peerStartTimeout: duration('300s', '0s', '24h'),
  })
  .strict()
  .default({})

/** lag: how far behind a standby may be for each decision. */
export const lagSchema = z
  .object({
    promote: lagLimit('600s', '160MB'),
    releaseStandbyVip: lagLimit('400s', '80MB'),
    yield: lagLimit('400s', '80MB'),
  })
  .strict()
  .default({})

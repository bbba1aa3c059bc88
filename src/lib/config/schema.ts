/** The config file's schema: every key, its type, default and limits (docs/configuration.md is generated from it). */
import {z} from 'zod'
import {EVENT_NAMES} from '../core/events.js'
import {absPath, cidr, duration, ifname, ipv4, labelled, name} from './schema-fields.js'
import {archiveSchema, fenceSchema, lagSchema, postgresSchema, timingSchema} from './schema-sections.js'

export {limitsOf, TIMER_MAX_MS, typeLabelOf, type UnitLimits} from './schema-fields.js'

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
    postgres: postgresSchema,
    archive: archiveSchema,
    fence: fenceSchema,
    timing: timingSchema,
    lag: lagSchema,
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
        /**
         * After this node takes a primary role, how long a standby that answers may lack a
         * replication connection before that counts as a stall (it reconnects through VIP-M).
         */
        connectTimeout: duration('10s', '0s', '10m'),
        /** Bound of the sync-replication SQL (ALTER SYSTEM, pg_reload_conf, pg_stat_replication). */
        sqlTimeout: duration('2s', '100ms', '1m'),
      })
      .strict()
      .default({}),
  })
  .strict()

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

/**
 * Read-only facts about one PostgreSQL server of the pair, for `pgha status` and
 * `pgha check lag`: recovery state, replication (pg_stat_replication on a primary,
 * pg_stat_wal_receiver on a standby), the heartbeat row (read, never written) and the
 * cluster flags. One bounded connection as the heartbeat user (pg_monitor can read all of it).
 * Never throws: an unreachable server is a fact too.
 */
import type {Config} from '../config/schema.js'
import {CLUSTER_STATE_SQL} from '../sql/heartbeat.js'
import {switchoverStatus} from '../steps/switchover-plan.js'
import {describeEndpoint, type PgEndpoint, pgErrorLine, withPgClient} from '../system/pg.js'

export interface ReplicationRow {
  clientAddr: string | null
  applicationName: string
  state: string
  syncState: string
  lagBytes: number | null
  lagSeconds: number | null
}

export interface NodeFacts {
  where: string
  reachable: boolean
  error?: string
  inRecovery?: boolean
  /** On a primary: its standbys. */
  replication?: ReplicationRow[]
  /** On a standby: its WAL receiver. */
  receiver?: {status: string; senderHost: string | null; lastMsgAgeS: number | null} | null
  /** On a standby: received but not yet replayed, and the age of the last replayed transaction. */
  replayBacklogBytes?: number | null
  replayDelayS?: number | null
  heartbeat?: {
    ageMs: number | null
    lagBytes: number | null
    writtenBy: string | null
    /** The standby the primary was synchronous with when it wrote the row (schema v2+; null: none). */
    syncWith?: string | null
    /** When sync_with last took that value (schema v3+), ISO. */
    syncSince?: string | null
  }
  /** On a primary: synchronous_standby_names. */
  syncStandbyNames?: string
  flags?: {paused: boolean; switchover: string; switchoverActive: boolean}
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

export async function nodeFacts(cfg: Config, endpoint: PgEndpoint, timeoutMs: number): Promise<NodeFacts> {
  const where = describeEndpoint(endpoint)
  try {
    return await withPgClient(cfg, endpoint, {timeoutMs}, async (c) => {
      const q = async (sql: string) => (await c.query(sql)).rows as Record<string, unknown>[]
      const inRecovery = (await q('SELECT pg_is_in_recovery() AS r'))[0].r === true
      const f: NodeFacts = {where, reachable: true, inRecovery}
      if (inRecovery) {
        const r = (
          await q(`SELECT status, sender_host, extract(epoch FROM now() - last_msg_receipt_time)::float8 AS age FROM pg_stat_wal_receiver`)
        )[0]
        f.receiver = r ? {status: String(r.status), senderHost: (r.sender_host as string | null) ?? null, lastMsgAgeS: num(r.age)} : null
        const b = (
          await q(`SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS backlog,
                                   extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS delay`)
        )[0]
        f.replayBacklogBytes = num(b.backlog)
        f.replayDelayS = num(b.delay)
      } else {
        f.syncStandbyNames = String((await q(`SELECT current_setting('synchronous_standby_names') AS n`))[0].n)
        f.replication = (
          await q(`SELECT host(client_addr) AS addr, application_name, state, sync_state,
                                         pg_wal_lsn_diff(pg_current_wal_lsn(), COALESCE(replay_lsn, flush_lsn, write_lsn, sent_lsn))::float8 AS lag,
                                         extract(epoch FROM replay_lag)::float8 AS lag_s
                                    FROM pg_stat_replication ORDER BY 1`)
        ).map((r) => ({
          clientAddr: (r.addr as string | null) ?? null,
          applicationName: String(r.application_name ?? ''),
          state: String(r.state),
          syncState: String(r.sync_state),
          lagBytes: num(r.lag),
          lagSeconds: num(r.lag_s),
        }))
      }
      try {
        // sync_with / sync_since through to_jsonb: an older schema without them still reads.
        const h = (
          await q(
            `SELECT (extract(epoch FROM now() - last_alive) * 1000)::float8 AS age, rep_lag, written_by,
                    to_jsonb(h) ? 'sync_with' AS has_sync, to_jsonb(h) ->> 'sync_with' AS sync_with,
                    to_char((to_jsonb(h) ->> 'sync_since')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS sync_since
               FROM pgha.heartbeat h WHERE id = 1`,
          )
        )[0]
        if (h)
          f.heartbeat = {
            ageMs: num(h.age),
            lagBytes: num(h.rep_lag),
            writtenBy: (h.written_by as string | null) ?? null,
            ...(h.has_sync === true
              ? {syncWith: (h.sync_with as string | null) ?? null, syncSince: (h.sync_since as string | null) ?? null}
              : {}),
          }
        const s = (await q(CLUSTER_STATE_SQL))[0]
        if (s) {
          const so = switchoverStatus(s.switchover as string | null, new Date())
          f.flags = {paused: s.paused === true, switchover: so.text, switchoverActive: so.active}
        }
      } catch (error) {
        f.error = `pgha schema: ${pgErrorLine(error)}`
      }
      return f
    })
  } catch (error) {
    return {where, reachable: false, error: pgErrorLine(error)}
  }
}

/** The standby row of the peer in a primary's pg_stat_replication (by address, else the only one). */
export function peerReplication(f: NodeFacts, peerAddress: string): ReplicationRow | undefined {
  const rows = f.replication ?? []
  return rows.find((r) => r.clientAddr === peerAddress) ?? (rows.length === 1 ? rows[0] : undefined)
}

/**
 * The heartbeat probes of the watch loop over long-lived connections, one per endpoint
 * (local socket, the peer's address, VIP-M, VIP-S). A fresh connection every tick costs a
 * SCRAM handshake (~8 ms of CPU) per endpoint; a kept one costs one round trip. Any error or
 * timeout drops the connection and the next tick connects anew, so a connection can never
 * outlive what it points at: when a VIP moves, packets to the old connection reach a host
 * that does not know it (RST, or silence → timeout) and the probe reconnects to the new holder.
 * The SQL and its reading are the heartbeat step's (steps/heartbeat.ts); a dry run wraps the
 * call in a rolled-back transaction the same way.
 */
import pg from 'pg'
import type {Config} from '../config/schema.js'
import {CLUSTER_STATE_SQL, type ClusterState} from '../steps/pause.js'
import type {HeartbeatResult, HeartbeatTarget} from '../steps/heartbeat.js'
import {heartbeatEndpoint} from '../steps/heartbeat.js'
import {HEARTBEAT_CALL_SQL} from '../steps/init-sql.js'
import {clientConfig, closeClient, describeEndpoint, type PgEndpoint, pgErrorLine} from '../system/pg.js'

interface HeartbeatRow {
  role: string
  last_alive: Date | null
  age_ms: number | null
  lag_bytes: string | null
  written_by: string | null
  sync_with?: string | null
}

/** Pure: the heartbeat function's row → HeartbeatResult (as steps/heartbeat.ts reads it). */
export function heartbeatFromRow(row: HeartbeatRow | undefined, base: {target: HeartbeatTarget; address: string; latencyMs: number; rolledBack: boolean}): HeartbeatResult {
  const {target, address, latencyMs} = base
  if (!row) return {ok: false, target, address, latencyMs, error: 'heartbeat returned no row (pgha.heartbeat is empty; run pgha init on the primary)'}
  return {
    ok: true, target, address,
    role: row.role === 'standby' ? 'standby' : 'primary',
    lastAlive: row.last_alive ? row.last_alive.toISOString() : undefined,
    ageMs: row.age_ms === null ? undefined : Math.max(0, Math.round(row.age_ms)),
    lagBytes: row.lag_bytes === null ? null : Number(row.lag_bytes),
    writtenBy: row.written_by,
    syncWith: row.sync_with ?? null,
    latencyMs,
    ...(base.rolledBack ? {rolledBack: true} : {}),
  }
}

export class PgProbe {
  private client?: pg.Client
  private connecting?: Promise<pg.Client>
  readonly endpoint: PgEndpoint
  private readonly peerAddr: string | null
  /** Connections opened so far (a steady loop keeps this at 1). */
  connects = 0

  constructor(private readonly cfg: Config, readonly target: HeartbeatTarget, private readonly dryRun: boolean) {
    const e = heartbeatEndpoint(cfg, target)
    this.endpoint = e.endpoint
    this.peerAddr = e.peerAddr
  }

  private async connected(timeoutMs: number): Promise<pg.Client> {
    if (this.client) return this.client
    this.connecting ??= (async () => {
      const c = new pg.Client(clientConfig(this.cfg, this.endpoint, {timeoutMs}))
      c.on('error', () => this.drop(c))
      c.on('end', () => this.drop(c))
      this.connects++
      try {
        await c.connect()
      } catch (error) {
        void closeClient(c, 100)
        throw error
      }
      this.client = c
      return c
    })().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  /** Forget a connection (and close it in the background). */
  drop(c = this.client): void {
    if (!c) return
    if (this.client === c) this.client = undefined
    void closeClient(c, 200)
  }

  /** The heartbeat call; never throws. A failure drops the connection. */
  async heartbeat(timeoutMs: number): Promise<HeartbeatResult> {
    const started = performance.now()
    const latency = () => Math.round(performance.now() - started)
    const address = describeEndpoint(this.endpoint)
    let c: pg.Client | undefined
    try {
      c = await this.connected(timeoutMs)
      const params = [this.peerAddr, this.cfg.node.name]
      if (this.dryRun) await c.query({text: 'BEGIN', query_timeout: timeoutMs} as pg.QueryConfig)
      const r = await c.query<HeartbeatRow>({text: HEARTBEAT_CALL_SQL, values: params, query_timeout: timeoutMs} as pg.QueryConfig)
      if (this.dryRun) await c.query({text: 'ROLLBACK', query_timeout: timeoutMs} as pg.QueryConfig)
      return heartbeatFromRow(r.rows[0], {target: this.target, address, latencyMs: latency(), rolledBack: this.dryRun})
    } catch (error) {
      this.drop(c)
      return {ok: false, target: this.target, address, latencyMs: latency(), error: pgErrorLine(error)}
    }
  }

  /** pgha.cluster_state on this connection; throws when it cannot be read. */
  async clusterState(timeoutMs: number): Promise<ClusterState> {
    let c: pg.Client | undefined
    try {
      c = await this.connected(timeoutMs)
      const rows = (await c.query({text: CLUSTER_STATE_SQL, query_timeout: timeoutMs} as pg.QueryConfig)).rows as {paused: boolean; switchover: string | null; updated_at: string}[]
      if (!rows[0]) throw new Error('pgha.cluster_state has no row (run pgha init on the primary)')
      return {paused: rows[0].paused, switchover: rows[0].switchover, updatedAt: rows[0].updated_at}
    } catch (error) {
      // A missing row is no reason to drop a good connection; anything else is.
      if (!/has no row/.test(String((error as Error).message))) this.drop(c)
      throw error
    }
  }

  /** Any read-only query on this connection, bounded; a failure drops the connection and throws. */
  async rows<R extends pg.QueryResultRow>(text: string, values: unknown[], timeoutMs: number): Promise<R[]> {
    let c: pg.Client | undefined
    try {
      c = await this.connected(timeoutMs)
      return (await c.query<R>({text, values, query_timeout: timeoutMs} as pg.QueryConfig)).rows
    } catch (error) {
      this.drop(c)
      throw error
    }
  }

  close(): void {
    this.drop()
  }
}

/**
 * The heartbeat probes of the watch loop over long-lived connections, one per endpoint
 * (local socket, the peer's address, VIP-M, VIP-S). A fresh connection every tick costs a
 * SCRAM handshake (~8 ms of CPU) per endpoint; a kept one costs one round trip. Any error or
 * timeout drops the connection and the next tick connects anew, so a connection can never
 * outlive what it points at: when a VIP moves, packets to the old connection reach a host
 * that does not know it (RST, or silence → timeout) and the probe reconnects to the new holder.
 * The SQL and its reading are sql/heartbeat.ts's, as for the heartbeat step; a dry run wraps
 * the call in a rolled-back transaction the same way.
 */
import pg from 'pg'
import type {Config} from '../config/schema.js'
import {
  CLUSTER_STATE_SQL,
  type ClusterState,
  clusterStateFromRow,
  HEARTBEAT_CALL_SQL,
  heartbeatFromRow,
  type HeartbeatResult,
  type HeartbeatRow,
  type HeartbeatTarget,
} from '../sql/heartbeat.js'
import {clientConfig, closeClient, describeEndpoint, type PgEndpoint, pgErrorLine, sqlStateOf} from './pg.js'

export class PgProbe {
  private client?: pg.Client
  private connecting?: Promise<pg.Client>
  /** Connections opened so far (a steady loop keeps this at 1). */
  connects = 0

  /** `peerAddr`: the standby address the primary reports lag for (null: the worst standby's). */
  constructor(
    private readonly cfg: Config,
    readonly target: HeartbeatTarget,
    readonly endpoint: PgEndpoint,
    private readonly peerAddr: string | null,
    private readonly dryRun: boolean,
  ) {}

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
      return {ok: false, target: this.target, address, latencyMs: latency(), error: pgErrorLine(error), ...sqlStateOf(error)}
    }
  }

  /** pgha.cluster_state on this connection; throws when it cannot be read. */
  async clusterState(timeoutMs: number): Promise<ClusterState> {
    let c: pg.Client | undefined
    try {
      c = await this.connected(timeoutMs)
      const state = clusterStateFromRow((await c.query({text: CLUSTER_STATE_SQL, query_timeout: timeoutMs} as pg.QueryConfig)).rows[0])
      if (!state) throw new Error('pgha.cluster_state has no row (run pgha init on the primary)')
      return state
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

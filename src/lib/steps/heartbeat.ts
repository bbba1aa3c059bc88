import type {Config} from '../config/schema.js'
import type {SystemContext} from '../system/exec.js'
import {describeEndpoint, hostOf, localEndpoint, type PgEndpoint, pgErrorLine, withPgClient} from '../system/pg.js'
import {HEARTBEAT_CALL_SQL} from './init-sql.js'

export type HeartbeatTarget = 'local' | 'peer' | 'vip-primary' | 'vip-standby'
export const HEARTBEAT_TARGETS: readonly HeartbeatTarget[] = ['local', 'peer', 'vip-primary', 'vip-standby']

export interface HeartbeatResult {
  ok: boolean
  target: HeartbeatTarget | 'custom'
  /** Socket path or host:port that was asked. */
  address: string
  role?: 'primary' | 'standby'
  /** ISO time of the last write on the primary (as replicated, on a standby). */
  lastAlive?: string
  /** now() - last_alive on the answering server (0 on a primary). */
  ageMs?: number
  /** The standby's replay lag in bytes as the primary last saw it; null when no standby was connected. */
  lagBytes?: number | null
  /** pgha node that wrote the row. */
  writtenBy?: string | null
  /** application_name of the standby the primary was synchronous with when it wrote the row (null: none). */
  syncWith?: string | null
  latencyMs: number
  /** Why the probe failed (one line). */
  error?: string
  /** Under --dry-run the write was rolled back. */
  rolledBack?: boolean
}

/** Pure: where a target lives and which standby address the primary should report lag for. */
export function heartbeatEndpoint(cfg: Config, target: HeartbeatTarget): {endpoint: PgEndpoint; peerAddr: string | null} {
  const port = cfg.postgres.port
  switch (target) {
    case 'local':
      return {endpoint: localEndpoint(cfg), peerAddr: cfg.peer.address}
    case 'peer':
      return {endpoint: {kind: 'tcp', host: cfg.peer.address, port}, peerAddr: cfg.node.address}
    // Through a VIP we cannot know which host answers: report the worst standby's lag.
    case 'vip-primary':
      return {endpoint: {kind: 'tcp', host: hostOf(cfg.network.vipPrimary), port}, peerAddr: null}
    case 'vip-standby':
      return {endpoint: {kind: 'tcp', host: hostOf(cfg.network.vipStandby), port}, peerAddr: null}
  }
}

/**
 * The seed's keepalive: on a primary writes the heartbeat row (and reports the standby's
 * lag), on a standby reads the replicated row's age. Never throws on a failed probe: the
 * result says ok:false and why, so the watch loop can treat it as an observation.
 */
export async function heartbeat(ctx: SystemContext, cfg: Config, target: HeartbeatTarget, opts: {timeoutMs?: number} = {}): Promise<HeartbeatResult> {
  const {endpoint, peerAddr} = heartbeatEndpoint(cfg, target)
  return heartbeatAt(ctx, cfg, endpoint, {...opts, peerAddr, target})
}

/** The same probe against any endpoint (the lab and tests use it with explicit ports). */
export async function heartbeatAt(
  ctx: SystemContext,
  cfg: Config,
  endpoint: PgEndpoint,
  opts: {timeoutMs?: number; peerAddr?: string | null; target?: HeartbeatTarget | 'custom'} = {},
): Promise<HeartbeatResult> {
  const timeoutMs = opts.timeoutMs ?? cfg.timing.probeTimeout
  const address = describeEndpoint(endpoint)
  const target = opts.target ?? 'custom'
  const started = performance.now()
  const latency = () => Math.round(performance.now() - started)
  const params = [opts.peerAddr ?? null, cfg.node.name]
  const shown = HEARTBEAT_CALL_SQL.replace('$1', opts.peerAddr ? `'${opts.peerAddr}'` : 'NULL').replace('$2', `'${cfg.node.name}'`)
  // Under --dry-run the call is recorded and run inside a rolled-back transaction: the probe
  // still tells the truth, and nothing is written.
  const real = ctx.sqlChange(`${cfg.postgres.heartbeat.database}@${address}`, shown + ';', 'heartbeat: write the row on a primary, read it on a standby')
  try {
    const row = await withPgClient(cfg, endpoint, {timeoutMs}, async (c) => {
      if (!real) await c.query('BEGIN')
      const r = await c.query(HEARTBEAT_CALL_SQL, params)
      if (!real) await c.query('ROLLBACK')
      return r.rows[0] as {role: string; last_alive: Date | null; age_ms: number | null; lag_bytes: string | null; written_by: string | null; sync_with?: string | null} | undefined
    })
    if (!row) return {ok: false, target, address, latencyMs: latency(), error: 'heartbeat returned no row (pgha.heartbeat is empty; run pgha init on the primary)'}
    return {
      ok: true,
      target,
      address,
      role: row.role === 'standby' ? 'standby' : 'primary',
      lastAlive: row.last_alive ? row.last_alive.toISOString() : undefined,
      ageMs: row.age_ms === null ? undefined : Math.max(0, Math.round(row.age_ms)),
      lagBytes: row.lag_bytes === null ? null : Number(row.lag_bytes),
      writtenBy: row.written_by,
      syncWith: row.sync_with ?? null,
      latencyMs: latency(),
      ...(real ? {} : {rolledBack: true}),
    }
  } catch (error) {
    return {ok: false, target, address, latencyMs: latency(), error: pgErrorLine(error)}
  }
}

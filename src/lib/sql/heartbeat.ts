/**
 * The heartbeat and cluster_state SQL and the reading of their rows, in one place for the
 * probes (system/pg-probe.ts, status/read-node.ts) and the steps (heartbeat, pause, switchover).
 * Pure: text and row parsing only; the callers own the connections.
 */

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
  /** The server's SQLSTATE when PostgreSQL itself refused (57P03 starting up, 28000 no such role, …). */
  sqlState?: string
  /** Under --dry-run the write was rolled back. */
  rolledBack?: boolean
}

/** The call every heartbeat makes (parameters: the standby address to report lag for, the writer's node name). */
export const HEARTBEAT_CALL_SQL = 'SELECT role, last_alive, age_ms, lag_bytes, written_by, sync_with FROM pgha.heartbeat($1, $2)'

/** A row of HEARTBEAT_CALL_SQL as node-postgres returns it. */
export interface HeartbeatRow {
  role: string
  last_alive: Date | null
  age_ms: number | null
  lag_bytes: string | null
  written_by: string | null
  sync_with?: string | null
}

/** Pure: the heartbeat function's row → HeartbeatResult. */
export function heartbeatFromRow(
  row: HeartbeatRow | undefined,
  base: {target: HeartbeatTarget | 'custom'; address: string; latencyMs: number; rolledBack: boolean},
): HeartbeatResult {
  const {target, address, latencyMs} = base
  if (!row)
    return {
      ok: false,
      target,
      address,
      latencyMs,
      error: 'heartbeat returned no row (pgha.heartbeat is empty; run pgha init on the primary)',
    }
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
    latencyMs,
    ...(base.rolledBack ? {rolledBack: true} : {}),
  }
}

/** The single row of pgha.cluster_state: maintenance flags, replicated to the standby. */
export interface ClusterState {
  paused: boolean
  /** JSON marker of a switchover in progress (see steps/switchover-plan.ts), or null. */
  switchover: string | null
  updatedAt: string
}

export const CLUSTER_STATE_SQL = 'SELECT paused, switchover, updated_at::text AS updated_at FROM pgha.cluster_state WHERE id = 1'

/** Pure: a row of CLUSTER_STATE_SQL, or undefined when the table is empty. */
export function clusterStateFromRow(
  row: {paused: boolean; switchover: string | null; updated_at: string} | undefined,
): ClusterState | undefined {
  return row ? {paused: row.paused, switchover: row.switchover, updatedAt: row.updated_at} : undefined
}

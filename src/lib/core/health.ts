/**
 * Pure: the HTTP API's answers, computed from the snapshot the watch loop publishes after each
 * tick (never from a probe of its own). Endpoint semantics follow Patroni's REST API, so a load
 * balancer config written for Patroni works unchanged: 200 when the node is what the path asks
 * for, 503 otherwise.
 */
import {parseSize} from '../config/units.js'
import type {Observations, Role, Severity} from './types.js'

/** Where the local server's WAL is (read beside the loop; see system/wal-position.ts). */
export interface WalPosition {
  /** ms epoch of the reading. */
  at: number
  inRecovery: boolean
  /** Primary: pg_current_wal_lsn(); standby: the last replayed LSN (bytes from 0/0). */
  location?: number
  replayed?: number
  received?: number
  timeline?: number
}

/** What the loop publishes after each tick (a copy: readers never see it change under them). */
export interface LastTick {
  /** ms epoch when the tick ended. */
  endedAt: number
  role: Role
  rule: string
  reason: string
  severity: Severity
  committed: boolean
  tickMs: number
  obs: Omit<Observations, 'previous'>
}

export interface ApiSnapshot {
  cluster: string
  node: string
  peer: string
  /** ms epoch the watch process started. */
  startedAt: number
  /** timing.interval: a tick should end at least this often. */
  intervalMs: number
  /** api.livenessTimeout */
  livenessTimeoutMs: number
  lastTick?: LastTick
  wal?: WalPosition
}

export type HealthPath = 'primary' | 'replica' | 'read-only' | 'health' | 'liveness' | 'readiness'

/** Paths and their Patroni aliases. */
export const HEALTH_PATHS: Readonly<Record<string, HealthPath>> = {
  '/': 'primary',
  '/primary': 'primary',
  '/read-write': 'primary',
  '/master': 'primary',
  '/leader': 'primary',
  '/replica': 'replica',
  '/read-only': 'read-only',
  '/health': 'health',
  '/liveness': 'liveness',
  '/readiness': 'readiness',
}

/** PostgreSQL as the last tick saw it: running (answers the heartbeat), stopped, or unknown. */
export function pgState(t: LastTick | undefined): 'running' | 'stopped' | 'unknown' {
  if (!t) return 'unknown'
  if (t.obs.local.heartbeat === 'ok') return 'running'
  if (t.obs.local.running === 'no') return 'stopped'
  return 'unknown'
}

/** This node is the primary clients should write to: a writer role, writable, holding VIP-M. */
export function isPrimaryNow(t: LastTick | undefined): boolean {
  return (
    !!t &&
    (t.role === 'primary' || t.role === 'primary_standby') &&
    t.obs.local.heartbeat === 'ok' &&
    t.obs.local.inRecovery === 'no' &&
    t.obs.vipPrimary.heldLocally === 'yes' &&
    !t.obs.switchover
  )
}

/** A replica clients may read from: role standby, replaying, answering. */
export function isReplicaNow(t: LastTick | undefined): boolean {
  return !!t && t.role === 'standby' && t.obs.local.heartbeat === 'ok' && t.obs.local.inRecovery === 'yes' && !t.obs.switchover
}

/** ?lag= accepts bytes or PostgreSQL-style sizes (16kB, 10MB); undefined when absent, NaN when unreadable. */
export function parseLagParam(q: URLSearchParams): number | undefined {
  const v = q.get('lag')
  if (v === null) return undefined
  return parseSize(v) ?? Number.NaN
}

export interface HealthAnswer {
  status: 200 | 503 | 400
  body: Record<string, unknown>
}

export function liveness(s: ApiSnapshot, now: number): {ok: boolean; ageMs: number} {
  const since = s.lastTick?.endedAt ?? s.startedAt
  const ageMs = Math.max(0, now - since)
  return {ok: ageMs <= Math.max(s.livenessTimeoutMs, s.intervalMs * 3), ageMs}
}

/** The JSON document every GET health answer carries (Patroni's shape where it applies). */
function statusDocument(s: ApiSnapshot, now: number): Record<string, unknown> {
  const t = s.lastTick
  const role = isPrimaryNow(t) ? 'primary' : t?.obs.local.inRecovery === 'yes' ? 'replica' : 'unknown'
  const wal = s.wal && now - s.wal.at < Math.max(10_000, s.intervalMs * 10) ? s.wal : undefined
  return {
    state: pgState(t),
    role,
    pgha: {
      cluster: s.cluster,
      node: s.node,
      peer: s.peer,
      role: t?.role ?? 'starting',
      rule: t?.rule,
      reason: t?.reason,
      severity: t?.severity,
      lastTickAgeMs: liveness(s, now).ageMs,
    },
    ...(wal?.location !== undefined
      ? {xlog: wal.inRecovery ? {received_location: wal.received, replayed_location: wal.replayed} : {location: wal.location}}
      : {}),
    ...(wal?.timeline !== undefined ? {timeline: wal.timeline} : {}),
    ...(t?.obs.local.lagBytes !== undefined ? {lag: t.obs.local.lagBytes} : {}),
    ...(t?.obs.local.heartbeatAgeMs !== undefined ? {heartbeat_age_ms: t.obs.local.heartbeatAgeMs} : {}),
    paused: t?.obs.paused ?? false,
  }
}

/** The answer to a health path (the caller maps unknown paths to 404 itself). */
export function healthAnswer(path: HealthPath, query: URLSearchParams, s: ApiSnapshot, now: number): HealthAnswer {
  const body = statusDocument(s, now)
  const t = s.lastTick
  const ok = (b: boolean): HealthAnswer => ({status: b ? 200 : 503, body})
  switch (path) {
    case 'primary':
      return ok(isPrimaryNow(t))
    case 'replica': {
      const max = parseLagParam(query)
      if (Number.isNaN(max))
        return {status: 400, body: {error: `lag=${query.get('lag')} is not a size: give bytes (1048576) or 16kB, 10MB, 1GB`}}
      if (!isReplicaNow(t)) return ok(false)
      if (max === undefined) return ok(true)
      // An unknown lag is not "within" any limit.
      const lag = t!.obs.local.lagBytes
      return ok(lag !== undefined && lag <= max)
    }
    case 'read-only':
      return ok(isPrimaryNow(t) || isReplicaNow(t))
    case 'health':
      return ok(pgState(t) === 'running')
    case 'liveness':
      return ok(liveness(s, now).ok)
    case 'readiness':
      return ok(isPrimaryNow(t) || isReplicaNow(t))
  }
}

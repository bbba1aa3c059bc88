/**
 * Nagios plugin output for `pgha check alive|lag`, replacing a watch-loop-alive and a standby-lag check.
 * One status line, `PGHA ALIVE OK - text | label=value[uom];warn;crit;min;max`, and the
 * plugin exit codes 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN — the one place pgha uses exit
 * codes other than its own (documented in the README). Pure.
 */
import type {Config} from '../config/schema.js'
import {formatBytes, formatDuration} from '../config/units.js'
import type {NodeFacts} from './read-node.js'
import type {WatchLiveness} from './watch-liveness.js'
import {primarySyncView, standbyRow, standbySyncView, type SyncView} from './sync-view.js'

export const NAGIOS = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3} as const
export type NagiosState = keyof typeof NAGIOS

export interface Perf {
  label: string
  value: number
  uom?: 's' | 'B' | ''
  warn?: number
  crit?: number
  min?: number
}

export interface CheckResult {
  state: NagiosState
  text: string
  perf: Perf[]
}

const fmt = (n: number | undefined) => (n === undefined ? '' : String(Math.round(n * 1000) / 1000))

export function perfData(p: Perf[]): string {
  return p.map((x) => `${x.label}=${fmt(x.value)}${x.uom ?? ''};${fmt(x.warn)};${fmt(x.crit)};${fmt(x.min)};`.replace(/;+$/, '')).join(' ')
}

export function nagiosLine(service: string, r: CheckResult): string {
  const perf = perfData(r.perf)
  return `PGHA ${service} ${r.state} - ${r.text.replace(/\|/g, '/')}${perf ? ` | ${perf}` : ''}`
}

const worst = (a: NagiosState, b: NagiosState): NagiosState => (NAGIOS[a] >= NAGIOS[b] ? a : b)

/** watch alive: state.json updated within warn/crit. */
export function aliveCheck(ageMs: number | undefined, warnMs: number, critMs: number, detail: string): CheckResult {
  if (ageMs === undefined) return {state: 'CRITICAL', text: detail, perf: []}
  const state: NagiosState = ageMs > critMs ? 'CRITICAL' : ageMs > warnMs ? 'WARNING' : 'OK'
  const text = `pgha watch ${state === 'OK' ? 'alive' : 'silent'}: state updated ${formatDuration(Math.max(0, ageMs))} ago (warn ${formatDuration(warnMs)}, crit ${formatDuration(critMs)}); ${detail}`
  return {state, text, perf: [{label: 'age', value: Math.max(0, ageMs) / 1000, uom: 's', warn: warnMs / 1000, crit: critMs / 1000, min: 0}]}
}

/**
 * check alive from the shared liveness answer: a gone PID or an unusable state file is
 * CRITICAL at once (a kill -9 leaves a fresh-looking file); otherwise the age decides.
 */
export function aliveFromLiveness(
  live: Pick<WatchLiveness, 'kind' | 'line' | 'ageMs' | 'state'>,
  warnMs: number,
  critMs: number,
): CheckResult {
  const s = live.state
  if (live.kind === 'missing' || live.kind === 'corrupt' || !s || live.ageMs === undefined)
    return aliveCheck(undefined, warnMs, critMs, live.line)
  const age = Math.max(0, live.ageMs)
  if (live.kind === 'gone') {
    return {
      state: 'CRITICAL',
      text: `pgha watch is not running: PID ${s.pid} is gone (state updated ${formatDuration(age)} ago, role ${s.role}, last: ${s.lastTick.reason})`,
      perf: [{label: 'age', value: age / 1000, uom: 's', warn: warnMs / 1000, crit: critMs / 1000, min: 0}],
    }
  }
  return aliveCheck(live.ageMs, warnMs, critMs, `role ${s.role}, PID ${s.pid}, last: ${s.lastTick.reason}`)
}

export interface Limit {
  maxAge: number
  maxBytes: number
}

/** Lag: age (ms) and bytes against warn (lag.releaseStandbyVip) and crit (lag.promote). */
export function lagCheck(what: string, ageMs: number | undefined, bytes: number | undefined, warn: Limit, crit: Limit): CheckResult {
  if (ageMs === undefined && bytes === undefined) return {state: 'UNKNOWN', text: `${what}: no lag figures`, perf: []}
  const one = (v: number | undefined, w: number, c: number): NagiosState =>
    v === undefined ? 'UNKNOWN' : v > c ? 'CRITICAL' : v > w ? 'WARNING' : 'OK'
  const state = worst(one(ageMs, warn.maxAge, crit.maxAge), one(bytes, warn.maxBytes, crit.maxBytes))
  const parts = [
    ageMs === undefined ? 'age unknown' : `${formatDuration(Math.round(ageMs))} behind`,
    bytes === undefined ? 'bytes unknown' : `${formatBytes(bytes)} behind`,
  ]
  const perf: Perf[] = []
  if (ageMs !== undefined)
    perf.push({label: 'lag_age', value: ageMs / 1000, uom: 's', warn: warn.maxAge / 1000, crit: crit.maxAge / 1000, min: 0})
  if (bytes !== undefined) perf.push({label: 'lag_bytes', value: bytes, uom: 'B', warn: warn.maxBytes, crit: crit.maxBytes, min: 0})
  return {
    state,
    text: `${what}: ${parts.join(', ')} (warn at ${formatDuration(warn.maxAge)}/${formatBytes(warn.maxBytes)}, crit at ${formatDuration(crit.maxAge)}/${formatBytes(crit.maxBytes)})`,
    perf,
  }
}

/** Pure: the replication mode state's verdict: degraded WARNING, waiting (commits block) CRITICAL, else OK. */
export function syncVerdict(v: SyncView): NagiosState {
  return v.state === 'degraded' ? 'WARNING' : v.state === 'waiting' ? 'CRITICAL' : 'OK'
}

/** Pure: a lag result with the replication mode state folded in (the worse state wins; unknown adds nothing). */
export function withSync(r: CheckResult, v: SyncView): CheckResult {
  if (v.state === 'unknown') return r
  return {state: worst(r.state, syncVerdict(v)), text: `${r.text}; replication ${v.text}`, perf: r.perf}
}

/**
 * Pure: `pgha check lag` from what the local database said. A standby is judged by its
 * replicated heartbeat row (what watch checks before promoting); a primary by its peer's row
 * in pg_stat_replication. Warn at lag.releaseStandbyVip, critical at lag.promote; a degraded
 * synchronous replication warns, commits blocked on a missing standby are critical.
 */
export function replicationLagCheck(cfg: Config, f: NodeFacts): CheckResult {
  const warn = cfg.lag.releaseStandbyVip
  const crit = cfg.lag.promote
  if (!f.reachable) return {state: 'CRITICAL', text: `the local database does not answer: ${f.error}`, perf: []}
  if (f.inRecovery) {
    const hb = f.heartbeat
    return hb
      ? withSync(lagCheck(`standby ${cfg.node.name}`, hb.ageMs ?? undefined, hb.lagBytes ?? undefined, warn, crit), standbySyncView(cfg, f))
      : {
          state: 'UNKNOWN',
          text: `standby ${cfg.node.name}: no heartbeat row (${f.error ?? 'pgha.heartbeat is empty'}); run pgha init on the primary`,
          perf: [],
        }
  }
  const row = standbyRow(f, cfg.peer.name, cfg.peer.address)
  const sync = primarySyncView(cfg, f, cfg.peer.name, row)
  return withSync(
    row
      ? lagCheck(
          `primary ${cfg.node.name}, standby ${cfg.peer.name} ${row.state}`,
          (row.lagSeconds ?? 0) * 1000,
          row.lagBytes ?? undefined,
          warn,
          crit,
        )
      : {
          state: 'CRITICAL',
          text: `primary ${cfg.node.name}: no standby streaming from it (pg_stat_replication has no row for ${cfg.peer.address})`,
          perf: [],
        },
    sync,
  )
}

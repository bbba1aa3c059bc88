/**
 * Pure: /metrics in the Prometheus text exposition format, from the loop's snapshot and the
 * counters kept since the watch process started. Names follow Patroni's where they exist
 * (pgha_primary ~ patroni_primary), every series carries the labels cluster and node.
 */
import type {EventName, PghaEvent} from './events.js'
import {type ApiSnapshot, isPrimaryNow, isReplicaNow, liveness, pgState} from './health.js'
import {ROLES} from './types.js'

/** Tick duration buckets (seconds): a steady tick is milliseconds, a failover tick seconds. */
const TICK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const

export interface HookStats {
  started: number
  succeeded: number
  failed: number
  timedOut: number
  dropped: number
}

/** Counters since the watch process started (Prometheus handles the reset on restart). */
export class MetricsCounters {
  ticks = 0
  failedTicks = 0
  readonly events = new Map<EventName, number>()
  readonly buckets: number[] = TICK_BUCKETS.map(() => 0)
  tickSeconds = 0

  record(tick: {ms: {tick: number}; failed?: unknown}, events: readonly PghaEvent[]): void {
    this.ticks++
    if (tick.failed) this.failedTicks++
    const s = tick.ms.tick / 1000
    this.tickSeconds += s
    TICK_BUCKETS.forEach((le, i) => {
      if (s <= le) this.buckets[i]++
    })
    for (const e of events) this.events.set(e.event, (this.events.get(e.event) ?? 0) + 1)
  }

  count(e: EventName): number {
    return this.events.get(e) ?? 0
  }
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

/** Prometheus number formatting (integers as integers, no exponent surprises for LSNs). */
const num = (n: number) => (Number.isFinite(n) ? (Number.isInteger(n) ? n.toFixed(0) : String(n)) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN')

class Exposition {
  private readonly lines: string[] = []
  constructor(private readonly base: string) {}

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    return this
  }

  sample(name: string, value: number, labels: Record<string, string> = {}): this {
    const extra = Object.entries(labels)
      .map(([k, v]) => `,${k}="${escapeLabel(v)}"`)
      .join('')
    this.lines.push(`${name}{${this.base}${extra}} ${num(value)}`)
    return this
  }

  gauge(name: string, help: string, value: number | undefined): this {
    if (value === undefined) return this
    return this.family(name, 'gauge', help).sample(name, value)
  }

  counter(name: string, help: string, value: number): this {
    return this.family(name, 'counter', help).sample(name, value)
  }

  text(): string {
    return this.lines.join('\n') + '\n'
  }
}

const bit = (b: boolean) => (b ? 1 : 0)

export function renderMetrics(s: ApiSnapshot, c: MetricsCounters, hooks: HookStats, now: number): string {
  const x = new Exposition(`cluster="${escapeLabel(s.cluster)}",node="${escapeLabel(s.node)}"`)
  const t = s.lastTick
  const wal = s.wal
  x.gauge('pgha_primary', 'Value is 1 if this node is the running primary (writable, holding VIP-M), 0 otherwise.', bit(isPrimaryNow(t)))
  x.gauge('pgha_replica', 'Value is 1 if this node is a running standby, 0 otherwise.', bit(isReplicaNow(t)))
  x.family('pgha_role', 'gauge', "The watch loop's role: 1 for the current one.")
  for (const r of ROLES) x.sample('pgha_role', bit((t?.role ?? 'starting') === r), {role: r})
  x.gauge('pgha_postgres_running', 'Value is 1 if PostgreSQL answers the heartbeat, 0 otherwise.', bit(pgState(t) === 'running'))
  x.gauge('pgha_is_paused', 'Value is 1 if the cluster is in maintenance mode (pgha pause), 0 otherwise.', bit(t?.obs.paused ?? false))
  x.gauge('pgha_switchover_running', 'Value is 1 while pgha switchover holds the roles, 0 otherwise.', bit(t?.obs.switchover ?? false))
  x.gauge('pgha_vip_primary_held', 'Value is 1 if VIP-M is configured on this host.', bit(t?.obs.vipPrimary.heldLocally === 'yes'))
  x.gauge('pgha_vip_standby_held', 'Value is 1 if VIP-S is configured on this host.', bit(t?.obs.vipStandby.heldLocally === 'yes'))
  if (wal) {
    x.gauge('pgha_xlog_location', 'Current WAL location of the primary (bytes from 0/0).', wal.inRecovery ? undefined : wal.location)
    x.gauge(
      'pgha_xlog_received_location',
      'WAL location received and flushed by this standby (bytes from 0/0).',
      wal.inRecovery ? wal.received : undefined,
    )
    x.gauge(
      'pgha_xlog_replayed_location',
      'WAL location replayed by this standby (bytes from 0/0).',
      wal.inRecovery ? wal.replayed : undefined,
    )
    x.gauge('pgha_timeline', 'PostgreSQL timeline of this node.', wal.timeline)
  }
  x.gauge(
    'pgha_replication_lag_bytes',
    "This standby's replication lag in bytes, as the primary last wrote it in the heartbeat.",
    t?.obs.local.lagBytes,
  )
  const sync = t?.obs.sync?.armed
  x.gauge(
    'pgha_synchronous',
    'Value is 1 if this primary names its standby in synchronous_standby_names (commits wait for it), 0 if not (degraded or async); absent on a standby or when unknown.',
    sync === 'yes' ? 1 : sync === 'no' ? 0 : undefined,
  )
  const hbAge = t?.obs.local.heartbeatAgeMs
  x.gauge(
    'pgha_heartbeat_age_seconds',
    "Age of the primary's heartbeat row as replayed on this standby.",
    hbAge === undefined ? undefined : hbAge / 1000,
  )
  x.gauge(
    'pgha_last_tick_age_seconds',
    'Seconds since the watch loop last finished a tick (since start before the first).',
    liveness(s, now).ageMs / 1000,
  )
  x.gauge('pgha_watch_start_time_seconds', 'Start time of the pgha watch process since the Unix epoch.', s.startedAt / 1000)
  x.counter('pgha_ticks_total', 'Ticks of the watch loop.', c.ticks)
  x.counter('pgha_failed_ticks_total', 'Ticks where a step failed (the role was kept).', c.failedTicks)
  x.counter('pgha_failovers_total', 'Failovers this node performed (promoted itself after the primary failed).', c.count('failover'))
  x.counter('pgha_fences_total', 'Successful fences of the peer.', c.count('fence'))
  x.counter('pgha_fence_failures_total', 'Ticks whose fence of the peer failed.', c.count('fence_failed'))
  x.counter('pgha_role_changes_total', 'Role changes of the watch loop.', c.count('role_change'))
  x.family('pgha_events_total', 'counter', 'Events emitted to the hooks, by event.')
  for (const [e, n] of [...c.events.entries()].sort()) x.sample('pgha_events_total', n, {event: e})
  x.family('pgha_hook_runs_total', 'counter', "Hook runs finished, by outcome (dropped: the hook's queue was full).")
  for (const [k, v] of [
    ['succeeded', hooks.succeeded],
    ['failed', hooks.failed],
    ['timed_out', hooks.timedOut],
    ['dropped', hooks.dropped],
  ] as const) {
    x.sample('pgha_hook_runs_total', v, {outcome: k})
  }
  x.family('pgha_tick_duration_seconds', 'histogram', 'Duration of watch loop ticks (observe, decide, act).')
  TICK_BUCKETS.forEach((le, i) => x.sample('pgha_tick_duration_seconds_bucket', c.buckets[i], {le: String(le)}))
  x.sample('pgha_tick_duration_seconds_bucket', c.ticks, {le: '+Inf'})
  x.sample('pgha_tick_duration_seconds_sum', c.tickSeconds)
  x.sample('pgha_tick_duration_seconds_count', c.ticks)
  return x.text()
}

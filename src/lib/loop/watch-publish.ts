/**
 * What the watch loop tells the world after each tick: the events for the hooks and the
 * snapshot the HTTP API answers from. Called synchronously by the loop (LoopDeps.onTick) and
 * does no I/O itself: the hooks are queued through `fire`, which must return at once.
 */
import type {Config} from '../config/schema.js'
import {type PghaEvent, tickEvents} from '../core/events.js'
import type {ApiSnapshot, WalPosition} from '../core/health.js'
import {type HookStats, MetricsCounters, renderMetrics} from '../core/metrics.js'
import type {TickReport} from './watch-state.js'

export interface PublisherDeps {
  cfg: Config
  /** Queue events for the hooks (HookRunner.fire); never awaited. */
  fire: (events: PghaEvent[]) => void
  hookStats: () => HookStats
  /** The latest WAL reading, when a reader runs beside the loop. */
  wal?: () => WalPosition | undefined
  startedAt: number
}

export class WatchPublisher {
  readonly counters = new MetricsCounters()
  private last?: ApiSnapshot['lastTick']

  constructor(private readonly deps: PublisherDeps) {}

  /** LoopDeps.onTick */
  onTick(r: TickReport, previousRule: string | undefined): PghaEvent[] {
    const {cfg} = this.deps
    const events = tickEvents(r, previousRule, {
      cluster: cfg.cluster,
      node: cfg.node.name,
      peer: cfg.peer.name,
      syncMode: cfg.replication.mode === 'sync',
    })
    const obs = r.obs
    this.last = {
      endedAt: Date.parse(r.at) + r.ms.tick,
      role: r.role,
      rule: r.rule,
      reason: r.reason,
      severity: r.severity,
      committed: r.committed,
      tickMs: r.ms.tick,
      obs,
    }
    this.counters.record(r, events)
    if (events.length > 0) this.deps.fire(events)
    return events
  }

  snapshot(): ApiSnapshot {
    const {cfg} = this.deps
    return {
      cluster: cfg.cluster,
      node: cfg.node.name,
      peer: cfg.peer.name,
      startedAt: this.deps.startedAt,
      intervalMs: cfg.timing.interval,
      livenessTimeoutMs: cfg.api.livenessTimeout,
      ...(this.last ? {lastTick: this.last} : {}),
      ...(this.deps.wal?.() ? {wal: this.deps.wal()} : {}),
    }
  }

  metrics(now: number): string {
    return renderMetrics(this.snapshot(), this.counters, this.deps.hookStats(), now)
  }
}

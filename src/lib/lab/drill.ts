import {OUTAGE_MS, type HostRole, loadCounts, maxWritableWithVipM, observedRole, roleTransitions, type Sample, writeGap} from './figures.js'
import {idsOnFinalPrimary} from './final-primary.js'
import {lossReport} from './heavy-figures.js'
import {sleep} from './host.js'
import {hostLogEvents} from './host-log-events.js'
import {LAB_NODES, type LabLayout, type LabNode} from './layout.js'
import {type HeavyLoad, heavyLoadOptions, replicationMode} from './heavy.js'
import {readLoadLog, startLoad, stopLoad, type LoadRun} from './load.js'
import {Sampler} from './sampler.js'
import {describe, type Roles} from './steady.js'
import {type EventSource, loadEvents, type TimelineEvent, transitionEvents} from './timeline.js'

// The steady state moved to steady.ts; re-exported for the benches and tests that import it here.
export {describe, ensureSteady, restoreSteady, type Roles, SETTLE_MS, steadyRoles} from './steady.js'

/**
 * The drill's machinery: one sampler for the whole drill, a timeline, bounded waits that
 * record a pass or a failure (never an unbounded wait), and the figures of one scenario.
 * The steady state is in steady.ts, the scenarios in scenarios.ts.
 */

export interface ScenarioFigures {
  /** Longest stretch without an acknowledged write (last before → first after). */
  writeGapMs?: number
  /** Fault → first acknowledged write after the outage (only when writes paused ≥ OUTAGE_MS). */
  faultToWriteMs?: number
  /** Fault → the expected end state (failover, failback, ...). */
  recoveryMs?: number
  recoveryLabel?: string
  acked: number
  failedAttempts: number
  /** Acknowledged ids missing on the final primary; null: no primary to ask. */
  lost: number | null
  /** replication.mode of the lab hosts (in sync mode a lost acknowledged write fails the scenario). */
  replication?: 'sync' | 'async'
  maxWritableWithVipM: number
  samples: number
}

export interface ScenarioResult {
  name: string
  title: string
  /** Who was primary and standby when the scenario started (failback: primary = the host that was off). */
  roles?: Roles
  passed: boolean
  checks: {ok: boolean; text: string}[]
  startedAt: number
  faultAt?: number
  endedAt: number
  figures: ScenarioFigures
  final: Record<LabNode, HostRole>
  timeline: TimelineEvent[]
  notes: string[]
}

export class Drill {
  readonly sampler: Sampler
  events: TimelineEvent[] = []
  checks: {ok: boolean; text: string}[] = []
  notes: string[] = []
  load?: LoadRun
  faultAt?: number
  recoveryMs?: number
  /** What recoveryMs measures, when it is not "fault → expected state". */
  recoveryLabel?: string
  /** No acknowledged write may be lost in this scenario even in async mode (no primary lost power under load). */
  requireNoLoss = false
  startedAt = Date.now()

  constructor(
    readonly lab: LabLayout,
    readonly say: (line: string) => void = () => {},
  ) {
    this.sampler = new Sampler(lab)
  }

  note(text: string, source: EventSource = 'drill', t = Date.now()): void {
    this.events.push({t, source, text})
  }

  check(ok: boolean, text: string): boolean {
    this.checks.push({ok, text})
    this.note(`${ok ? '✓' : '✗'} ${text}`)
    return ok
  }

  /** Start the clock of a scenario (events and checks so far belong to the previous one). */
  begin(): void {
    this.events = []
    this.checks = []
    this.notes = []
    this.faultAt = undefined
    this.recoveryMs = undefined
    this.recoveryLabel = undefined
    this.requireNoLoss = false
    this.startedAt = Date.now()
  }

  fault(text: string, at = Date.now()): void {
    this.faultAt = at
    this.note(`FAULT: ${text}`, 'drill', at)
  }

  /** The latest sample taken at or after `notBefore` (a fresh one when the sampler lags). */
  async sample(notBefore = Date.now() - 500): Promise<Sample> {
    return this.sampler.next(notBefore)
  }

  /** Wait (bounded) until `pred` holds on a sample; records a check either way. */
  async until(
    what: string,
    limitMs: number,
    pred: (s: Sample) => boolean,
    opts: {record?: boolean; from?: number} = {},
  ): Promise<number | undefined> {
    const from = opts.from ?? Date.now()
    const deadline = from + limitMs
    for (;;) {
      const s = await this.sample(Math.max(from, Date.now() - 500))
      if (pred(s)) {
        if (opts.record !== false) this.check(true, `${what} after ${((s.t - from) / 1000).toFixed(2)} s (limit ${limitMs / 1000} s)`)
        return s.t - from
      }
      if (Date.now() > deadline) {
        if (opts.record !== false) this.check(false, `${what}: not reached within ${limitMs / 1000} s (now: ${describe(s)})`)
        return undefined
      }
      await sleep(100)
    }
  }

  /** Watch for `ms`: `bad` must never hold on any sample. */
  async never(what: string, ms: number, bad: (s: Sample) => boolean): Promise<boolean> {
    const end = Date.now() + ms
    while (Date.now() < end) {
      const s = await this.sample()
      if (bad(s)) return this.check(false, `${what} (at ${describe(s)})`)
      await sleep(100)
    }
    return this.check(true, `${what}: held for ${ms / 1000} s`)
  }

  async startLoad(name: string, heavy?: HeavyLoad): Promise<void> {
    const run = `${name}-${Date.now()}`
    await stopLoad(this.lab) // a client left over from an interrupted scenario
    this.load = await startLoad(this.lab, {run, ...(heavy ? heavyLoadOptions(heavy) : {})})
    this.note(
      heavy
        ? `load: ${heavy.connections} connections inserting through VIP-M as fast as their commits return (run ${run})`
        : `load: writing through VIP-M every 50 ms (run ${run})`,
    )
  }

  async stopLoad(): Promise<void> {
    if (this.load) await stopLoad(this.lab)
  }

  /** The scenario's figures, timeline and final state. */
  async finish(name: string, title: string, roles?: Roles): Promise<ScenarioResult> {
    await this.stopLoad()
    const endedAt = Date.now()
    await sleep(1500) // a watch line is written when its tick's actions are done
    const samples = this.sampler.samples.filter((s) => s.t >= this.startedAt && s.t <= endedAt)
    const entries = this.load ? readLoadLog(this.load.log) : []
    const gap = this.faultAt !== undefined ? writeGap(entries, this.faultAt) : {}
    const last = await this.sample()
    const max = maxWritableWithVipM(samples)
    this.check(
      max.max <= 1,
      `at most one host writable with VIP-M at every sampled instant (max ${max.max} over ${samples.length} samples)`,
    )
    const ids = this.load ? await idsOnFinalPrimary(this.lab, last, this.load.run) : null
    const loss = ids ? lossReport(entries, ids) : undefined
    const lost = loss ? loss.lost : null
    const mode = replicationMode(this.lab)
    // Synchronous replication promises every acknowledged commit survives any single failure.
    if (this.load && (this.requireNoLoss || mode === 'sync'))
      this.check(
        lost === 0,
        `no acknowledged write lost (${loss ? `${loss.acked} acknowledged, ${loss.lost} missing on the final primary${loss.lost > 0 ? `, e.g. #${loss.lostIds.join(', #')}` : ''}` : 'n/a: no primary to ask'})`,
      )
    else if (lost !== null && lost > 0)
      this.notes.push(
        `${lost} acknowledged writes are missing on the final primary (replication is asynchronous: they had not reached the standby when the primary failed)`,
      )
    if (loss && loss.failedButKept > 0)
      this.notes.push(`${loss.failedButKept} writes the client saw fail were committed anyway (it lost the connection before the answer)`)
    const counts = loadCounts(entries)
    const timeline = [
      ...this.events,
      ...transitionEvents(roleTransitions(samples)),
      ...loadEvents(entries),
      ...hostLogEvents(this.lab, this.startedAt, endedAt),
    ]
    const final = Object.fromEntries(LAB_NODES.map((n) => [n, observedRole(last.hosts[n])])) as Record<LabNode, HostRole>
    this.load = undefined
    return {
      name,
      title,
      roles,
      passed: this.checks.every((c) => c.ok),
      checks: this.checks,
      startedAt: this.startedAt,
      faultAt: this.faultAt,
      endedAt,
      figures: {
        writeGapMs: gap.gapMs,
        faultToWriteMs: (gap.gapMs ?? 0) >= OUTAGE_MS ? gap.fromFaultMs : undefined,
        recoveryMs: this.recoveryMs,
        ...(this.recoveryLabel ? {recoveryLabel: this.recoveryLabel} : {}),
        acked: counts.acked,
        failedAttempts: counts.failed,
        lost,
        replication: mode,
        maxWritableWithVipM: max.max,
        samples: samples.length,
      },
      final,
      timeline,
      notes: this.notes,
    }
  }
}

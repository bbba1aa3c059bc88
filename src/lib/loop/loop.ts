/**
 * The watch loop: observe → decide → run the actions in order → persist → log one line.
 * Like pg_auto_failover, the role changes only after every action of the decision succeeded;
 * the first failure stops the tick and keeps the old role (decide() sees it next tick through
 * Observations.previous). Every dependency is a parameter, so tests drive it with fakes.
 */
import type {Config} from '../config/schema.js'
import type {Logger} from '../log.js'
import type {StepOutcome} from '../steps/types.js'
import type {ActionCarry} from './actions.js'
import type {ClusterFlags, ObserveMemory, ObserveResult} from '../observe/observe.js'
import {
  type ActionName,
  type Decision,
  FRESH_MEMORY,
  type NodeMemory,
  type Observations,
  type Role,
  type Severity,
  type TickOutcome,
} from '../core/types.js'
import {tickLogLevel, type TickReport, type WatchState, type Transition} from './watch-state.js'
import {Watchdog} from './watchdog.js'

export type {TickReport, WatchState, Transition} from './watch-state.js'

export interface LoopDeps {
  cfg: Config
  observe: (memory: ObserveMemory) => Promise<ObserveResult>
  decide: (role: Role, obs: Observations, cfg: Config, now: number, memory?: NodeMemory, previous?: TickOutcome) => Decision
  /** `carry` is fresh per decision: what one action hands to a later one of the same decision. */
  runAction: (action: ActionName, decision: Decision, note: (line: string) => void, carry: ActionCarry) => Promise<StepOutcome>
  /** Write state.json atomically (skipped under --dry-run by the caller passing a no-op). */
  persist: (state: WatchState) => void
  log: Logger
  /** sd_notify fields (READY=1, WATCHDOG=1, STATUS=…); a no-op outside systemd. */
  notify: (fields: string[]) => Promise<unknown>
  now?: () => number
  /** Worst-case duration of an action (actions.ts actionBoundMs). */
  actionBoundMs?: (action: ActionName, decision: Decision) => number
  /**
   * Before running a decision's actions: re-check what a monitored snapshot may have stale
   * (the gateway). Returns a corrected snapshot to decide on again, or undefined.
   */
  confirmBeforeActing?: (obs: Observations) => Promise<Observations | undefined>
  /** A tick overran its hard bound and no systemd watchdog will restart us (default: exit 1). */
  onOverrun?: (message: string) => void
  /**
   * After each tick (hooks, the HTTP API's snapshot). Synchronous on purpose: the loop never
   * waits for a listener; whatever is slow (a hook) must be queued by the listener itself.
   */
  onTick?: (report: TickReport, previousRule: string | undefined) => void
}

export interface LoopOptions {
  /** Start in this role (default 'starting': re-derive the role from reality). */
  role?: Role
  memory?: NodeMemory
  /** The last transition from a previous run's state.json (kept for status). */
  lastTransition?: Transition
  /** Observe and decide; actions run through a dry-run context; the role is never committed. */
  dryRun?: boolean
  /** A steady tick (same rule, no actions, severity info) is logged at info every Nth time, else debug. */
  steadyLogEvery?: number
  /** systemd's watchdog interval (WATCHDOG_USEC), when it supervises us. */
  watchdogMs?: number
}

const oneLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]

export class WatchLoop {
  role: Role
  memory: NodeMemory
  since: number
  lastTransition?: Transition
  ticks = 0
  private previous?: TickOutcome
  private flags?: ClusterFlags
  private stopping = false
  private wake?: () => void
  private lastLogged?: {rule: string; role: Role}
  private steadyCount = 0
  private readonly startedAt: number
  private readonly now: () => number
  readonly watchdog: Watchdog

  constructor(
    private readonly deps: LoopDeps,
    private readonly opts: LoopOptions = {},
  ) {
    this.now = deps.now ?? Date.now
    this.role = opts.role ?? 'starting'
    this.memory = opts.memory ?? {...FRESH_MEMORY}
    this.since = this.now()
    this.startedAt = this.since
    this.lastTransition = opts.lastTransition
    this.watchdog = new Watchdog({
      intervalMs: opts.watchdogMs,
      now: this.now,
      notify: deps.notify,
      log: deps.log,
      onOverrun: deps.onOverrun,
    })
  }

  /** Ask the loop to end: the running step finishes, no further step starts, state is persisted. */
  stop(): void {
    this.stopping = true
    this.wake?.()
  }

  get stopped(): boolean {
    return this.stopping
  }

  /** Hard bound of observing: every probe is bounded by probeTimeout (ARP by whole seconds). */
  private observeBoundMs(): number {
    return Math.max(1000, this.deps.cfg.timing.probeTimeout) * 2 + 5000
  }

  private decideOn(obs: Observations): Decision {
    try {
      return this.deps.decide(this.role, obs, this.deps.cfg, this.now(), this.memory, this.previous)
    } catch (error) {
      // A hole in the transition table: loud, no action, keep observing.
      return {next: this.role, reason: oneLine(error), rule: 'error.no-transition', actions: [], memory: this.memory, severity: 'alert'}
    }
  }

  async tick(): Promise<TickReport> {
    const t0 = this.now()
    this.watchdog.begin(t0 + this.observeBoundMs())
    const from = this.role
    const previousRule = this.previous?.rule
    const seen = await this.deps.observe({flags: this.flags})
    this.flags = seen.flags
    let decision = this.decideOn(seen.obs)
    if (decision.actions.length > 0 && this.deps.confirmBeforeActing) {
      const corrected = await this.deps.confirmBeforeActing(seen.obs)
      if (corrected) {
        seen.notes.push(`gateway re-checked before acting: ${corrected.gateway} (the monitor said ${seen.obs.gateway})`)
        seen.obs = corrected
        decision = this.decideOn(corrected)
      }
    }
    const bound = (decision.actions as ActionName[]).reduce((s, a) => s + (this.deps.actionBoundMs?.(a, decision) ?? 60_000), 0)
    this.watchdog.begin(this.now() + bound + 5000)
    const tActions = this.now()
    const steps: string[] = []
    const done: ActionName[] = []
    const carry: ActionCarry = {}
    let failed: TickOutcome['failed']
    for (const action of decision.actions) {
      if (this.stopping) {
        failed = {action, error: 'pgha watch is stopping (SIGTERM/SIGINT): not started'}
        break
      }
      const ta = this.now()
      try {
        const out = await this.deps.runAction(action, decision, (line) => steps.push(line), carry)
        done.push(action)
        steps.push(`${action}: ${out.summary} (${this.now() - ta} ms)`)
      } catch (error) {
        failed = {action, error: oneLine(error)}
        steps.push(`${action} FAILED after ${this.now() - ta} ms: ${failed.error}`)
        break
      }
    }
    const actionsMs = this.now() - tActions
    const committed = !failed && !this.opts.dryRun
    const end = this.now()
    if (committed && decision.next !== from) {
      this.role = decision.next
      this.since = end
      this.lastTransition = {from, to: decision.next, rule: decision.rule, reason: decision.reason, at: new Date(end).toISOString()}
    }
    this.memory = decision.memory
    this.previous = {rule: decision.rule, done, ...(failed ? {failed} : {})}
    this.ticks++
    const report: TickReport = {
      at: new Date(t0).toISOString(),
      from,
      role: this.role,
      next: decision.next,
      committed,
      rule: decision.rule,
      reason: decision.reason,
      severity: decision.severity,
      actions: decision.actions,
      done,
      ...(failed ? {failed} : {}),
      steps,
      notes: seen.notes,
      ms: {observe: seen.ms, actions: actionsMs, tick: end - t0},
      probeMs: seen.probeMs,
      obs: seen.obs,
      flags: seen.flags,
      ...(decision.wait ? {wait: decision.wait} : {}),
      dryRun: Boolean(this.opts.dryRun),
    }
    this.persist(report)
    this.logTick(report)
    try {
      this.deps.onTick?.(report, previousRule)
    } catch (error) {
      this.deps.log.error(`after-tick listener failed: ${oneLine(error)}`)
    }
    await this.watchdog.tickDone(report, this.ticks === 1)
    return report
  }

  private persist(r: TickReport): void {
    const {cfg} = this.deps
    const observations = r.obs
    const state: WatchState = {
      version: 1,
      cluster: cfg.cluster,
      node: cfg.node.name,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      updatedAt: new Date(this.now()).toISOString(),
      role: this.role,
      since: new Date(this.since).toISOString(),
      ...(this.lastTransition ? {lastTransition: this.lastTransition} : {}),
      memory: this.memory,
      lastTick: {
        at: r.at,
        rule: r.rule,
        reason: r.reason,
        severity: r.severity,
        actions: r.actions,
        done: r.done,
        ...(r.failed ? {failed: r.failed} : {}),
        ms: r.ms,
      },
      flags: {
        paused: r.flags.paused,
        switchover: r.flags.switchover,
        source: r.flags.source,
        ...(r.flags.switchoverText ? {switchoverText: r.flags.switchoverText} : {}),
      },
      observations,
    }
    try {
      this.deps.persist(state)
    } catch (error) {
      this.deps.log.error(`cannot write the state file: ${oneLine(error)}`, {stateDir: cfg.stateDir})
    }
  }

  private logTick(r: TickReport): void {
    const changedRule = !this.lastLogged || this.lastLogged.rule !== r.rule || this.lastLogged.role !== r.role
    this.steadyCount = changedRule ? 0 : this.steadyCount + 1
    const level = tickLogLevel(r, changedRule, this.steadyCount, this.opts.steadyLogEvery ?? 60)
    this.lastLogged = {rule: r.rule, role: r.role}
    const fields: Record<string, unknown> = {role: r.role, rule: r.rule, severity: r.severity, actions: r.actions}
    if (r.from !== r.role) fields.from = r.from
    if (!r.committed && r.next !== r.role) fields.next = r.next
    if (r.failed) fields.failed = `${r.failed.action}: ${r.failed.error}`
    if (r.steps.length > 0) fields.steps = r.steps
    if (r.notes.length > 0) fields.notes = r.notes
    if (r.dryRun && r.actions.length > 0) fields.dryRun = true
    fields.ms = r.ms
    this.deps.log[level](r.reason, fields)
  }

  /** Tick until stop(): one tick every timing.interval (start to start), sooner when a decision waits for a deadline. */
  async run(): Promise<void> {
    const interval = this.deps.cfg.timing.interval
    this.watchdog.start()
    try {
      while (!this.stopping) {
        const t0 = this.now()
        const r = await this.tick()
        if (this.stopping) break
        let next = t0 + interval
        if (r.wait && r.wait.until < next) next = Math.max(r.wait.until, this.now() + 10)
        const sleepMs = Math.max(0, next - this.now())
        this.watchdog.begin(this.now() + sleepMs + this.observeBoundMs())
        await this.sleep(sleepMs)
      }
    } finally {
      this.watchdog.stop()
      this.deps.log.info(`pgha watch stopped (role ${this.role}, ${this.ticks} ticks)`, {role: this.role})
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }
}

export type {Severity}

/**
 * Runs the configured event hooks beside the watch loop. fire() only queues and returns: the
 * loop never waits for a hook. Each hook has its own queue and runs one event at a time, in
 * order (a pager sees fence before failover); hooks run in parallel with each other. A hook
 * still running at its timeout is killed (TERM, then KILL), its output is captured bounded and
 * logged as one line, and a full queue drops its oldest event, loudly.
 */
import type {Logger} from '../log.js'
import {eventEnv, hookWants, type EventName, type PghaEvent} from '../core/events.js'
import {type Exec, realExec} from './exec.js'

export interface HookSpec {
  on?: EventName[]
  run: string[]
  /** ms */
  timeout: number
}

export interface HookRunnerOptions {
  exec?: Exec
  /** Events waiting per hook before the oldest is dropped. */
  maxQueue?: number
  /** Environment variables a hook must not inherit (secrets of pgha's own environment). */
  scrubEnv?: string[]
}

/** Captured output kept per stream; a hook writing more than OUTPUT_CAP bytes is stopped. */
const OUTPUT_CAP = 1024 * 1024
/** Characters of a hook's output that reach the log line. */
const LOGGED_OUTPUT = 400

interface HookQueue {
  spec: HookSpec
  name: string
  waiting: PghaEvent[]
  busy: boolean
}

function lastChars(s: string, n = LOGGED_OUTPUT): string {
  const flat = s.replace(/\s+/g, ' ').trim()
  return flat.length <= n ? flat : `…${flat.slice(-n)}`
}

export class HookRunner {
  private readonly queues: HookQueue[]
  private readonly exec: Exec
  private readonly maxQueue: number
  private readonly scrub: Record<string, undefined>
  private waiters: (() => void)[] = []
  private readonly abort = new AbortController()
  /** Counters for /metrics and tests. */
  readonly stats = {started: 0, succeeded: 0, failed: 0, timedOut: 0, dropped: 0}

  constructor(
    hooks: HookSpec[],
    private readonly log: Logger,
    opts: HookRunnerOptions = {},
  ) {
    this.queues = hooks.map((spec, i) => ({spec, name: `hooks[${i}] ${spec.run[0]}`, waiting: [], busy: false}))
    this.exec = opts.exec ?? realExec
    this.maxQueue = opts.maxQueue ?? 32
    this.scrub = Object.fromEntries((opts.scrubEnv ?? []).map((k) => [k, undefined]))
  }

  get configured(): number {
    return this.queues.length
  }

  /** Hooks running right now. */
  get running(): number {
    return this.queues.filter((q) => q.busy).length
  }

  get queued(): number {
    return this.queues.reduce((n, q) => n + q.waiting.length, 0)
  }

  /** Queue the events for every hook that wants them. Returns at once (never a promise). */
  fire(events: readonly PghaEvent[]): void {
    if (this.abort.signal.aborted) return
    for (const q of this.queues) {
      for (const e of events) {
        if (!hookWants(q.spec.on, e.event)) continue
        if (q.waiting.length >= this.maxQueue) {
          const lost = q.waiting.shift()!
          this.stats.dropped++
          this.log.error(
            `hook ${q.name}: queue full (${this.maxQueue} events waiting, the hook is too slow): dropped event ${lost.event} of ${lost.time}`,
            {hook: q.spec.run[0], event: lost.event},
          )
        }
        q.waiting.push(e)
        this.pump(q)
      }
    }
  }

  /** Drop what waits and kill what runs (shutdown); fire() queues nothing afterwards. */
  close(): Promise<void> {
    for (const q of this.queues) {
      this.stats.dropped += q.waiting.length
      q.waiting.length = 0
    }
    this.abort.abort()
    return this.idle()
  }

  /** Resolves when no hook runs and none waits (tests, shutdown). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queued === 0) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private pump(q: HookQueue): void {
    if (q.busy) return
    const e = q.waiting.shift()
    if (!e) {
      if (this.running === 0 && this.queued === 0) for (const w of this.waiters.splice(0)) w()
      return
    }
    q.busy = true
    this.stats.started++
    void this.runOne(q, e).finally(() => {
      q.busy = false
      this.pump(q)
    })
  }

  private async runOne(q: HookQueue, e: PghaEvent): Promise<void> {
    const fields = {hook: q.spec.run[0], event: e.event}
    try {
      const r = await this.exec.run(q.spec.run, {
        timeoutMs: q.spec.timeout,
        input: JSON.stringify(e) + '\n',
        env: {...this.scrub, ...eventEnv(e)},
        maxBuffer: OUTPUT_CAP,
        signal: this.abort.signal,
      })
      const out = lastChars([r.stdout, r.stderr].filter(Boolean).join(' | '))
      const tail = out ? `: ${out}` : ''
      if (this.abort.signal.aborted) {
        this.stats.failed++
        this.log.warn(`hook ${q.name} for event ${e.event} killed: pgha watch is stopping`, fields)
      } else if (r.timedOut) {
        this.stats.timedOut++
        this.log.error(`hook ${q.name} for event ${e.event} still ran at its timeout ${q.spec.timeout} ms: killed${tail}`, fields)
      } else if (r.exitCode === 0) {
        this.stats.succeeded++
        this.log.info(`hook ${q.name} for event ${e.event} done in ${r.durationMs} ms${tail}`, fields)
      } else {
        this.stats.failed++
        this.log.error(`hook ${q.name} for event ${e.event} exited ${r.exitCode} after ${r.durationMs} ms${tail}`, fields)
      }
    } catch (error) {
      this.stats.failed++
      this.log.error(
        `hook ${q.name} for event ${e.event} could not run: ${String((error as Error)?.message ?? error).split('\n')[0]}`,
        fields,
      )
    }
  }
}

/**
 * The loop's watchdog. systemd (WatchdogSec) restarts a service that stops sending
 * WATCHDOG=1; this class sends it every WatchdogSec/2 for as long as the current tick (or
 * the sleep after it) is within its hard bound. A tick that overruns its bound is logged and
 * the pings stop, so systemd restarts us; without a systemd watchdog, onOverrun (exit 1 in
 * the command) lets the supervisor restart us instead. A restarted loop re-derives its role.
 */
import type {Logger} from '../log.js'
import type {TickReport} from './watch-state.js'

export interface WatchdogOptions {
  /** WATCHDOG_USEC in ms; undefined = systemd does not watch us. */
  intervalMs?: number
  now: () => number
  notify: (fields: string[]) => Promise<unknown>
  log: Logger
  onOverrun?: (message: string) => void
  /** How often to check for an overrun without a systemd watchdog (ms). */
  checkEveryMs?: number
}

/** STATUS= is one line; systemd shows it in `systemctl status`. */
function statusLine(r: Pick<TickReport, 'role' | 'reason'>): string {
  return `${r.role}: ${r.reason}`.replace(/\s+/g, ' ').slice(0, 200)
}

export class Watchdog {
  private deadline = Number.POSITIVE_INFINITY
  private timer?: NodeJS.Timeout
  private overran = false
  private status?: string
  private statusSent?: string
  private pinging = false

  constructor(private readonly o: WatchdogOptions) {}

  /** The work now running must end by `deadline` (ms epoch). */
  begin(deadline: number): void {
    this.deadline = deadline
  }

  start(): void {
    const every = this.o.intervalMs ? Math.max(100, Math.floor(this.o.intervalMs / 2)) : (this.o.checkEveryMs ?? 5000)
    this.timer = setInterval(() => void this.check(), every)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.deadline = Number.POSITIVE_INFINITY
  }

  get overrun(): boolean {
    return this.overran
  }

  /** After every tick: READY=1 after the first; STATUS= when it changed. */
  async tickDone(r: TickReport, first: boolean): Promise<void> {
    this.status = statusLine(r)
    if (first) {
      this.statusSent = this.status
      await this.o.notify(['READY=1', `STATUS=${this.status}`, ...(this.o.intervalMs ? ['WATCHDOG=1'] : [])])
    } else if (!this.o.intervalMs && this.status !== this.statusSent) {
      // No watchdog pings to carry it: send STATUS on its own when it changes.
      this.statusSent = this.status
      await this.o.notify([`STATUS=${this.status}`])
    }
  }

  /** One watchdog round: ping while within the bound; report an overrun once. */
  async check(): Promise<void> {
    const now = this.o.now()
    if (now > this.deadline) {
      if (this.overran) return
      this.overran = true
      const msg = `a tick overran its hard bound by ${now - this.deadline} ms: ${this.o.intervalMs ? 'no longer sending WATCHDOG=1, so systemd restarts pgha watch' : 'exiting so the supervisor restarts pgha watch'} (a restarted loop re-derives its role from reality)`
      this.o.log.error(msg)
      if (!this.o.intervalMs) this.o.onOverrun?.(msg)
      return
    }
    if (!this.o.intervalMs || this.pinging) return
    this.pinging = true
    try {
      const fields = ['WATCHDOG=1']
      if (this.status && this.status !== this.statusSent) fields.push(`STATUS=${this.status}`)
      this.statusSent = this.status
      await this.o.notify(fields)
    } finally {
      this.pinging = false
    }
  }
}

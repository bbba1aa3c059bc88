/**
 * Who answers ARP for the VIPs and the gateway, watched continuously instead of asked every
 * tick. A DAD probe (`arping -D`) must wait its whole deadline (1 s at least: arping takes
 * whole seconds) to say "free", and starting a process from the loop costs ~20 ms of CPU
 * (fork of a big process), 2 % of a core once a second. Here one long-lived arping per
 * address probes once a second — for a VIP from 0.0.0.0 (like DAD: no ARP cache is touched) —
 * with broadcasts only (`-b`, so an address that moved to another MAC is still seen), and
 * every reply is time-stamped as it streams in. A tick reads the verdict at once:
 *   'yes'     a reply within the window,
 *   'no'      the monitor has probed for a whole window and nobody answered,
 *   'unknown' the monitor is not running or has not probed long enough yet.
 * Claiming VIP-M does not rely on this: ensureVipClaimed runs its own DAD probe first; and
 * before a tick acts, the loop confirms the gateway with a fresh probe (observe.ts).
 *
 * A streaming child cannot go through Exec.run (it waits for exit), so this file spawns it
 * directly — the argv goes through wrapArgv like every other, and it is killed with the loop.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {wrapArgv} from './exec.js'
import type {Logger} from '../log.js'
import type {Probe} from '../core/types.js'

/** arping's fixed probe interval. */
export const ARP_PROBE_EVERY_MS = 1000

export interface ArpTarget {
  name: string
  ip: string
  /** dad: probe from 0.0.0.0 like duplicate address detection (the VIPs); reach: an ordinary ARP request (the gateway). */
  mode: 'dad' | 'reach'
}

/** Pure: the monitor's argv: endless probes, one a second, broadcast only; DAD-style from 0.0.0.0 for a VIP. */
export function arpMonitorArgv(iface: string, target: Pick<ArpTarget, 'ip' | 'mode'>): string[] {
  return ['arping', '-b', ...(target.mode === 'dad' ? ['-s', '0.0.0.0'] : []), '-I', iface, target.ip]
}

/** Pure: the MAC of a reply line ("Unicast reply from 192.0.2.100 [62:81:3A:AD:28:2E]  0.5ms"), if it is one for `ip`. */
export function parseReplyLine(line: string, ip: string): string | undefined {
  const m = /reply from (\S+) \[([0-9A-Fa-f:]{17})\]/.exec(line)
  return m && m[1] === ip ? m[2].toUpperCase() : undefined
}

/** Pure: the verdict from the monitor's facts. */
export function arpVerdict(s: {runningSince?: number; lastReplyAt?: number}, now: number, windowMs: number): Probe {
  if (s.lastReplyAt !== undefined && now - s.lastReplyAt <= windowMs) return 'yes'
  if (s.runningSince === undefined || now - s.runningSince < windowMs) return 'unknown'
  return 'no'
}

interface Watcher {
  target: ArpTarget
  child?: ChildProcess
  runningSince?: number
  lastReplyAt?: number
  lastMac?: string
  restartTimer?: NodeJS.Timeout
  buffer: string
}

export type Spawner = (argv: string[]) => ChildProcess

const realSpawn: Spawner = (argv) => spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe']})

export class ArpMonitor {
  private readonly watchers: Watcher[]
  private stopped = false

  /**
   * windowMs: how long without a reply means "nobody has it" (one probe interval plus the
   * reply wait: ARP_PROBE_EVERY_MS + timing.probeTimeout).
   */
  constructor(
    private readonly iface: string,
    targets: ArpTarget[],
    private readonly windowMs: number,
    private readonly log?: Logger,
    private readonly spawner: Spawner = realSpawn,
    private readonly now: () => number = Date.now,
  ) {
    this.watchers = targets.map((target) => ({target, buffer: ''}))
  }

  start(): void {
    for (const w of this.watchers) this.launch(w)
    // A monitor must never outlive the loop.
    process.once('exit', () => this.stop())
  }

  stop(): void {
    this.stopped = true
    for (const w of this.watchers) {
      if (w.restartTimer) clearTimeout(w.restartTimer)
      w.child?.kill('SIGKILL')
      w.child = undefined
      w.runningSince = undefined
    }
  }

  verdict(name: string): Probe {
    const w = this.watchers.find((x) => x.target.name === name)
    return w ? arpVerdict(w, this.now(), this.windowMs) : 'unknown'
  }

  /** Resolve once every monitor has a verdict (or after maxMs): the first tick must not decide blind. */
  async ready(maxMs: number): Promise<void> {
    const end = this.now() + maxMs
    while (this.now() < end && this.watchers.some((w) => arpVerdict(w, this.now(), this.windowMs) === 'unknown')) {
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** The MAC that answered last (for messages). */
  lastMac(name: string): string | undefined {
    return this.watchers.find((x) => x.target.name === name)?.lastMac
  }

  private launch(w: Watcher): void {
    if (this.stopped) return
    const argv = wrapArgv(arpMonitorArgv(this.iface, w.target), {privileged: true})
    let child: ChildProcess
    try {
      child = this.spawner(argv)
    } catch (error) {
      this.log?.warn(`cannot start the ARP monitor for ${w.target.name}: ${(error as Error).message}`)
      this.scheduleRestart(w)
      return
    }
    w.child = child
    w.buffer = ''
    w.runningSince = undefined
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (chunk: string) => this.onData(w, chunk))
    child.stderr?.resume()
    child.on('error', () => undefined)
    child.on('spawn', () => {
      w.runningSince = this.now()
    })
    child.on('exit', (code, signal) => {
      if (w.child !== child) return
      w.child = undefined
      w.runningSince = undefined
      if (!this.stopped) {
        this.log?.warn(`ARP monitor for ${w.target.name} (${w.target.ip}) exited (${signal ?? `code ${code}`}); restarting it in 1 s`)
        this.scheduleRestart(w)
      }
    })
  }

  private scheduleRestart(w: Watcher): void {
    w.restartTimer = setTimeout(() => this.launch(w), 1000)
    w.restartTimer.unref()
  }

  private onData(w: Watcher, chunk: string): void {
    w.buffer += chunk
    const lines = w.buffer.split('\n')
    w.buffer = lines.pop() ?? ''
    for (const line of lines) {
      const mac = parseReplyLine(line, w.target.ip)
      if (mac) {
        w.lastReplyAt = this.now()
        w.lastMac = mac
      }
    }
  }
}

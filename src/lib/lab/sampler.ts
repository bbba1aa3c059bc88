import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import pg from 'pg'
import type {HostSample, Sample} from './figures.js'
import {hostPids, powerState} from './host.js'
import {type HostLayout, LAB_NODES, type LabLayout, type LabNode, LOAD_DB, LOAD_USER, PG_PORT, VIP_PRIMARY, VIP_STANDBY} from './layout.js'
import {readSecretFile} from './secrets.js'
import {readWatchState} from '../loop/watch-state.js'

/**
 * What every host looks like right now, from outside, as cheaply as possible so it can run
 * every 100 ms: power from /proc (no process), VIPs with one `ip -n` per host, writability
 * with one persistent connection per host over its Unix socket (reachable from the root
 * namespace: a socket is a file). A query that does not answer in time marks the host
 * "hung" and is not repeated until it answers; a hung host that was writable still counts
 * as a primary (a frozen primary wakes up writable).
 */

const QUERY_WAIT_MS = 400
const CONNECT_WAIT_MS = 1000

function ipAddrs(netns: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('ip', ['-n', netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], {timeout: 1000}, (err, stdout) => {
      if (err) return resolve([])
      resolve([...String(stdout).matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]))
    })
  })
}

/** pgha watch's own view from its state file, when fresh (written every tick). */
function watchView(h: HostLayout): {role?: string; since?: number} {
  const st = readWatchState(h.stateDir)
  if (!st || Date.now() - Date.parse(st.updatedAt) > 5000) return {}
  return {role: st.role, since: Date.parse(st.since)}
}

function watchRuns(h: HostLayout): boolean {
  for (const pid of hostPids(h)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (cmd.includes('\0watch\0') && cmd.includes(h.configFile)) return true
    } catch {
      // exited meanwhile
    }
  }
  return false
}

class HostProbe {
  private client?: pg.Client
  private inFlight?: Promise<void>
  private answer?: {inRecovery: boolean}
  lastKnownWritable = false

  constructor(
    private readonly h: HostLayout,
    private readonly password: string,
    private readonly queryWaitMs = QUERY_WAIT_MS,
  ) {}

  private drop(): void {
    const c = this.client
    this.client = undefined
    if (c) {
      ;(c as unknown as {connection?: {stream?: {destroy(): void}}}).connection?.stream?.destroy()
      c.end().catch(() => {})
    }
  }

  /** writable: true/false, or null when the server did not answer within QUERY_WAIT_MS. */
  async probe(on: boolean): Promise<{writable: boolean | null; standby: boolean}> {
    if (!on) {
      this.drop()
      this.inFlight = undefined
      this.lastKnownWritable = false
      return {writable: false, standby: false}
    }
    // Still waiting on an earlier query: the server is hung; do not wait again.
    if (this.inFlight) return {writable: null, standby: false}
    this.answer = undefined
    // A new connection (SCRAM authentication) may take longer than a query on an open one.
    const waitMs = this.client ? this.queryWaitMs : Math.max(this.queryWaitMs, CONNECT_WAIT_MS)
    this.inFlight = this.query().finally(() => (this.inFlight = undefined))
    const done = await Promise.race([this.inFlight.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), waitMs))])
    if (!done) return {writable: null, standby: false}
    const answer = this.answer as {inRecovery: boolean} | undefined // set by query()
    if (!answer) {
      this.lastKnownWritable = false
      return {writable: false, standby: false}
    }
    const writable = !answer.inRecovery
    this.lastKnownWritable = writable
    return {writable, standby: answer.inRecovery}
  }

  private async query(): Promise<void> {
    try {
      if (!this.client) {
        const c = new pg.Client({
          host: this.h.socketDir,
          port: PG_PORT,
          user: LOAD_USER,
          database: LOAD_DB,
          password: this.password,
          connectionTimeoutMillis: 1000,
          application_name: 'pgha-lab-sampler',
        })
        c.on('error', () => {})
        this.client = c
        await c.connect()
      }
      const r = await this.client.query<{r: boolean}>('SELECT pg_is_in_recovery() AS r')
      this.answer = {inRecovery: r.rows[0].r}
    } catch {
      this.answer = undefined
      this.drop()
    }
  }

  close(): void {
    this.drop()
  }
}

export class Sampler {
  readonly samples: Sample[] = []
  private readonly probes: Record<LabNode, HostProbe>
  private timer?: NodeJS.Timeout
  private loop?: Promise<void>
  private stopped = false
  private watchCache: Record<LabNode, {at: number; runs: boolean}> = {node1: {at: 0, runs: false}, node2: {at: 0, runs: false}}
  private viewCache: Record<LabNode, {at: number; role?: string; since?: number}> = {node1: {at: 0}, node2: {at: 0}}
  onSample?: (s: Sample) => void

  constructor(
    private readonly lab: LabLayout,
    private readonly intervalMs = 100,
    queryWaitMs = QUERY_WAIT_MS,
  ) {
    const password = readSecretFile(lab.loadPassfile) ?? ''
    this.probes = {
      node1: new HostProbe(lab.hosts.node1, password, queryWaitMs),
      node2: new HostProbe(lab.hosts.node2, password, queryWaitMs),
    }
  }

  async sampleOnce(): Promise<Sample> {
    const t = Date.now()
    const entries = await Promise.all(
      LAB_NODES.map(async (node): Promise<[LabNode, HostSample]> => {
        const h = this.lab.hosts[node]
        const on = powerState(h).on
        const [addrs, db] = await Promise.all([on ? ipAddrs(h.netns) : Promise.resolve([]), this.probes[node].probe(on)])
        const cache = this.watchCache[node]
        if (Date.now() - cache.at > 1000) this.watchCache[node] = {at: Date.now(), runs: on && watchRuns(h)}
        if (Date.now() - this.viewCache[node].at > 300) this.viewCache[node] = {at: Date.now(), ...(on ? watchView(h) : {})}
        const view = this.viewCache[node]
        return [
          node,
          {
            on,
            vipM: addrs.includes(VIP_PRIMARY),
            vipS: addrs.includes(VIP_STANDBY),
            writable: db.writable,
            standby: db.standby,
            lastKnownWritable: this.probes[node].lastKnownWritable,
            watch: this.watchCache[node].runs,
            ...(view.role ? {watchRole: view.role, watchSince: view.since} : {}),
          },
        ]
      }),
    )
    return {t, hosts: Object.fromEntries(entries) as Record<LabNode, HostSample>}
  }

  private firstSample?: Promise<void>
  private resolveFirst?: () => void

  get running(): boolean {
    return this.firstSample !== undefined && !this.stopped
  }

  /**
   * The first sample taken at or after `notBefore`. While the sampler runs it waits for its
   * next tick (a second prober would find the probes busy and see "hung"), bounded.
   */
  async next(notBefore: number, waitMs = 5000): Promise<Sample> {
    if (!this.running) return this.sampleOnce()
    const deadline = Date.now() + waitMs
    for (;;) {
      const s = this.samples.at(-1)
      if (s && s.t >= notBefore) return s
      if (Date.now() > deadline || !this.running) return s ?? this.sampleOnce()
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** Resolves once the running sampler has taken its first sample. */
  ready(): Promise<void> {
    return this.samples.length > 0 ? Promise.resolve() : (this.firstSample ?? Promise.resolve())
  }

  start(): void {
    this.firstSample = new Promise<void>((r) => (this.resolveFirst = r))
    const tick = async () => {
      if (this.stopped) return
      const began = Date.now()
      const s = await this.sampleOnce()
      this.samples.push(s)
      this.resolveFirst?.()
      this.onSample?.(s)
      if (!this.stopped) this.timer = setTimeout(() => (this.loop = tick()), Math.max(0, this.intervalMs - (Date.now() - began)))
    }
    this.loop = tick()
  }

  async stop(): Promise<Sample[]> {
    this.stopped = true
    this.resolveFirst?.()
    if (this.timer) clearTimeout(this.timer)
    await this.loop
    for (const p of Object.values(this.probes)) p.close()
    return this.samples
  }

  /** The latest sample, or a fresh one when none was taken yet. */
  async latest(): Promise<Sample> {
    return this.samples.at(-1) ?? this.sampleOnce()
  }
}

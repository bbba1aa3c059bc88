import {readFileSync} from 'node:fs'
import pg from 'pg'
import {setFrozen, setIsolated} from './faults.js'
import {
  OUTAGE_MS,
  countWritableWithVipM,
  type HostRole,
  lostWrites,
  loadCounts,
  maxWritableWithVipM,
  observedRole,
  roleTransitions,
  type Sample,
  writeGap,
} from './figures.js'
import {powerOnDirect, powerState, sleep} from './host.js'
import {labBmcRuns, startLabBmc} from './bmcs.js'
import {labDown, labUp, readManifest, waitStreaming} from './lab.js'
import {LAB_NODES, type LabLayout, type LabNode, LOAD_DB, LOAD_USER, PG_PORT} from './layout.js'
import {readLoadLog, startLoad, stopLoad, type LoadRun} from './load.js'
import {Sampler} from './sampler.js'
import {readSecretFile} from './secrets.js'
import {type EventSource, loadEvents, parseWatchLog, type TimelineEvent, transitionEvents, watchEvents} from './timeline.js'

/**
 * The drill's machinery: one sampler for the whole drill, a timeline, bounded waits that
 * record a pass or a failure (never an unbounded wait), the steady state every scenario
 * starts from, and the figures of one scenario. The scenarios themselves are in scenarios.ts.
 */

export interface Roles {
  primary: LabNode
  standby: LabNode
}

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
  /** No acknowledged write may be lost in this scenario (no primary lost power under load). */
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

  async startLoad(name: string): Promise<void> {
    const run = `${name}-${Date.now()}`
    await stopLoad(this.lab) // a client left over from an interrupted scenario
    this.load = await startLoad(this.lab, {run})
    this.note(`load: writing through VIP-M every 50 ms (run ${run})`)
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
    const lost = this.load ? await lostOnFinalPrimary(this.lab, last, this.load.run, entries) : null
    if (this.requireNoLoss) this.check(lost === 0, `no acknowledged write lost (${lost ?? 'n/a: no primary to ask'})`)
    else if (lost !== null && lost > 0)
      this.notes.push(
        `${lost} acknowledged writes are missing on the final primary (replication is asynchronous: they had not reached the standby when the primary failed)`,
      )
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
        maxWritableWithVipM: max.max,
        samples: samples.length,
      },
      final,
      timeline,
      notes: this.notes,
    }
  }
}

export function describe(s: Sample): string {
  return LAB_NODES.map((n) => `${n} ${observedRole(s.hosts[n])}${s.hosts[n].on && !s.hosts[n].watch ? ' (no watch)' : ''}`).join(', ')
}

/** How long both watches must have agreed on their roles before a fault (the primary has then written fresh heartbeats with the standby's lag). */
export const SETTLE_MS = 5000

/**
 * Steady: one primary with VIP-M only, one standby with VIP-S only; when the lab runs watch,
 * both watches also say so in their state files and have for SETTLE_MS (a standby that never
 * saw its lag refuses to promote, rightly: a drill must not start before that).
 */
export function steadyRoles(s: Sample, needWatch: boolean): Roles | undefined {
  const roles = LAB_NODES.map((n) => observedRole(s.hosts[n]))
  const p = LAB_NODES.find((n, i) => roles[i] === 'primary')
  const sb = LAB_NODES.find((n, i) => roles[i] === 'standby' && s.hosts[n].vipS && !s.hosts[n].vipM)
  if (!p || !sb || countWritableWithVipM(s) !== 1) return undefined
  if (needWatch) {
    const settled = (n: LabNode, role: string) =>
      s.hosts[n].watch && s.hosts[n].watchRole === role && s.t - (s.hosts[n].watchSince ?? s.t) >= SETTLE_MS
    if (!settled(p, 'primary') || !settled(sb, 'standby')) return undefined
  }
  return {primary: p, standby: sb}
}

/** Undo every fault the drill can inject, power everything on, and wait for the steady state. */
export async function restoreSteady(d: Drill, limitMs = 120_000): Promise<Roles | undefined> {
  const lab = d.lab
  const watch = readManifest(lab)?.watch ?? false
  const now = await d.sample()
  const already = steadyRoles(now, watch)
  if (already) return already
  d.note(`restoring the steady state (now: ${describe(now)})`)
  for (const n of LAB_NODES) {
    if (!labBmcRuns(lab, n))
      await startLabBmc(lab, n)
        .then(() => d.note(`BMC of ${n} started again`))
        .catch((e) => d.note(`BMC of ${n}: ${(e as Error).message}`))
    await setIsolated(lab, n, false).catch(() => undefined)
    if (powerState(lab.hosts[n]).on) {
      try {
        setFrozen(lab, n, false)
      } catch {}
    }
  }
  for (const n of LAB_NODES) {
    if (!powerState(lab.hosts[n]).on) {
      d.note(`power on ${n}`)
      await powerOnDirect(lab.hosts[n])
    }
  }
  let roles: Roles | undefined
  const took = await d.until(
    'steady state (one primary with VIP-M, one standby with VIP-S, both watches agreeing)',
    limitMs,
    (s) => (roles = steadyRoles(s, watch)) !== undefined,
    {record: false},
  )
  if (took !== undefined && roles) {
    d.note(`steady again after ${(took / 1000).toFixed(1)} s: ${roles.primary} primary, ${roles.standby} standby`)
    return roles
  }
  return undefined
}

/** Steady state, rebuilding the lab from scratch when it cannot get there by itself. */
export async function ensureSteady(d: Drill): Promise<Roles | undefined> {
  const roles = await restoreSteady(d)
  if (roles) return roles
  d.note('no steady state within the limit: rebuilding the lab (lab down + lab up)')
  d.say('  (rebuilding the lab to get a clean steady state)')
  await labDown(d.lab)
  await labUp(d.lab)
  await waitStreaming(d.lab, readManifest(d.lab)?.bindir ?? '/usr/lib/postgresql/15/bin', 30_000).catch(() => undefined)
  return restoreSteady(d, 60_000)
}

async function lostOnFinalPrimary(lab: LabLayout, s: Sample, run: string, entries: ReturnType<typeof readLoadLog>): Promise<number | null> {
  const primary = LAB_NODES.find((n) => s.hosts[n].writable === true && s.hosts[n].vipM)
  if (!primary) return null
  const c = new pg.Client({
    host: lab.hosts[primary].socketDir,
    port: PG_PORT,
    user: LOAD_USER,
    database: LOAD_DB,
    password: readSecretFile(lab.loadPassfile),
    connectionTimeoutMillis: 2000,
    query_timeout: 5000,
  })
  c.on('error', () => {})
  try {
    await c.connect()
    const r = await c.query<{n: number}>('SELECT n FROM lab_writes WHERE run = $1', [run])
    return lostWrites(
      entries,
      r.rows.map((x) => x.n),
    ).length
  } catch {
    return null
  } finally {
    c.end().catch(() => {})
  }
}

/** Watch reason lines and host power/init lines of both hosts inside [from, to]. */
function hostLogEvents(lab: LabLayout, from: number, to: number): TimelineEvent[] {
  const out: TimelineEvent[] = []
  for (const n of LAB_NODES) {
    const h = lab.hosts[n]
    out.push(...watchEvents(n, parseWatchLog(readText(h.watchLog)), from, to))
    for (const line of readText(h.initLog).split('\n')) {
      const m = /^(\S+Z) \S+ (init|power): (.*)$/.exec(line)
      if (!m) continue
      const t = Date.parse(m[1])
      if (t >= from && t <= to) out.push({t, source: n, text: `${m[2]}: ${m[3]}`})
    }
  }
  return out
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/**
 * What one tick reports and what state.json holds (stateDir/state.json, written atomically
 * every tick). `pgha status` and `pgha check alive` read it; a restarted loop reads the last
 * transition from it (the role itself is always re-derived from reality).
 */
import {existsSync, readFileSync} from 'node:fs'
import type {LogLevel} from '../log.js'
import type {ClusterFlags} from '../observe/observe-flags.js'
import {readJson, statePath} from './state.js'
import type {ActionName, Decision, NodeMemory, Observations, Role, Severity, TickOutcome} from '../core/types.js'

export interface Transition {
  from: Role
  to: Role
  rule: string
  reason: string
  at: string
}

export interface TickReport {
  at: string
  /** Role at the start of the tick. */
  from: Role
  /** Role after the tick (the new one only when every action succeeded). */
  role: Role
  /** What the decision wanted. */
  next: Role
  committed: boolean
  rule: string
  reason: string
  severity: Severity
  actions: ActionName[]
  done: ActionName[]
  failed?: TickOutcome['failed']
  /** One line per action (its outcome or failure) and per fence attempt. */
  steps: string[]
  notes: string[]
  ms: {observe: number; actions: number; tick: number}
  probeMs: Record<string, number>
  obs: Observations
  flags: ClusterFlags
  wait?: Decision['wait']
  dryRun: boolean
}

export interface WatchState {
  version: 1
  cluster: string
  node: string
  pid: number
  startedAt: string
  /** Written every tick: `pgha check alive` compares it with the clock. */
  updatedAt: string
  role: Role
  since: string
  lastTransition?: Transition
  memory: NodeMemory
  lastTick: Pick<TickReport, 'rule' | 'reason' | 'severity' | 'actions' | 'done' | 'failed' | 'ms'> & {at: string}
  flags: Pick<ClusterFlags, 'paused' | 'switchover' | 'source' | 'switchoverText'>
  observations: Observations
}

/**
 * One line per tick, but not one info line per second forever: a tick that repeats the
 * previous rule with no action at severity info is debug, except every `every`-th one.
 */
export function tickLogLevel(r: Pick<TickReport, 'severity' | 'actions' | 'failed'>, changed: boolean, steadyCount: number, every: number): LogLevel {
  if (r.failed || r.severity === 'alert') return 'error'
  if (r.severity === 'warn') return 'warn'
  if (changed || r.actions.length > 0) return 'info'
  return every > 0 && steadyCount % every === 0 ? 'info' : 'debug'
}

export function readWatchState(stateDir: string): WatchState | undefined {
  const s = readJson<WatchState>(statePath(stateDir))
  return s && s.version === 1 && typeof s.updatedAt === 'string' ? s : undefined
}

/** Is `pid` a running `pgha watch` (not --once) on this host? Reads /proc only. */
export function watchProcessRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !existsSync(`/proc/${pid}`)) return false
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return argv.includes('watch') && !argv.includes('--once') && argv.some((a) => /pgha|run\.js/.test(a))
  } catch {
    return false
  }
}

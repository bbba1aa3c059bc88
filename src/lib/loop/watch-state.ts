/**
 * What one tick reports and what state.json holds (stateDir/state.json, written atomically
 * every tick). `pgha status` and `pgha check alive` read it; a restarted loop reads the last
 * transition from it (the role itself is always re-derived from reality).
 */
import {existsSync, readFileSync} from 'node:fs'
import type {LogLevel} from '../log.js'
import type {ClusterFlags} from '../observe/observe-flags.js'
import {statePath} from './state.js'
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
export function tickLogLevel(
  r: Pick<TickReport, 'severity' | 'actions' | 'failed'>,
  changed: boolean,
  steadyCount: number,
  every: number,
): LogLevel {
  if (r.failed || r.severity === 'alert') return 'error'
  if (r.severity === 'warn') return 'warn'
  if (changed || r.actions.length > 0) return 'info'
  return every > 0 && steadyCount % every === 0 ? 'info' : 'debug'
}

export function readWatchState(stateDir: string): WatchState | undefined {
  const r = readStateFile(stateDir)
  return r.kind === 'ok' ? r.state : undefined
}

/** state.json as found: present and well-formed, missing (watch never ran here), or corrupt (why). */
export type StateFileRead =
  {kind: 'ok'; path: string; state: WatchState} | {kind: 'missing'; path: string} | {kind: 'corrupt'; path: string; why: string}

export function readStateFile(stateDir: string): StateFileRead {
  const path = statePath(stateDir)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? {kind: 'missing', path} : {kind: 'corrupt', path, why: `cannot read it: ${code ?? (error as Error).message}`}
  }
  let s: Partial<WatchState>
  try {
    s = JSON.parse(text) as Partial<WatchState>
  } catch (error) {
    return {kind: 'corrupt', path, why: `not JSON: ${(error as Error).message.split('\n')[0]}`}
  }
  if (!s || typeof s !== 'object' || s.version !== 1)
    return {kind: 'corrupt', path, why: `version ${JSON.stringify(s?.version)}, expected 1`}
  if (typeof s.updatedAt !== 'string' || Number.isNaN(Date.parse(s.updatedAt))) return {kind: 'corrupt', path, why: 'no valid updatedAt'}
  if (!Number.isInteger(s.pid)) return {kind: 'corrupt', path, why: 'no valid pid'}
  return {kind: 'ok', path, state: s as WatchState}
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

/**
 * Is `pgha watch` alive on this host? One answer for `pgha status` and `pgha check alive`:
 * the loop is alive only when state.json is fresh AND the PID it names is a running watch.
 * A kill -9 leaves a fresh-looking file behind, so the PID is always checked. Pure apart from
 * the injectable `pidRuns` (which reads /proc).
 */
import {formatDuration} from '../config/units.js'
import {type StateFileRead, type WatchState, watchProcessRuns} from '../loop/watch-state.js'

export type LivenessKind = 'alive' | 'stalled' | 'gone' | 'missing' | 'corrupt'

export interface WatchLiveness {
  kind: LivenessKind
  alive: boolean
  /** One line for humans, e.g. "not running (PID 42 is gone), state updated 3s ago". */
  line: string
  ageMs?: number
  state?: WatchState
}

/** The file is fresh when updated within `freshMs` (status: max(10 s, 5 ticks)). */
export function watchLiveness(
  read: StateFileRead,
  nodeName: string,
  freshMs: number,
  now = Date.now(),
  pidRuns: (pid: number) => boolean = watchProcessRuns,
): WatchLiveness {
  if (read.kind === 'missing') return {kind: 'missing', alive: false, line: `no ${read.path}: pgha watch has not run on ${nodeName}`}
  if (read.kind === 'corrupt') {
    return {
      kind: 'corrupt',
      alive: false,
      line: `state file ${read.path} is corrupt (${read.why}): pgha watch rewrites it every tick — if no watch runs, move the file aside and start pgha watch`,
    }
  }
  const s = read.state
  const ageMs = now - Date.parse(s.updatedAt)
  const updated = `state updated ${formatDuration(Math.max(0, ageMs))} ago`
  if (!pidRuns(s.pid)) return {kind: 'gone', alive: false, line: `not running (PID ${s.pid} is gone), ${updated}`, ageMs, state: s}
  if (ageMs > freshMs) return {kind: 'stalled', alive: false, line: `STALLED, ${updated}`, ageMs, state: s}
  return {kind: 'alive', alive: true, line: `alive, ${updated}`, ageMs, state: s}
}

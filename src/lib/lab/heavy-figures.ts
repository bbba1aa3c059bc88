import type {LoadEntry} from './figures.js'
import type {WatchLine} from './timeline.js'

/**
 * Pure: what the heavy-load scenarios count, from the load log (many connections, ids unique
 * across them), the ids the final primary has, and the surviving primary's watch log.
 */

export interface LossReport {
  acked: number
  /** Acknowledged ids the final primary does not have. */
  lost: number
  /** The first few of them, for the report. */
  lostIds: number[]
  /** Attempts the client saw fail whose row is there anyway (commit outcome unknown to it). */
  failedButKept: number
}

export function lossReport(entries: LoadEntry[], present: Iterable<number>, show = 10): LossReport {
  const have = new Set(present)
  const lostIds: number[] = []
  let acked = 0
  let lost = 0
  let failedButKept = 0
  for (const e of entries) {
    if (e.ok) {
      acked++
      if (!have.has(e.n)) {
        lost++
        if (lostIds.length < show) lostIds.push(e.n)
      }
    } else if (have.has(e.n)) failedButKept++
  }
  return {acked, lost, lostIds, failedButKept}
}

/** Acknowledged writes whose acknowledgement came in (from, to]. */
export function ackedBetween(entries: LoadEntry[], from: number, to: number): number {
  return entries.filter((e) => e.ok && e.t > from && e.t <= to).length
}

export interface DegradeTick {
  /** When the tick's actions started (its line is written when they are done). */
  startedAt: number
  /** When degradeSync returned: the tick's start plus its actions' durations up to it. */
  degradedAt: number
  /** When its line was written (every action of the tick done, some may take seconds). */
  doneAt: number
  fencedFirst: boolean
}

/**
 * The first tick at or after `from` that ran degradeSync (a tick whose action failed stopped
 * there, so it did not degrade), and whether it fenced the peer before.
 */
export function degradeTick(lines: WatchLine[], from: number): DegradeTick | undefined {
  const l = lines.find((x) => x.t >= from && x.failed === undefined && x.actions?.includes('degradeSync'))
  if (!l) return undefined
  const actions = l.actions ?? []
  const fenced = actions.indexOf('fencePeer')
  const startedAt = l.t - (l.actionsMs ?? 0)
  const upTo = actions.slice(0, actions.indexOf('degradeSync') + 1)
  let spent = 0
  for (const step of l.steps ?? []) {
    const name = /^(\w+): /.exec(step)?.[1]
    const ms = /\((\d+) ms\)$/.exec(step)?.[1]
    if (name && ms && upTo.includes(name)) spent += Number(ms)
  }
  return {
    startedAt,
    degradedAt: l.steps ? Math.min(startedAt + spent, l.t) : l.t,
    doneAt: l.t,
    fencedFirst: fenced >= 0 && fenced < actions.indexOf('degradeSync'),
  }
}

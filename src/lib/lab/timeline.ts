import type {LoadEntry, Transition} from './figures.js'

/**
 * Pure: the drill's timeline. Events come from the drill itself (faults, expectations),
 * the sampler (observed role changes), the load log (writes stopped / came back) and the
 * hosts' watch logs (their one-line reasons); they are merged by time and printed relative
 * to the scenario's start.
 */

export type EventSource = 'drill' | 'load' | 'node1' | 'node2'

export interface TimelineEvent {
  t: number
  source: EventSource
  text: string
}

/** "writes stopped" / "writes back" events from the load log: one per change of state. */
export function loadEvents(entries: LoadEntry[]): TimelineEvent[] {
  const out: TimelineEvent[] = []
  let lastAck: LoadEntry | undefined
  let failing: LoadEntry | undefined
  for (const e of [...entries].sort((a, b) => a.t - b.t)) {
    if (e.ok) {
      if (failing) out.push({t: e.t, source: 'load', text: `writes back: #${e.n} acknowledged (${e.ms} ms)`})
      failing = undefined
      lastAck = e
    } else if (!failing) {
      failing = e
      const since = lastAck ? `; last acknowledged #${lastAck.n} at ${clock(lastAck.t)}` : ''
      out.push({t: e.t, source: 'load', text: `write #${e.n} failed: ${e.err ?? 'error'}${since}`})
    }
  }
  return out
}

export function transitionEvents(ts: Transition[]): TimelineEvent[] {
  return ts.map((x) => ({t: x.t, source: x.node, text: `observed: ${x.from} → ${x.to}`}))
}

/** One line of a watch log, as far as the drill understands it. */
export interface WatchLine {
  t: number
  role?: string
  /** Role before this tick, when the tick changed it. */
  from?: string
  reason: string
  /** The transition-table row (stable across ticks, unlike a reason carrying numbers). */
  rule?: string
  actions?: string[]
  failed?: string
  /** How long the tick's actions took (the line is written when they are done). */
  actionsMs?: number
  /** One line per action run: what it did and how long it took. */
  steps?: string[]
}

/**
 * Parse a watch log written with --log-format json. Tolerant on purpose: the loop's field
 * names are its own business, so take ts, then reason|msg, role and actions when present.
 */
export function parseWatchLog(text: string): WatchLine[] {
  const out: WatchLine[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const o = JSON.parse(line) as Record<string, unknown>
      const t = Date.parse(String(o.ts ?? o.time ?? ''))
      if (Number.isNaN(t)) continue
      const reason = String(o.reason ?? o.msg ?? '')
      if (!reason) continue
      const actions = Array.isArray(o.actions) ? o.actions.map(String) : undefined
      const role = typeof o.role === 'string' ? o.role : typeof o.next === 'string' ? o.next : undefined
      const from = typeof o.from === 'string' ? o.from : undefined
      const failed = typeof o.failed === 'string' ? o.failed : undefined
      const rule = typeof o.rule === 'string' ? o.rule : undefined
      const ms = o.ms as {actions?: unknown} | undefined
      const actionsMs = typeof ms?.actions === 'number' && ms.actions > 0 ? ms.actions : undefined
      const steps = Array.isArray(o.steps) ? o.steps.map(String) : undefined
      out.push({
        t,
        role,
        reason,
        actions,
        ...(rule ? {rule} : {}),
        ...(from ? {from} : {}),
        ...(failed ? {failed} : {}),
        ...(actionsMs ? {actionsMs} : {}),
        ...(steps ? {steps} : {}),
      })
    } catch {
      // a torn last line
    }
  }
  return out
}

/**
 * Watch lines worth a timeline row: those with actions, a role change or a new reason
 * (a loop that says the same sentence every second is one row, not sixty).
 */
export function watchEvents(source: EventSource, lines: WatchLine[], from: number, to: number): TimelineEvent[] {
  const out: TimelineEvent[] = []
  let prevKey: string | undefined
  let prevRole: string | undefined
  for (const l of lines) {
    const key = l.rule ?? l.reason
    const changed = key !== prevKey || l.role !== prevRole || (l.actions?.length ?? 0) > 0 || l.failed !== undefined
    prevKey = key
    prevRole = l.role
    // Shown when the decision was taken: the line is written after its actions ran.
    const t = l.t - (l.actionsMs ?? 0)
    if (!changed || t < from || t > to) continue
    const acts = l.actions && l.actions.length > 0 ? ` [${l.actions.join(', ')}]` : ''
    const role = l.from && l.role ? `${l.from} → ${l.role}` : l.role
    const failed = l.failed ? ` — FAILED ${l.failed}` : ''
    const took = l.actionsMs ? ` (actions took ${(l.actionsMs / 1000).toFixed(1)} s)` : ''
    out.push({t, source, text: `watch${role ? ` (${role})` : ''}: ${l.reason}${acts}${took}${failed}`})
    for (const step of l.steps ?? []) out.push({t, source, text: `  ↳ ${step}`})
  }
  return out
}

export function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 23)
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`
}

/** Rows like "  +3.412 s  node2   watch (standby): ...", sorted by time, relative to t0. */
export function renderTimeline(events: TimelineEvent[], t0: number, maxRows = 200): string[] {
  const sorted = [...events].sort((a, b) => a.t - b.t || order(a.source) - order(b.source))
  const rows = sorted.map((e) => {
    const rel = (e.t - t0) / 1000
    const sign = rel < 0 ? '-' : '+'
    return `  ${(sign + Math.abs(rel).toFixed(3)).padStart(9)} s  ${e.source.padEnd(6)} ${e.text}`
  })
  if (rows.length <= maxRows) return rows
  const head = rows.slice(0, maxRows / 2)
  const tail = rows.slice(-maxRows / 2)
  return [...head, `  … ${rows.length - maxRows} rows left out (see --json) …`, ...tail]
}

function order(s: EventSource): number {
  return ['drill', 'node1', 'node2', 'load'].indexOf(s)
}

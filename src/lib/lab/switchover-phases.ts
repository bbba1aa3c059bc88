import type {LabNode} from './layout.js'
import {type EventSource, renderTimeline, type TimelineEvent} from './timeline.js'

/**
 * Pure: where a switchover's write outage goes. Each half logs its steps as
 * "switchover (demote half): …" / "switchover (promote half): …" (the command to stderr, the
 * watch to its log, human or JSON lines); merged by time with the load client's last and first
 * acknowledged write around the outage, they show the phases relative to the last write before it.
 */

const HALF = /switchover \((demote|promote) half\): (.*)$/

/** The half events in a log text (human lines "<ISO ts> INFO  msg …" or --log-format json). */
export function parseHalfEvents(text: string, source: LabNode): TimelineEvent[] {
  const out: TimelineEvent[] = []
  for (const line of text.split('\n')) {
    let ts: string | undefined
    let msg: string | undefined
    if (line.startsWith('{')) {
      try {
        const o = JSON.parse(line) as {ts?: unknown; msg?: unknown}
        ts = String(o.ts ?? '')
        msg = String(o.msg ?? '')
      } catch {
        continue // a torn last line
      }
    } else {
      const m = /^(\d{4}-\d\d-\d\dT\S+Z) +\w+ +(.*)$/.exec(line)
      if (m) [, ts, msg] = m
    }
    const half = msg === undefined ? null : HALF.exec(msg)
    const t = Date.parse(ts ?? '')
    if (!half || Number.isNaN(t)) continue
    out.push({t, source, text: `${half[1]}: ${half[2]}`})
  }
  return out
}

/**
 * Rows "+0.412 s  node2  promote: …" from `lastAck` (the last acknowledged write before the
 * outage, t = 0) to `firstAck` (the first one after it), with the events of both halves.
 */
export function renderPhases(events: TimelineEvent[], lastAck: number, firstAck: number): string[] {
  const marks: TimelineEvent[] = [
    {t: lastAck, source: 'load' as EventSource, text: 'last acknowledged write before the outage'},
    {
      t: firstAck,
      source: 'load' as EventSource,
      text: `first acknowledged write after it (outage ${((firstAck - lastAck) / 1000).toFixed(2)} s)`,
    },
  ]
  return renderTimeline([...events, ...marks], lastAck)
}

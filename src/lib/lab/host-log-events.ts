import {readFileSync} from 'node:fs'
import {LAB_NODES, type LabLayout} from './layout.js'
import {parseWatchLog, type TimelineEvent, watchEvents} from './timeline.js'

/** Watch reason lines and host power/init lines of both hosts inside [from, to]. */
export function hostLogEvents(lab: LabLayout, from: number, to: number): TimelineEvent[] {
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

/**
 * Copy only inside a quiet window. `--window HH:MM-HH:MM`
 * in local time; the end may be past midnight (22:30-04:00). Pure: (window, now) → wait.
 */

export interface QuietWindow {
  /** Minutes after local midnight. */
  startMin: number
  endMin: number
  text: string
}

/** Parses "HH:MM-HH:MM"; returns an error sentence instead of throwing. */
export function parseQuietWindow(text: string): QuietWindow | {error: string} {
  const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(text)
  if (!m) return {error: `--window ${JSON.stringify(text)} is not HH:MM-HH:MM (e.g. 01:00-05:00)`}
  const [h1, m1, h2, m2] = m.slice(1).map(Number)
  if (h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59) return {error: `--window ${JSON.stringify(text)} has an hour above 23 or a minute above 59`}
  const startMin = h1 * 60 + m1
  const endMin = h2 * 60 + m2
  if (startMin === endMin) return {error: `--window ${JSON.stringify(text)} is empty (start equals end)`}
  return {startMin, endMin, text: text.trim()}
}

/** Milliseconds from `now` until the window opens; 0 when `now` is inside it. */
export function msUntilWindow(w: QuietWindow, now: Date): number {
  const dayMs = 24 * 60 * 60 * 1000
  const nowMs = ((now.getHours() * 60 + now.getMinutes()) * 60 + now.getSeconds()) * 1000 + now.getMilliseconds()
  const start = w.startMin * 60_000
  const end = w.endMin * 60_000
  const inside = start < end ? nowMs >= start && nowMs < end : nowMs >= start || nowMs < end
  if (inside) return 0
  return (start - nowMs + dayMs) % dayMs
}

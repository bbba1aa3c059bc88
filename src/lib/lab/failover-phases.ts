/**
 * Pure: the phases of one failover (or standby loss) read from the survivor's watch log.
 * Each tick logs one JSON line when it ends: ts (end of the tick), rule, ms {observe, tick} and
 * steps ("fencePeer: … (412 ms)"), so a tick's decision time is ts − ms.tick + ms.observe and
 * each step's end is the decision time plus the durations of the steps before it.
 */

export interface TickLine {
  /** End of the tick (the log line's ts). */
  end: number
  /** When decide() ran: tick start + observe time. */
  decidedAt: number
  rule: string
  steps: {action: string; ms: number; failed: boolean}[]
}

export interface Phases {
  /** Fault → the first tick that declares the peer failed (checkTimes reached). */
  detectMs?: number
  /** That tick → the tick that acts (fence.delay, for the standby; 0 when it acts at once). */
  delayMs?: number
  /** Duration of each step of the acting tick, by action (fencePeer, promote, degradeSync, claimVip…). */
  stepMs: Record<string, number>
  /** Fault → the end of each step of the acting tick. */
  stepEndMs: Record<string, number>
  /** End of the acting tick's last step before `until` → the first acknowledged write. */
  afterMs?: number
  /** Fault → first acknowledged write. */
  totalMs?: number
}

/** "fencePeer: power is off (412 ms)" / "promote FAILED after 30 ms: …" → action and ms. */
export function parseStep(line: string): {action: string; ms: number; failed: boolean} | undefined {
  const ok = /^(\w+): .*\((\d+) ms\)$/s.exec(line)
  if (ok) return {action: ok[1], ms: Number(ok[2]), failed: false}
  const bad = /^(\w+) FAILED after (\d+) ms/.exec(line)
  if (bad) return {action: bad[1], ms: Number(bad[2]), failed: true}
  return undefined
}

export function parseTickLines(text: string): TickLine[] {
  const out: TickLine[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const o = JSON.parse(line) as {ts?: string; time?: string; rule?: unknown; ms?: {observe?: unknown; tick?: unknown}; steps?: unknown}
      const end = Date.parse(String(o.ts ?? o.time ?? ''))
      if (Number.isNaN(end) || typeof o.rule !== 'string' || typeof o.ms?.tick !== 'number') continue
      const observe = typeof o.ms.observe === 'number' ? o.ms.observe : 0
      const steps = (Array.isArray(o.steps) ? o.steps.map(String) : []).map(parseStep).filter((s) => s !== undefined)
      out.push({end, decidedAt: end - o.ms.tick + observe, rule: o.rule, steps})
    } catch {
      // a torn line
    }
  }
  return out
}

/**
 * Phases after `faultAt`: `detectRules` are the rules of a tick that has declared the peer
 * failed but waits (standby.fence-wait), `actRule` the tick that fences (standby.failover).
 * The first detect-or-act tick is the detection; its acting tick the first actRule one.
 */
export function failoverPhases(
  lines: TickLine[],
  faultAt: number,
  firstWriteAt: number | undefined,
  rules: {detect: string[]; act: string},
): Phases {
  const after = lines.filter((l) => l.decidedAt >= faultAt)
  const detected = after.find((l) => rules.detect.includes(l.rule) || l.rule === rules.act)
  const acted = after.find((l) => l.rule === rules.act)
  const stepMs: Record<string, number> = {}
  const stepEndMs: Record<string, number> = {}
  let stepsEnd: number | undefined
  if (acted) {
    let t = acted.decidedAt
    for (const s of acted.steps) {
      stepMs[s.action] = s.ms
      t += s.ms
      stepEndMs[s.action] = t - faultAt
      if (firstWriteAt === undefined || t <= firstWriteAt) stepsEnd = t
    }
  }
  return {
    ...(detected ? {detectMs: detected.decidedAt - faultAt} : {}),
    ...(detected && acted ? {delayMs: acted.decidedAt - detected.decidedAt} : {}),
    stepMs,
    stepEndMs,
    ...(firstWriteAt !== undefined && stepsEnd !== undefined ? {afterMs: firstWriteAt - stepsEnd} : {}),
    ...(firstWriteAt !== undefined ? {totalMs: firstWriteAt - faultAt} : {}),
  }
}

import type {LabNode} from './layout.js'

/**
 * Pure: what the drill measures, computed from the load log and the 100 ms samples.
 * Kept apart from any I/O so each figure has a unit test with hand-made data.
 */

/** One line of the load client's log (see load-client.ts). */
export interface LoadEntry {
  t: number
  n: number
  ok: boolean
  ms: number
  err?: string
}

/** What one host looked like at one sampled instant. `writable` null = no answer in time. */
export interface HostSample {
  on: boolean
  vipM: boolean
  vipS: boolean
  /** true: PostgreSQL answered and is not in recovery; false: in recovery or down; null: hung. */
  writable: boolean | null
  /** PostgreSQL answered and is in recovery. */
  standby: boolean
  /** The last answer before a hang said writable (a frozen primary is still a primary). */
  lastKnownWritable: boolean
  watch: boolean
  /** The role pgha watch reports in its state file (fresh within a few seconds), if any. */
  watchRole?: string
  /** Since when watch has held that role (epoch ms). */
  watchSince?: number
}

export interface Sample {
  t: number
  hosts: Record<LabNode, HostSample>
}

export type HostRole = 'off' | 'primary_standby' | 'primary' | 'standby' | 'writable without VIP-M' | 'hung' | 'db down'

/** The role a host shows from outside (what a client could observe), not what watch believes. */
export function observedRole(h: HostSample): HostRole {
  if (!h.on) return 'off'
  if (h.writable === null) return 'hung'
  if (h.writable) {
    if (h.vipM && h.vipS) return 'primary_standby'
    if (h.vipM) return 'primary'
    return 'writable without VIP-M'
  }
  if (h.standby) return 'standby'
  return 'db down'
}

/** A host counts as "writable with VIP-M" when it holds VIP-M and is writable, or hangs as a primary. */
function writableWithVipM(h: HostSample): boolean {
  if (!h.on || !h.vipM) return false
  return h.writable === true || (h.writable === null && h.lastKnownWritable)
}

export function countWritableWithVipM(s: Sample): number {
  return Object.values(s.hosts).filter(writableWithVipM).length
}

export interface WriteGap {
  /** Last acknowledged write before the outage (undefined: none before it). */
  lastAckBefore?: number
  /** First acknowledged write after it (undefined: writes never came back). */
  firstAckAfter?: number
  /** firstAckAfter - lastAckBefore, the outage as a client saw it. */
  gapMs?: number
  /** fault → first acknowledged write after the outage. */
  fromFaultMs?: number
}

/**
 * The outage a fault caused: the longest stretch between consecutive acknowledged writes
 * that ends after the fault (the first stretch starts at the last write before the fault).
 * Writes that carry on straight through give a gap of about the write interval.
 */
export function writeGap(entries: LoadEntry[], faultAt: number): WriteGap {
  const acks = entries
    .filter((e) => e.ok)
    .map((e) => e.t)
    .sort((a, b) => a - b)
  const first = acks.findIndex((t) => t > faultAt)
  const lastBefore = first === -1 ? acks.at(-1) : first > 0 ? acks[first - 1] : undefined
  if (first === -1) return {lastAckBefore: lastBefore}
  let best = {a: lastBefore ?? faultAt, b: acks[first]}
  for (let i = first + 1; i < acks.length; i++) {
    if (acks[i] - acks[i - 1] > best.b - best.a) best = {a: acks[i - 1], b: acks[i]}
  }
  return {lastAckBefore: best.a, firstAckAfter: best.b, gapMs: best.b - best.a, fromFaultMs: Math.max(0, best.b - faultAt)}
}

/** A pause between acknowledged writes this long counts as an outage (the client writes every 50 ms). */
export const OUTAGE_MS = 1000

/** Acknowledged writes the final primary does not have. */
export function lostWrites(entries: LoadEntry[], present: Iterable<number>): number[] {
  const have = new Set(present)
  return entries.filter((e) => e.ok && !have.has(e.n)).map((e) => e.n)
}

export interface LoadCounts {
  acked: number
  failed: number
  attempts: number
}

export function loadCounts(entries: LoadEntry[]): LoadCounts {
  const acked = entries.filter((e) => e.ok).length
  return {acked, failed: entries.length - acked, attempts: entries.length}
}

/** Parse the load log; malformed lines (a torn last line) are skipped. */
export function parseLoadLog(text: string): LoadEntry[] {
  const out: LoadEntry[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      const e = JSON.parse(line) as LoadEntry
      if (typeof e.t === 'number' && typeof e.n === 'number' && typeof e.ok === 'boolean') out.push(e)
    } catch {
      // torn line while the client was writing
    }
  }
  return out
}

export interface Transition {
  t: number
  node: LabNode
  from: HostRole
  to: HostRole
}

/** Every change of a host's observed role between consecutive samples. */
export function roleTransitions(samples: Sample[]): Transition[] {
  const out: Transition[] = []
  const last = new Map<LabNode, HostRole>()
  for (const s of samples) {
    for (const [node, h] of Object.entries(s.hosts) as [LabNode, HostSample][]) {
      const role = observedRole(h)
      const prev = last.get(node)
      if (prev !== undefined && prev !== role) out.push({t: s.t, node, from: prev, to: role})
      last.set(node, role)
    }
  }
  return out
}

export function maxWritableWithVipM(samples: Sample[]): {max: number; at?: number} {
  let max = 0
  let at: number | undefined
  for (const s of samples) {
    const c = countWritableWithVipM(s)
    if (c > max) {
      max = c
      at = s.t
    }
  }
  return {max, at}
}

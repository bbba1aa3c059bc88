/**
 * Planned switchover, the pure parts: the marker that both hosts read from
 * pgha.cluster_state.switchover, and the protocol as data (so --dry-run prints it and tests
 * read it). Each host can only change itself (pg_ctl, its VIPs); the other host is reached
 * through SQL only. So the switchover has two halves, each run on its own host:
 *
 *   demote half (on the current primary)      promote half (on the current standby)
 *   ───────────────────────────────────────   ─────────────────────────────────────────
 *                                             (either half first writes the marker on the
 *                                              primary; the standby waits until it has it:
 *                                              both loops now observe only)
 *                                             P1 open the "ready" session (application_name)
 *   D1 wait for the standby's ready session
 *   D2 check lag ≤ lag.yield; CHECKPOINT
 *   D3 stop fast: the shutdown checkpoint is
 *      the last WAL record; walsenders ship it
 *      before they exit
 *   D4 release VIP-M                          P2 see the primary gone (receiver stopped,
 *                                                port closed)
 *                                             P3 prove the last WAL record received is the
 *                                                primary's CHECKPOINT_SHUTDOWN (pg_waldump)
 *                                                and that it is replayed
 *                                             P4 promote; VIP-M (claimed since P2, its ARP
 *                                                check overlapping P3) ← writes resume here
 *                                             P5 CHECKPOINT; marker phase "promoted"
 *   D5 wait until the peer is a writable
 *      primary (its own address, then VIP-M)
 *   D6 rejoin as its standby (pg_rewind finds
 *      nothing to undo after a clean stop)
 *                                             P6 wait until the old primary streams
 *                                             P7 release VIP-S; phase "standby-vip-free"
 *   D7 claim VIP-S; clear the marker on the
 *      new primary (loops act again only now)
 *                                             P8 wait for the cleared marker (else take
 *                                                VIP-S back, clear it, exit 1)
 *
 * Either half may be started first; `pgha switchover` runs the half of the host it runs on.
 * The other half runs by `pgha switchover` on the other host, or by that host's watch loop
 * when it sees the marker.
 */

export type SwitchoverSide = 'demote' | 'promote'
export type SwitchoverPhase = 'requested' | 'promoted' | 'standby-vip-free'

export interface SwitchoverMarker {
  v: 1
  id: string
  phase: SwitchoverPhase
  /** Node names: the current primary and the standby that becomes primary. */
  from: string
  to: string
  requestedAt: string
  /** After this the marker is stale (a half died): loops alert; `pgha switchover --abort` clears it. */
  expiresAt: string
}

export function newMarker(from: string, to: string, now: Date, ttlMs: number, rand = Math.random): SwitchoverMarker {
  const id = `so-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${Math.floor(rand() * 0xffff)
    .toString(16)
    .padStart(4, '0')}`
  return {v: 1, id, phase: 'requested', from, to, requestedAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttlMs).toISOString()}
}

export function formatMarker(m: SwitchoverMarker): string {
  return JSON.stringify(m)
}

/** Pure: the marker in the column, or undefined for NULL / not ours / malformed (callers say so). */
export function parseMarker(text: string | null | undefined): SwitchoverMarker | undefined {
  if (!text) return undefined
  try {
    const m = JSON.parse(text) as Partial<SwitchoverMarker>
    if (m.v !== 1 || typeof m.id !== 'string' || typeof m.from !== 'string' || typeof m.to !== 'string') return undefined
    if (m.phase !== 'requested' && m.phase !== 'promoted' && m.phase !== 'standby-vip-free') return undefined
    return m as SwitchoverMarker
  } catch {
    return undefined
  }
}

/** Pure, for watch/status: is a switchover in progress (so loops only observe)? Stale markers still count, but say so. */
export function switchoverStatus(
  text: string | null | undefined,
  now: Date,
): {active: boolean; stale: boolean; marker?: SwitchoverMarker; text: string} {
  if (!text) return {active: false, stale: false, text: 'no switchover in progress'}
  const m = parseMarker(text)
  if (!m)
    return {
      active: true,
      stale: true,
      text: `unreadable switchover marker ${JSON.stringify(text.slice(0, 80))}; clear it with pgha switchover --abort`,
    }
  const stale = now.getTime() > Date.parse(m.expiresAt)
  return {
    active: true,
    stale,
    marker: m,
    text: `switchover ${m.id} ${m.from} → ${m.to} (${m.phase})${stale ? `, STALE since ${m.expiresAt}: clear with pgha switchover --abort` : ''}`,
  }
}

/** application_name of the promote half's waiting session; the demote half stops only while it exists. */
export function readySessionName(id: string): string {
  return `pgha-switchover-ready:${id}`
}

export interface PlanStep {
  side: SwitchoverSide
  host: string
  step: string
}

/** Pure: the protocol for these two hosts, in order, as --dry-run prints it. */
export function switchoverPlan(primary: string, standby: string, opts: {vips: boolean; archive: boolean}): PlanStep[] {
  const d = (step: string): PlanStep => ({side: 'demote', host: primary, step})
  const p = (step: string): PlanStep => ({side: 'promote', host: standby, step})
  const vip = (s: PlanStep): PlanStep[] => (opts.vips ? [s] : [])
  return [
    p(
      `write the switchover marker on ${primary} (pgha.cluster_state.switchover) and wait until it has replicated to ${standby} → both watch loops observe only`,
    ),
    p(`open the ready session (application_name pgha-switchover-ready:<id>) on ${standby}`),
    d(`wait for ${standby}'s ready session; check it streams with lag ≤ lag.yield`),
    d('CHECKPOINT (shortens the shutdown checkpoint, so the write outage)'),
    d('pg_ctl stop -m fast: writes stop; the shutdown checkpoint is the last WAL record and is streamed before the walsenders exit'),
    ...vip(d('release VIP-M')),
    p(
      `wait until ${primary} is gone (WAL receiver stopped, port closed)${opts.vips ? '; start claiming VIP-M (its ARP check overlaps the next two steps; given back if they fail)' : ''}`,
    ),
    p(
      `pg_waldump ${standby}'s received WAL: the last record must be ${primary}'s CHECKPOINT_SHUTDOWN; wait until it is replayed — else refuse`,
    ),
    p(`promote (pg_ctl promote -w)${opts.vips ? '; VIP-M claimed' : ''}  ← writes resume`),
    p('CHECKPOINT; marker phase → promoted'),
    d(`wait until ${standby} is a writable primary (at its own address${opts.vips ? ', then through VIP-M' : ''})`),
    d(
      `rejoin as a standby of ${standby} (pg_rewind: nothing to undo after a clean stop)${opts.archive ? '; restore_command from the peer archive' : ''}`,
    ),
    p(`wait until ${primary} streams from ${standby}`),
    p(`${opts.vips ? 'release VIP-S; ' : ''}marker phase → standby-vip-free`),
    d(
      `${opts.vips ? 'claim VIP-S; ' : ''}clear the marker on ${standby} → watch loops act again (only now: a standby without VIP-S would look lost)`,
    ),
    p(`wait until the marker is cleared (else ${opts.vips ? 'take VIP-S back and ' : ''}clear it, exit 1)`),
  ]
}

export function formatPlan(plan: PlanStep[]): string[] {
  return plan.map((s, i) => `${String(i + 1).padStart(2)}. [${s.host}, ${s.side} half] ${s.step}`)
}

/**
 * Pure predicates and memory updates the transition rows are written in. Keeping them here
 * lets each row read as one line of English: `when: (c) => peerDead(c) && !fenceWaitOver(c)`.
 */
import type {Config} from '../config/schema.js'
import {formatBytes, formatDuration} from '../config/units.js'
import type {DataDirKind, DbProbe, NodeMemory, Observations, Role, VipState} from './types.js'

/** Everything a row may look at: the snapshot, the config, the clock value and the memory. */
export interface Ctx {
  role: Role
  obs: Observations
  cfg: Config
  now: number
  mem: NodeMemory
}

// ── databases ───────────────────────────────────────────────────────────────────────
/** Answered the heartbeat and is out of recovery: it takes writes. */
export const isWritable = (p: DbProbe) => p.heartbeat === 'ok' && p.inRecovery === 'no'
/** Answered the heartbeat and is in recovery. */
export const isStandbyDb = (p: DbProbe) => p.heartbeat === 'ok' && p.inRecovery === 'yes'

/** PostgreSQL answered but refused the heartbeat (starting up, or our role/database/function missing): alive, not ready. */
export const answersNotReady = (p: DbProbe) => p.heartbeat === 'starting' || p.heartbeat === 'rejected'

export function describeDb(p: DbProbe): string {
  if (p.heartbeat === 'ok')
    return p.inRecovery === 'yes'
      ? 'answers as a standby'
      : p.inRecovery === 'no'
        ? 'answers as a primary'
        : 'answers (recovery state unknown)'
  const said = p.answer ? `: ${p.answer}` : ''
  if (p.heartbeat === 'starting') return `alive but not ready, not yet accepting connections${said}`
  if (p.heartbeat === 'rejected') return `alive but not ready, it rejects the heartbeat${said}`
  const port = p.port === 'yes' ? 'port open' : p.port === 'no' ? 'port closed' : 'port unknown'
  return `heartbeat ${p.heartbeat === 'timeout' ? 'timed out' : 'failed'} (${port})`
}

/** What the local server is: the running server's recovery state, else the data directory. */
export function localKind(c: Ctx): DataDirKind {
  const l = c.obs.local
  if (l.running === 'yes' && l.heartbeat === 'ok' && l.inRecovery !== 'unknown') return l.inRecovery === 'yes' ? 'standby' : 'primary'
  return l.dataDir
}

/** The local database does its role's job: writable on a primary, replaying on a standby. */
export function localHealthy(c: Ctx): boolean {
  return c.role === 'standby' ? isStandbyDb(c.obs.local) : isWritable(c.obs.local)
}

export function localProblem(c: Ctx): string {
  const l = c.obs.local
  if (l.running === 'no') return 'is not running'
  if (l.heartbeat !== 'ok') return describeDb(l)
  return c.role === 'standby' ? 'is not in recovery' : 'is in recovery, not writable'
}

/** The local server was promoted (writable) though our role is standby. */
export const localPromoted = (c: Ctx) => isWritable(c.obs.local)

// ── VIPs ────────────────────────────────────────────────────────────────────────────
export const held = (v: VipState) => v.heldLocally === 'yes'
/** Not here and nobody answers ARP for it. */
export const free = (v: VipState) => v.heldLocally === 'no' && v.answeredElsewhere === 'no'
export const heldElsewhere = (v: VipState) => v.heldLocally !== 'yes' && v.answeredElsewhere === 'yes'
export const freeOrMine = (v: VipState) => held(v) || free(v)

export function describeVip(v: VipState): string {
  if (held(v)) return v.answeredElsewhere === 'yes' ? 'here AND on another host' : 'here'
  if (v.answeredElsewhere === 'yes') return 'on another host'
  if (v.answeredElsewhere === 'no' && v.heldLocally === 'no') return 'free'
  return 'unknown (probe timed out)'
}

/** Another host holds VIP-M and a writable database answers behind it. */
export const otherPrimaryAtVipM = (c: Ctx) => c.obs.vipPrimary.heldLocally === 'no' && isWritable(c.obs.viaVipPrimary)

// ── the peer, as each role checks it ────────────────────────────────────────────────
export interface PeerCheck {
  probe: DbProbe
  via: string
  healthy: boolean
}

/**
 * standby → the primary through VIP-M (must be writable); primary → the standby through
 * VIP-S (must be replaying); primary_standby and starting → the peer's own address.
 */
export function peerCheck(c: Ctx): PeerCheck {
  const o = c.obs
  if (c.role === 'standby') return {probe: o.viaVipPrimary, via: 'VIP-M', healthy: !held(o.vipPrimary) && isWritable(o.viaVipPrimary)}
  if (c.role === 'primary') return {probe: o.viaVipStandby, via: 'VIP-S', healthy: !held(o.vipStandby) && isStandbyDb(o.viaVipStandby)}
  return {probe: o.peer, via: `its address ${c.cfg.peer.address}`, healthy: o.peer.heartbeat === 'ok'}
}

export const peerHealthy = (c: Ctx) => peerCheck(c).healthy
export const peerSeen = (c: Ctx) => c.obs.peer.heartbeat === 'ok'
/** The peer's own address answers as a standby (also before it claimed VIP-S). */
export const peerIsStandby = (c: Ctx) => isStandbyDb(c.obs.peer)

/**
 * The primary's standby answers without being ready (through VIP-S, or at its own address
 * while VIP-S is not held here): the probe that says so, else undefined.
 */
export function standbyNotReady(c: Ctx): DbProbe | undefined {
  const o = c.obs
  if (!held(o.vipStandby) && answersNotReady(o.viaVipStandby)) return o.viaVipStandby
  return answersNotReady(o.peer) ? o.peer : undefined
}
/** The primary answers, through VIP-M or at its own address, but is not ready (57P03, role missing). */
export function primaryNotReady(c: Ctx): DbProbe | undefined {
  const o = c.obs
  if (answersNotReady(o.viaVipPrimary)) return o.viaVipPrimary
  return answersNotReady(o.peer) ? o.peer : undefined
}
/** A duration for a reason line, to the second (a countdown in ms reads as noise). */
export const wholeSeconds = (ms: number) => formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000)
export const notReadyDeadline = (c: Ctx) => (c.mem.peerNotReadySince ?? c.now) + c.cfg.timing.peerStartTimeout
export const notReadyWaitOver = (c: Ctx) => c.mem.peerNotReadySince !== undefined && c.now >= notReadyDeadline(c)
/** For the reasons of rows that count a standby that answers but stayed not ready past the bound. */
export function notReadyTooLong(c: Ctx): string {
  const p = standbyNotReady(c)
  if (!p || !notReadyWaitOver(c)) return ''
  return `; it has been alive but not ready for ${wholeSeconds(c.now - (c.mem.peerNotReadySince ?? c.now))}, past timing.peerStartTimeout ${formatDuration(c.cfg.timing.peerStartTimeout)}${p === c.obs.viaVipStandby ? '' : ` (${describeDb(p)})`}: counting it as failed`
}

/** Consecutive failed checks including this tick's. */
export const failuresNow = (c: Ctx) => c.mem.peerFailures + 1
export const peerDead = (c: Ctx) => failuresNow(c) >= c.cfg.timing.checkTimes
export const fenceDeadline = (c: Ctx) => (c.mem.peerDeadSince ?? c.now) + c.cfg.fence.delay
export const fenceWaitOver = (c: Ctx) => c.now >= fenceDeadline(c)

// ── lag ─────────────────────────────────────────────────────────────────────────────
export interface LagLimit {
  maxAge: number
  maxBytes: number
}

/** Known and within both limits; unknown never counts as within. */
export function withinLag(p: DbProbe, lim: LagLimit): boolean {
  return p.heartbeatAgeMs !== undefined && p.lagBytes !== undefined && p.heartbeatAgeMs <= lim.maxAge && p.lagBytes <= lim.maxBytes
}

export function describeLag(p: DbProbe, lim?: LagLimit): string {
  const age = p.heartbeatAgeMs === undefined ? 'heartbeat age unknown' : `heartbeat ${formatDuration(p.heartbeatAgeMs)} old`
  const bytes = p.lagBytes === undefined ? 'lag unknown' : `${formatBytes(p.lagBytes)} behind`
  return lim ? `${age}, ${bytes}; limits ${formatDuration(lim.maxAge)}, ${formatBytes(lim.maxBytes)}` : `${age}, ${bytes}`
}

// ── fencing ─────────────────────────────────────────────────────────────────────────
/** Agent none without allowUnfencedPromotion: no transition that needs a fence may happen. */
export const cannotFence = (cfg: Config) => cfg.fence.agent === 'none' && !cfg.fence.allowUnfencedPromotion
/** Agent none with allowUnfencedPromotion: fence steps are skipped, loudly. */
export const unfenced = (cfg: Config) => cfg.fence.agent === 'none' && cfg.fence.allowUnfencedPromotion

// ── memory updates ──────────────────────────────────────────────────────────────────
export const keep = (c: Ctx): NodeMemory => c.mem

export const resetPeer = (c: Ctx): NodeMemory => ({
  ...c.mem,
  peerFailures: 0,
  peerFailingSince: undefined,
  peerDeadSince: undefined,
  fenceAttempts: 0,
  peerNotReadySince: undefined,
})

/** A standby saw the primary healthy: from now on a silent primary is a failure, not a cold start. */
export const seePrimary = (c: Ctx): NodeMemory => ({...resetPeer(c), primarySeen: true})

/** A standby that has not yet seen its primary waits timing.startupDelay from taking the role (cold start). */
export const unseenDeadline = (c: Ctx) => (c.mem.since ?? c.now) + c.cfg.timing.startupDelay
export const primaryUnseen = (c: Ctx) => c.mem.primarySeen !== true && c.now < unseenDeadline(c)

/** The peer is alive but not ready: no failure counted, the timing.peerStartTimeout clock runs. */
export const waitNotReady = (c: Ctx): NodeMemory => ({...resetPeer(c), peerNotReadySince: c.mem.peerNotReadySince ?? c.now})

/** One more failed check; the tick that reaches checkTimes starts the fence.delay clock. */
export function countPeer(c: Ctx): NodeMemory {
  return {
    ...c.mem,
    peerFailures: failuresNow(c),
    peerFailingSince: c.mem.peerFailingSince ?? c.now,
    peerDeadSince: peerDead(c) ? (c.mem.peerDeadSince ?? c.now) : undefined,
  }
}

export const countFence = (c: Ctx): NodeMemory => ({...countPeer(c), fenceAttempts: c.mem.fenceAttempts + 1})

export const dur = formatDuration

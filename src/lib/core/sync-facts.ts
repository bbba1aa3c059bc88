/**
 * Pure predicates and phrases for synchronous replication (replication.mode sync): when a
 * primary re-arms, when a connected standby counts as stalled, and what a promotion may claim
 * about lost commits. No I/O.
 */
import {formatBytes, formatDuration} from '../config/units.js'
import {answersNotReady, type Ctx, held, isStandbyDb, peerHealthy} from './facts.js'

const syncMode = (c: Ctx) => c.cfg.replication.mode === 'sync'
export const syncArmed = (c: Ctx) => c.obs.sync?.armed === 'yes'

/** Async mode, yet synchronous_standby_names still names the peer (left from sync mode): commits would keep waiting. */
export const asyncButArmed = (c: Ctx) => !syncMode(c) && syncArmed(c)

const stalledLong = (c: Ctx) => syncMode(c) && syncArmed(c) && (c.obs.sync?.stalledMs ?? 0) >= c.cfg.replication.stallTimeout

/** The standby's server answers (at its own address or through VIP-S), ready or not. */
const standbyAnswers = (c: Ctx) =>
  c.obs.peer.heartbeat === 'ok' || answersNotReady(c.obs.peer) || (!held(c.obs.vipStandby) && isStandbyDb(c.obs.viaVipStandby))

export const connectDeadline = (c: Ctx) => (c.mem.since ?? c.now) + c.cfg.replication.connectTimeout

/**
 * Armed, no walsender for the standby, but it answers and this node took its primary role less
 * than replication.connectTimeout ago: its walreceiver connects through VIP-M, which a starting
 * primary claims last, and retries only every wal_retrieve_retry_interval. Fencing it for that
 * powered off a healthy standby after a cold start (lab).
 */
export const syncConnecting = (c: Ctx) =>
  stalledLong(c) && c.obs.sync?.peerState === 'absent' && standbyAnswers(c) && c.now < connectDeadline(c)

/** Commits wait for a standby that has confirmed nothing for stallTimeout: treat it as failed. */
export const syncStalled = (c: Ctx) => stalledLong(c) && !syncConnecting(c)

/**
 * Sync mode, not armed, and the peer streams and has caught up while answering as a standby:
 * its walsender is past catchup, it confirms WAL (no stall) and what it has not flushed is
 * within lag.releaseStandbyVip. A connected standby that confirms nothing (walsender still
 * "streaming") would make every commit wait for it.
 */
export function syncNeedsArm(c: Ctx): boolean {
  const s = c.obs.sync
  if (!syncMode(c) || !s || s.armed !== 'no' || s.peerState !== 'streaming') return false
  if (s.stalledMs > 0 || (s.pendingBytes ?? 0) > c.cfg.lag.releaseStandbyVip.maxBytes) return false
  return c.role === 'primary' ? peerHealthy(c) : isStandbyDb(c.obs.peer)
}

export function describeSyncStall(c: Ctx): string {
  const s = c.obs.sync
  if (!s) return 'synchronous state unknown'
  const what =
    s.peerState === 'absent'
      ? `${c.cfg.peer.name} has no replication connection`
      : `${c.cfg.peer.name} (${s.peerState}) confirmed no WAL while ${s.pendingBytes === undefined ? 'WAL was' : `${formatBytes(s.pendingBytes)} were`} pending`
  return `${what} for ${formatDuration(s.stalledMs)} (replication.stallTimeout ${formatDuration(c.cfg.replication.stallTimeout)})`
}

/** The one command a DBA can run when the fence keeps failing. */
const DEGRADE_HINT =
  'commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)'

/** What an unfenced standby loss means for waiting commits, appended to the standby-loss reasons in sync mode. */
export const syncWaitNote = (c: Ctx) => (syncMode(c) && c.obs.sync?.armed !== 'no' ? `; ${DEGRADE_HINT}` : '')

/**
 * A promotion loses no acknowledged commit only if the latest replicated heartbeat row says
 * the primary was synchronous with THIS standby AND that row was written after this watch
 * started: while synchronous with us the primary stops waiting only after powering us off,
 * which would have restarted this watch. Rows from before a power cycle prove nothing.
 * (The row's write time is reckoned on this host's clock: now - its age; clocks in sync.)
 */
export function zeroLoss(c: Ctx): boolean {
  const l = c.obs.local
  const started = c.obs.watchStartedAt
  return (
    syncMode(c) &&
    l.syncWith === c.cfg.node.name &&
    l.heartbeatAgeMs !== undefined &&
    started !== undefined &&
    c.now - l.heartbeatAgeMs > started
  )
}

/** The promotion's claim about data, for the failover reason. */
export function describeLoss(c: Ctx): string {
  if (zeroLoss(c))
    return 'promoted with zero data loss (synchronous): the last heartbeat row says the primary was synchronous with this standby'
  const l = c.obs.local
  const why = !syncMode(c)
    ? 'replication.mode is async'
    : l.syncWith !== c.cfg.node.name
      ? `the last heartbeat row says the primary was ${l.syncWith ? `synchronous with ${l.syncWith}` : 'not synchronous'}`
      : 'the last synchronous heartbeat row predates this watch (it proves nothing after a restart)'
  const bytes = l.lagBytes === undefined ? 'an unknown number of bytes' : formatBytes(l.lagBytes)
  const secs = l.heartbeatAgeMs === undefined ? 'an unknown time' : formatDuration(l.heartbeatAgeMs)
  return `possible data loss: up to ${bytes} / ${secs} of commits (${why})`
}

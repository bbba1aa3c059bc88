/**
 * Types shared by the watch loop's pure core (decide, transitions) and its I/O shell
 * (observe, loop). Nothing here does I/O.
 */

/** The three cluster roles (docs/design.md). */
export type ClusterRole = 'primary' | 'standby' | 'primary_standby'

/**
 * The loop's role. `starting` is the startup sequence: every watch
 * process begins there and re-derives its role from reality. Standing down is not a role:
 * it is a decision to take no action while keeping the role.
 */
export type Role = 'starting' | ClusterRole
export const ROLES: readonly Role[] = ['starting', 'primary', 'standby', 'primary_standby']

/** A probe's answer. 'unknown' = the probe timed out or could not run: an observation, never an exception. */
export type Probe = 'yes' | 'no' | 'unknown'

/**
 * The heartbeat SQL call (a write on a primary, a read of the replicated row on a standby).
 * 'timeout': no answer within timing.probeTimeout — a hung database with an open port is down.
 * 'failed': refused, connection error, SQL error.
 * 'starting' and 'rejected': PostgreSQL itself answered, so the server is alive, but not ready:
 *   'starting' = cannot_connect_now (57P03: starting up, replaying WAL, not yet accepting
 *   connections); 'rejected' = it refused our role, password or database, or lacks the
 *   heartbeat function (28000, 28P01, 3D000, 3F000, 42883, 42P01: a standby that has not yet
 *   replayed the WAL creating them). Alive is not failed: such a peer is not fenced at once.
 */
export type Heartbeat = 'ok' | 'failed' | 'timeout' | 'starting' | 'rejected'

/** One heartbeat probe against one endpoint (socket, a VIP, the peer's address). */
export interface DbProbe {
  /** TCP connect to postgres.port (for the local socket: the socket accepts). */
  port: Probe
  heartbeat: Heartbeat
  /** pg_is_in_recovery() of whoever answered; 'unknown' unless the heartbeat answered. */
  inRecovery: Probe
  /** When the answerer is a standby: now() - last_alive of its replicated heartbeat row. */
  heartbeatAgeMs?: number
  /** When the answerer is a standby: its replication lag in bytes as the primary last wrote it. */
  lagBytes?: number
  /** With heartbeat 'starting' or 'rejected': the server's answer, one line with its SQLSTATE. */
  answer?: string
  /** The heartbeat row's sync_with: the standby the primary was synchronous with when it wrote it. */
  syncWith?: string | null
}

/** What the files say when the server is stopped (standby.signal / recovery.conf present → standby). */
export type DataDirKind = 'primary' | 'standby' | 'missing' | 'unknown'

export interface LocalDb extends DbProbe {
  /** The postmaster runs (pg_ctl status). */
  running: Probe
  dataDir: DataDirKind
}

export interface VipState {
  /** The address is configured on network.interface here. */
  heldLocally: Probe
  /** Another host answers ARP for it (arping -D exit 1). 'no' = free as far as we can see. */
  answeredElsewhere: Probe
}

/** What the loop did with the previous Decision (the loop hands it to decide() next tick). */
export interface TickOutcome {
  /** Row id of the previous decision. */
  rule: string
  /** Actions that succeeded, in order. */
  done: ActionName[]
  /** The first action that failed: the loop ran nothing after it and kept the old role. */
  failed?: {action: ActionName; error: string}
}

/**
 * One read-only snapshot per tick, built by observe(). Every probe is bounded by
 * timing.probeTimeout and says 'unknown'/'timeout' instead of throwing.
 */
export interface Observations {
  /** ARP to network.gateway answered. Anything but 'yes' = possibly isolated: never act. */
  gateway: Probe
  /** network.interface is not a device on this host (a config error): every ARP probe is void, never act. */
  interfaceMissing?: boolean
  /** Maintenance mode (stateDir pause flag): observe, never act. */
  paused: boolean
  /** `pgha switchover` holds the roles right now: the loop stays out of its way. */
  switchover: boolean
  /** Heartbeat over the local socket, plus process and data-directory state. */
  local: LocalDb
  vipPrimary: VipState
  vipStandby: VipState
  /** Heartbeat through VIP-M (reaches whoever holds it; ourselves when we hold it). */
  viaVipPrimary: DbProbe
  /** Heartbeat through VIP-S. */
  viaVipStandby: DbProbe
  /** Heartbeat to peer.address (the only way to see the peer while we hold both VIPs). */
  peer: DbProbe
  /** archive.mountpoint state; 'not_configured' when archive.mode is none. */
  archive: 'mounted' | 'not_mounted' | 'not_configured' | 'unknown'
  /** Synchronous replication as the local primary sees it; absent unless the local database is writable. */
  sync?: SyncObservation
  /** When this watch process started (epoch ms): heartbeat rows older than this prove nothing. */
  watchStartedAt?: number
}

/** The local primary's synchronous replication (sync-probe.ts). */
export interface SyncObservation {
  /** synchronous_standby_names names the peer ('unknown': could not be read this tick). */
  armed: Probe
  standbyNames: string
  /** The peer's walsender state (streaming, catchup, ...), or 'absent' when it has none. */
  peerState: string
  /** WAL the peer has not confirmed flushed (bytes); undefined when it has no walsender. */
  pendingBytes?: number
  /** How long the peer has confirmed no new WAL while WAL was pending, or had no walsender (0: keeping up). */
  stalledMs: number
}

/**
 * Steps the loop runs, in the order given; each is an idempotent ensure-step from
 * src/lib/steps. The loop stops at the first failure.
 *  - claimVipPrimary must itself refuse when another host answers ARP (after a fence the
 *    snapshot is stale; the step's own check is the last word).
 *  - fencePeer: up to Decision.fenceTries attempts this tick, each bounded by fence.timeout,
 *    WITHOUT fence.delay (decide already waited it). decide never plans it with agent none.
 *  - armSync: synchronous_standby_names = the peer (replication.mode sync only).
 *  - disarmSync: replication.mode is async but synchronous_standby_names still names the peer
 *    (left from sync mode): cleared, so commits stop waiting as the DBA chose.
 *  - degradeSync: synchronous_standby_names = '' — the step itself refuses unless this
 *    decision's fencePeer verified the power-off (or the BMC says off, or this node was just
 *    promoted): never a degrade without a verified fence.
 */
export type ActionName =
  | 'mountArchive'
  | 'startDb'
  | 'stopDb'
  | 'claimVipPrimary'
  | 'claimVipStandby'
  | 'releaseVipPrimary'
  | 'releaseVipStandby'
  | 'fencePeer'
  | 'promote'
  | 'rejoin'
  | 'writeHeartbeat'
  | 'armSync'
  | 'disarmSync'
  | 'degradeSync'

export const ACTION_NAMES: readonly ActionName[] = [
  'mountArchive',
  'startDb',
  'stopDb',
  'claimVipPrimary',
  'claimVipStandby',
  'releaseVipPrimary',
  'releaseVipStandby',
  'fencePeer',
  'promote',
  'rejoin',
  'writeHeartbeat',
  'armSync',
  'disarmSync',
  'degradeSync',
]

/** Fence attempts per tick (each bounded by fence.timeout); more come on later ticks. */
export const FENCE_TRIES_PER_TICK = 2

/**
 * What decide() remembers between ticks. decide is pure, so it takes this and returns the
 * next value in Decision.memory; the loop stores it (also when an action failed).
 * Counters belong to the role they were kept under: decide resets them when the role changes.
 */
export interface NodeMemory {
  /** The role the fields below were kept under. */
  role?: Role
  /** When decide first saw the current role (for `starting`: the startupDelay clock). */
  since?: number
  /** Consecutive ticks the peer failed its check (timing.checkTimes declares it dead). */
  peerFailures: number
  peerFailingSince?: number
  /** When the peer was declared dead; the standby's fence.delay counts from here. */
  peerDeadSince?: number
  /** Ticks that planned a fence since the peer was declared dead. */
  fenceAttempts: number
  /** This startup already tried to mount the archive (a dead peer must not block startup). */
  archiveMountTried: boolean
  /** When the primary first saw its standby answer without being ready (timing.peerStartTimeout counts from here). */
  peerNotReadySince?: number
  /** A standby has seen the primary healthy through VIP-M since it took the role (until then it is a cold start). */
  primarySeen?: boolean
}

export const FRESH_MEMORY: NodeMemory = Object.freeze({peerFailures: 0, fenceAttempts: 0, archiveMountTried: false})

/** info: routine; warn: skipping or waiting; alert: a human should look (logged every tick). */
export type Severity = 'info' | 'warn' | 'alert'

export interface Decision {
  /** The role to commit once every action succeeded (the old role stays otherwise). */
  next: Role
  /** One sentence for the log line, the state file and the tests. */
  reason: string
  /** Id of the table row that matched. */
  rule: string
  actions: ActionName[]
  /** Persist always, whether or not the actions succeeded. */
  memory: NodeMemory
  severity: Severity
  /** The row waits for a deadline: the loop may tick again at `until` instead of a full interval. */
  wait?: {until: number; for: 'startupDelay' | 'fence.delay'}
  /** With fencePeer: attempts allowed this tick. */
  fenceTries?: number
}

/**
 * The watch loop's transition table (docs/design.md). One row per edge; decide() walks it
 * top to bottom and the first row whose `from` holds the current role and whose `when`
 * holds wins. Safety guards come first. Every role ends in rows that always match (steady,
 * skip, wait), so "no row matched" is a bug and decide() throws.
 *
 * fencePeer rows have a `.no-fence` twin just above them: with fence.agent none and no
 * allowUnfencedPromotion nothing that needs a fence may happen. With allowUnfencedPromotion
 * decide() drops fencePeer from the actions and says so loudly.
 */
import {
  type Ctx,
  cannotFence,
  countFence,
  countPeer,
  describeDb,
  describeLag,
  describeVip,
  dur,
  failuresNow,
  fenceDeadline,
  fenceWaitOver,
  free,
  freeOrMine,
  held,
  heldElsewhere,
  isStandbyDb,
  isWritable,
  keep,
  localHealthy,
  localKind,
  localProblem,
  localPromoted,
  otherPrimaryAtVipM,
  peerCheck,
  peerDead,
  peerHealthy,
  peerIsStandby,
  peerSeen,
  resetPeer,
  withinLag,
} from './facts.js'
import {
  answersNotReady,
  notReadyDeadline,
  notReadyTooLong,
  notReadyWaitOver,
  standbyNotReady,
  primaryNotReady,
  primaryUnseen,
  seePrimary,
  unseenDeadline,
  waitNotReady,
  wholeSeconds,
} from './facts.js'
import {
  asyncButArmed,
  connectDeadline,
  describeLoss,
  describeSyncStall,
  syncConnecting,
  syncNeedsArm,
  syncStalled,
  syncWaitNote,
} from './sync-facts.js'
import {type ActionName, FENCE_TRIES_PER_TICK, type NodeMemory, type Role, ROLES, type Severity} from './types.js'

export interface Transition {
  /** Stable id; also Decision.rule and the log's `rule=` field. */
  id: string
  from: readonly Role[]
  /** 'same' keeps the current role (steady, skip, wait, repair). */
  to: Role | 'same'
  /** The condition in words, for `pgha fsm`. */
  guard: string
  when: (c: Ctx) => boolean
  reason: string | ((c: Ctx) => string)
  actions: readonly ActionName[]
  /** Memory after this tick (default: unchanged). */
  memory?: (c: Ctx) => NodeMemory
  severity?: Severity
  wait?: (c: Ctx) => {until: number; for: 'startupDelay' | 'fence.delay'}
}

const ANY = ROLES
const RUNNING: readonly Role[] = ['primary', 'standby', 'primary_standby']
const WRITERS: readonly Role[] = ['primary', 'primary_standby']
const STARTING: readonly Role[] = ['starting']
const STANDBY: readonly Role[] = ['standby']
const PRIMARY: readonly Role[] = ['primary']
const BOTH_VIPS: readonly Role[] = ['primary_standby']

const kindIs =
  (...k: string[]) =>
  (c: Ctx) =>
    k.includes(localKind(c))
const mayStartPrimary = (c: Ctx) => localKind(c) === 'primary' && freeOrMine(c.obs.vipPrimary)
const checks = (c: Ctx) => `${failuresNow(c)} of ${c.cfg.timing.checkTimes}`
const lagLimits = (c: Ctx, which: 'promote' | 'releaseStandbyVip' | 'yield') => c.cfg.lag[which]

/** The `.no-fence` twin of a row that needs fencePeer. */
function noFence(
  id: string,
  from: readonly Role[],
  guard: string,
  when: (c: Ctx) => boolean,
  what: string,
  memory: (c: Ctx) => NodeMemory = keep,
): Transition {
  const text = `${what} needs a fence, but fence.agent is none and fence.allowUnfencedPromotion is false: taking no action — make sure the peer is down, then act by hand`
  return {
    id: `${id}.no-fence`,
    from,
    to: 'same',
    guard: `${guard}, but fence.agent is none without allowUnfencedPromotion`,
    when: (c) => cannotFence(c.cfg) && when(c),
    actions: [],
    memory,
    severity: 'alert',
    // A primary losing its synchronous standby keeps commits waiting: say how to release them.
    reason: (c) => text + (c.role === 'starting' || c.role === 'standby' ? '' : syncWaitNote(c)),
  }
}

const peerGone = (c: Ctx) => !peerSeen(c)
const standbyFailover = (c: Ctx) => fenceWaitOver(c)

export const TRANSITIONS: readonly Transition[] = [
  // ── guards: any role ──────────────────────────────────────────────────────────────
  {
    id: 'any.paused',
    from: ANY,
    to: 'same',
    guard: 'paused (maintenance mode)',
    when: (c) => c.obs.paused,
    actions: [],
    memory: resetPeer,
    severity: 'warn',
    reason: 'paused (maintenance mode): observing only, taking no action',
  },
  // → starting, not same: the roles change under us, so afterwards each node re-derives its role
  // from reality (a new primary that still believed it was a standby fenced the old one).
  {
    id: 'any.switchover',
    from: ANY,
    to: 'starting',
    guard: 'pgha switchover is running',
    when: (c) => c.obs.switchover,
    actions: [],
    memory: resetPeer,
    reason: 'a switchover is in progress: leaving the roles to pgha switchover; the role is re-derived from reality when it ends',
  },
  {
    id: 'any.no-interface',
    from: ANY,
    to: 'same',
    guard: 'network.interface does not exist',
    when: (c) => c.obs.interfaceMissing === true,
    actions: [],
    memory: resetPeer,
    severity: 'alert',
    reason: (c) =>
      `network.interface ${c.cfg.network.interface} does not exist on this host — fix network.interface (ip link lists the names); taking no action`,
  },
  {
    id: 'any.isolated',
    from: ANY,
    to: 'same',
    guard: 'gateway does not answer ARP',
    when: (c) => c.obs.gateway !== 'yes',
    actions: [],
    memory: resetPeer,
    severity: 'warn',
    reason: (c) =>
      `gateway ${c.cfg.network.gateway} ${c.obs.gateway === 'no' ? 'does not answer ARP' : 'probe timed out'}: this node may be isolated, taking no action`,
  },

  // ── startup, re-deriving the role from reality ──────────
  {
    id: 'starting.vip-conflict',
    from: STARTING,
    to: 'same',
    guard: 'VIP-M here and answered elsewhere',
    severity: 'alert',
    actions: [],
    when: (c) => held(c.obs.vipPrimary) && c.obs.vipPrimary.answeredElsewhere === 'yes',
    reason:
      'VIP-M is on this host AND another host answers ARP for it: two holders, taking no action — remove it by hand from the host that should not be primary',
  },
  {
    id: 'starting.resume-primary-standby',
    from: STARTING,
    to: 'primary_standby',
    guard: 'holds both VIPs, database writable',
    actions: [],
    when: (c) => held(c.obs.vipPrimary) && held(c.obs.vipStandby) && isWritable(c.obs.local),
    reason: 'resuming as primary_standby: this host holds both VIPs and its database is writable',
  },
  {
    id: 'starting.resume-primary',
    from: STARTING,
    to: 'primary',
    guard: 'holds VIP-M, database writable',
    actions: [],
    when: (c) => held(c.obs.vipPrimary) && isWritable(c.obs.local),
    reason: 'resuming as primary: this host holds VIP-M and its database is writable',
  },
  {
    id: 'starting.resume-standby',
    from: STARTING,
    to: 'standby',
    guard: 'holds VIP-S only, database replaying',
    actions: [],
    when: (c) => held(c.obs.vipStandby) && c.obs.vipPrimary.heldLocally === 'no' && isStandbyDb(c.obs.local),
    reason: 'resuming as standby: this host holds VIP-S and its database is replaying',
  },
  {
    id: 'starting.start-standby-db',
    from: STARTING,
    to: 'same',
    guard: 'standby data directory, server stopped',
    actions: ['startDb'],
    when: (c) => localKind(c) === 'standby' && c.obs.local.running === 'no',
    reason: "the data directory is a standby's: starting it now (a standby always runs, and a starting primary can then see it)",
  },
  {
    id: 'starting.delay',
    from: STARTING,
    to: 'same',
    guard: 'no writable primary at VIP-M and startupDelay not over',
    actions: [],
    when: (c) => !isWritable(c.obs.viaVipPrimary) && c.now < (c.mem.since ?? c.now) + c.cfg.timing.startupDelay,
    wait: (c) => ({until: (c.mem.since ?? c.now) + c.cfg.timing.startupDelay, for: 'startupDelay'}),
    reason: (c) =>
      `VIP-M does not answer as a primary (${describeDb(c.obs.viaVipPrimary)}): waiting startupDelay so a peer mid-promotion can finish (${dur((c.mem.since ?? c.now) + c.cfg.timing.startupDelay - c.now)} left)`,
  },
  {
    id: 'starting.mount-archive',
    from: STARTING,
    to: 'same',
    guard: 'archive configured, not mounted, not tried yet',
    actions: ['mountArchive'],
    when: (c) => (c.obs.archive === 'not_mounted' || c.obs.archive === 'unknown') && !c.mem.archiveMountTried,
    memory: (c) => ({...c.mem, archiveMountTried: true}),
    reason: "mounting the peer's WAL archive (tried once per startup: a dead peer must not block the start)",
  },
  {
    id: 'starting.rejoin',
    from: STARTING,
    to: 'same',
    guard: 'primary or empty data directory, another writable primary holds VIP-M',
    actions: ['stopDb', 'rejoin'],
    when: (c) => kindIs('primary', 'missing')(c) && otherPrimaryAtVipM(c),
    reason: 'another host holds VIP-M and its database is writable: rebuilding this node as its standby (rejoin)',
  },
  {
    id: 'starting.vipm-taken',
    from: STARTING,
    to: 'same',
    guard: 'primary data directory, VIP-M answered elsewhere without a writable primary',
    actions: [],
    severity: 'alert',
    when: (c) => localKind(c) === 'primary' && heldElsewhere(c.obs.vipPrimary),
    reason: (c) =>
      `another host answers ARP for VIP-M but no writable primary answers there (${describeDb(c.obs.viaVipPrimary)}): not starting as primary, and nothing to rejoin yet`,
  },
  {
    id: 'starting.start-primary-db',
    from: STARTING,
    to: 'same',
    guard: 'primary data directory, VIP-M free, server stopped',
    actions: ['startDb'],
    when: (c) => mayStartPrimary(c) && c.obs.local.running === 'no',
    // Up before we look at the peer: two nodes starting at once then see each other, and never fence each other.
    reason: 'VIP-M is free: starting the local database first (no VIP yet), so a peer starting at the same time can see it',
  },
  {
    id: 'starting.primary-tie',
    from: STARTING,
    to: 'same',
    guard: 'primary data directory, VIP-M free, peer writable too, peer wins the tie',
    actions: [],
    severity: 'alert',
    when: (c) => mayStartPrimary(c) && isWritable(c.obs.peer) && c.cfg.peer.name < c.cfg.node.name,
    reason: (c) =>
      `both databases are writable and neither holds VIP-M: leaving VIP-M to ${c.cfg.peer.name} (the lower node name wins a tie); this node will rejoin as its standby — check which side has the newer data`,
  },
  {
    id: 'starting.primary',
    from: STARTING,
    to: 'primary',
    guard: "primary data directory, VIP-M free, peer answers, VIP-S is the peer's",
    actions: ['startDb', 'claimVipPrimary', 'writeHeartbeat'],
    when: (c) => mayStartPrimary(c) && peerSeen(c) && (!freeOrMine(c.obs.vipStandby) || peerIsStandby(c)),
    reason: (c) => `VIP-M is free and the peer answers (${describeDb(c.obs.peer)}): starting as primary, leaving VIP-S to the peer`,
  },
  {
    id: 'starting.primary-standby',
    from: STARTING,
    to: 'primary_standby',
    guard: 'primary data directory, both VIPs free, peer answers but is no standby',
    actions: ['startDb', 'claimVipPrimary', 'claimVipStandby', 'writeHeartbeat'],
    when: (c) => mayStartPrimary(c) && peerSeen(c),
    reason: (c) => `both VIPs are free and the peer answers but is not a standby (${describeDb(c.obs.peer)}): starting as primary_standby`,
  },
  // A peer whose PostgreSQL answers with an error (starting up, role not replayed yet) is alive:
  // fencing it powered off a live standby after a cold start (lab). VIP-S stays the peer's.
  {
    id: 'starting.primary-peer-not-ready',
    from: STARTING,
    to: 'primary',
    guard: 'primary data directory, VIP-M free, peer alive but not ready',
    actions: ['startDb', 'claimVipPrimary', 'writeHeartbeat'],
    severity: 'warn',
    when: (c) => mayStartPrimary(c) && answersNotReady(c.obs.peer),
    reason: (c) =>
      `VIP-M is free and the peer at ${c.cfg.peer.address} is ${describeDb(c.obs.peer)}: it is alive, so not fencing it; starting as primary, leaving VIP-S to it (waiting up to timing.peerStartTimeout ${dur(c.cfg.timing.peerStartTimeout)} for it to become a standby)`,
  },
  noFence(
    'starting.fence-then-primary',
    STARTING,
    'primary data directory, VIP-M free, peer silent',
    (c) => mayStartPrimary(c) && peerGone(c),
    'starting as primary while the peer does not answer',
  ),
  {
    id: 'starting.fence-then-primary',
    from: STARTING,
    to: 'primary_standby',
    guard: 'primary data directory, VIP-M free, peer silent',
    actions: ['fencePeer', 'startDb', 'degradeSync', 'claimVipPrimary', 'claimVipStandby', 'writeHeartbeat'],
    severity: 'warn',
    when: (c) => mayStartPrimary(c) && peerGone(c),
    memory: (c) => ({...c.mem, fenceAttempts: c.mem.fenceAttempts + 1}),
    reason: (c) =>
      `VIP-M is free but the peer does not answer at ${c.cfg.peer.address} (${describeDb(c.obs.peer)}): fencing it (attempt ${c.mem.fenceAttempts + 1}, up to ${FENCE_TRIES_PER_TICK} tries this tick) before starting as primary_standby, since it may be alive behind a partition`,
  },
  {
    id: 'starting.vipm-unknown',
    from: STARTING,
    to: 'same',
    guard: 'primary data directory, VIP-M state unknown',
    actions: [],
    severity: 'warn',
    when: kindIs('primary'),
    reason: (c) => `cannot tell whether VIP-M is free (${describeVip(c.obs.vipPrimary)}): not starting as primary yet`,
  },
  {
    id: 'starting.standby',
    from: STARTING,
    to: 'standby',
    guard: 'standby data directory, VIP-S free',
    actions: ['startDb', 'claimVipStandby'],
    when: (c) => localKind(c) === 'standby' && freeOrMine(c.obs.vipStandby),
    reason: "the data directory is a standby's and VIP-S is free: starting as standby",
  },
  {
    id: 'starting.standby-wait-vips',
    from: STARTING,
    to: 'same',
    guard: 'standby data directory, VIP-S not free',
    actions: ['startDb'],
    when: kindIs('standby'),
    reason: (c) => `waiting for VIP-S to be free (it is ${describeVip(c.obs.vipStandby)}); the standby database runs meanwhile`,
  },
  {
    id: 'starting.missing',
    from: STARTING,
    to: 'same',
    guard: 'no cluster in the data directory, no primary to rebuild from',
    actions: [],
    severity: 'alert',
    when: kindIs('missing'),
    reason: (c) =>
      `the data directory ${c.cfg.postgres.datadir} holds no cluster and no writable primary answers through VIP-M to rebuild from: waiting`,
  },
  {
    id: 'starting.unknown',
    from: STARTING,
    to: 'same',
    guard: 'data directory state unknown',
    actions: [],
    severity: 'warn',
    when: () => true,
    reason: 'cannot read the data directory state: waiting',
  },

  // ── standby: repairs that come before the health guard ────────────────────────────
  {
    id: 'standby.promoted-conflict',
    from: STANDBY,
    to: 'starting',
    guard: 'local database writable, another writable primary holds VIP-M',
    actions: ['stopDb'],
    severity: 'alert',
    when: (c) => localPromoted(c) && otherPrimaryAtVipM(c),
    reason:
      'the local database is writable but another host holds VIP-M with a writable database: stopping it; it will rejoin as a standby',
  },
  noFence('standby.promoted-claim', STANDBY, 'local database already writable', localPromoted, 'finishing a half-done failover'),
  {
    id: 'standby.promoted-claim',
    from: STANDBY,
    to: 'primary_standby',
    guard: 'local database already writable',
    actions: ['fencePeer', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'],
    severity: 'warn',
    when: localPromoted,
    memory: countFence,
    reason:
      'the local database is already promoted (a failover stopped half-way): fencing the peer again, starting degraded (no synchronous standby while it is fenced), then claiming VIP-M',
  },
  {
    id: 'standby.restart-db',
    from: STANDBY,
    to: 'same',
    guard: 'standby server stopped',
    actions: ['startDb'],
    severity: 'warn',
    when: (c) => c.obs.local.running === 'no' && c.obs.local.dataDir === 'standby',
    reason: 'the standby database is not running: starting it (a standby always runs)',
  },

  // ── health guards: primary, standby, primary_standby ───────────────────────────────
  {
    id: 'any.stand-down',
    from: RUNNING,
    to: 'same',
    guard: 'local database unhealthy, peer healthy',
    actions: [],
    memory: resetPeer,
    severity: 'alert',
    when: (c) => !localHealthy(c) && peerHealthy(c),
    reason: (c) =>
      `the local database ${localProblem(c)} while the peer answers through ${peerCheck(c).via}: standing down, taking no action until it recovers`,
  },
  {
    id: 'any.local-and-peer-down',
    from: RUNNING,
    to: 'same',
    guard: 'local database unhealthy, peer unhealthy',
    actions: [],
    memory: resetPeer,
    severity: 'alert',
    when: (c) => !localHealthy(c),
    reason: (c) =>
      `the local database ${localProblem(c)} and the peer does not answer through ${peerCheck(c).via} either (${describeDb(peerCheck(c).probe)}): taking no action`,
  },

  // ── standby ───────────────────────────────────────────────────────────────────────
  {
    id: 'standby.holds-vipm',
    from: STANDBY,
    to: 'same',
    guard: 'standby holds VIP-M',
    actions: ['releaseVipPrimary'],
    severity: 'warn',
    when: (c) => held(c.obs.vipPrimary),
    reason: 'this standby holds VIP-M: releasing it (VIP-M belongs to the primary)',
  },
  {
    id: 'standby.claim-vips',
    from: STANDBY,
    to: 'same',
    guard: 'VIP-S missing and free',
    actions: ['claimVipStandby'],
    severity: 'warn',
    when: (c) => free(c.obs.vipStandby),
    reason: 'VIP-S is missing here and free: claiming it',
  },
  {
    id: 'standby.vips-missing',
    from: STANDBY,
    to: 'same',
    guard: 'VIP-S missing, not free',
    actions: [],
    severity: 'warn',
    when: (c) => !held(c.obs.vipStandby),
    reason: (c) => `VIP-S is not on this host (it is ${describeVip(c.obs.vipStandby)}): skipping this round`,
  },
  {
    id: 'standby.steady',
    from: STANDBY,
    to: 'same',
    guard: 'primary answers through VIP-M',
    actions: [],
    memory: seePrimary,
    when: peerHealthy,
    reason: (c) => `the primary answers through VIP-M; this standby's ${describeLag(c.obs.local)}`,
  },
  // Cold start: the primary's database is up at its own address but its watch has not claimed
  // VIP-M yet (it waits startupDelay). Counting that as a failure fenced a live primary (lab).
  {
    id: 'standby.primary-starting',
    from: STANDBY,
    to: 'same',
    guard: 'VIP-M silent, primary writable at its own address',
    actions: [],
    memory: resetPeer,
    severity: 'warn',
    when: (c) => !held(c.obs.vipPrimary) && c.obs.vipPrimary.answeredElsewhere !== 'yes' && isWritable(c.obs.peer),
    reason: (c) =>
      `the primary answers as writable at its own address ${c.cfg.peer.address} but not through VIP-M (VIP-M is ${describeVip(c.obs.vipPrimary)}): waiting for it to claim VIP-M, not counting it as failed`,
  },
  // Cold start the other way round: the primary's server answers but is not ready (starting up,
  // crash recovery after a power cut). It is alive: fencing it would kill the host with the data.
  {
    id: 'standby.primary-not-ready',
    from: STANDBY,
    to: 'same',
    guard: 'primary alive but not ready, within timing.peerStartTimeout',
    actions: [],
    memory: waitNotReady,
    severity: 'warn',
    when: (c) => primaryNotReady(c) !== undefined && !notReadyWaitOver(c),
    reason: (c) =>
      `the primary is ${describeDb(primaryNotReady(c)!)}: it is alive, not counting it as failed; waiting for it to become ready (${wholeSeconds(notReadyDeadline(c) - c.now)} of timing.peerStartTimeout ${dur(c.cfg.timing.peerStartTimeout)} left)`,
  },
  // Cold start, a third way: both watches wait startupDelay, then the primary still has to start
  // its database and claim VIP-M, while this standby already counts. Seconds of boot skew
  // between the hosts were enough to fence the primary, which has the latest writes (lab).
  {
    id: 'standby.primary-unseen',
    from: STANDBY,
    to: 'same',
    guard: 'primary not seen since this node became standby, within timing.startupDelay',
    actions: [],
    memory: resetPeer,
    severity: 'warn',
    when: primaryUnseen,
    wait: (c) => ({until: unseenDeadline(c), for: 'startupDelay'}),
    reason: (c) =>
      `the primary does not answer through VIP-M (${describeDb(c.obs.viaVipPrimary)}) and has not since this node became standby: a primary starting at the same time waits timing.startupDelay before it claims VIP-M, so not counting it as failed (${dur(unseenDeadline(c) - c.now)} left)`,
  },
  {
    id: 'standby.stale',
    from: STANDBY,
    to: 'same',
    guard: 'primary silent, standby beyond lag.promote',
    actions: [],
    severity: 'alert',
    when: (c) => !withinLag(c.obs.local, lagLimits(c, 'promote')),
    reason: (c) =>
      `the primary does not answer through VIP-M (${describeDb(c.obs.viaVipPrimary)}) but this standby is too stale to promote (${describeLag(c.obs.local, lagLimits(c, 'promote'))}): taking no action`,
  },
  {
    id: 'standby.suspect',
    from: STANDBY,
    to: 'same',
    guard: 'primary silent, fewer than checkTimes checks',
    actions: [],
    memory: countPeer,
    severity: 'warn',
    when: (c) => !peerDead(c),
    reason: (c) =>
      `the primary does not answer through VIP-M (${describeDb(c.obs.viaVipPrimary)}; VIP-M is ${describeVip(c.obs.vipPrimary)}): check ${checks(c)}`,
  },
  {
    id: 'standby.fence-wait',
    from: STANDBY,
    to: 'same',
    guard: 'primary dead, fence.delay not over',
    actions: [],
    memory: countPeer,
    severity: 'warn',
    when: (c) => !fenceWaitOver(c),
    wait: (c) => ({until: fenceDeadline(c), for: 'fence.delay'}),
    reason: (c) =>
      `the primary failed ${failuresNow(c)} checks in a row: waiting fence.delay ${dur(c.cfg.fence.delay)} (${dur(fenceDeadline(c) - c.now)} left) so a primary fencing this node at the same moment wins`,
  },
  noFence('standby.failover', STANDBY, 'primary dead, fence.delay over', standbyFailover, 'promoting this standby', countPeer),
  // degradeSync after promote: the new primary starts degraded (its peer is fenced), so a
  // synchronous_standby_names it inherited cannot make its first commits wait.
  {
    id: 'standby.failover',
    from: STANDBY,
    to: 'primary_standby',
    guard: 'primary dead, fence.delay over',
    actions: ['fencePeer', 'promote', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'],
    severity: 'alert',
    when: standbyFailover,
    memory: countFence,
    reason: (c) =>
      `the primary failed ${failuresNow(c)} checks in a row (${describeDb(c.obs.viaVipPrimary)}): fencing it (attempt ${c.mem.fenceAttempts + 1}, up to ${FENCE_TRIES_PER_TICK} tries this tick), then promoting and claiming VIP-M; ${describeLoss(c)}`,
  },

  // ── primary and primary_standby: VIP-M ─────────────────────────────────────────────
  {
    id: 'primary.demote',
    from: WRITERS,
    to: 'starting',
    guard: 'another writable primary holds VIP-M',
    actions: ['stopDb'],
    severity: 'alert',
    when: otherPrimaryAtVipM,
    reason: 'another host holds VIP-M with a writable database: this old primary stops its database and will rejoin as a standby',
  },
  {
    id: 'primary.vipm-conflict',
    from: WRITERS,
    to: 'same',
    guard: 'VIP-M here and answered elsewhere',
    actions: [],
    severity: 'alert',
    when: (c) => held(c.obs.vipPrimary) && c.obs.vipPrimary.answeredElsewhere === 'yes',
    reason:
      'VIP-M is on this host AND another host answers ARP for it: taking no action — remove it by hand from the host that should not be primary',
  },
  {
    id: 'primary.reclaim-vipm',
    from: WRITERS,
    to: 'same',
    guard: 'VIP-M missing and free',
    actions: ['claimVipPrimary'],
    severity: 'warn',
    when: (c) => free(c.obs.vipPrimary),
    reason: 'VIP-M is missing from this primary and nobody answers ARP for it: claiming it back',
  },
  {
    id: 'primary.vipm-missing',
    from: WRITERS,
    to: 'same',
    guard: 'VIP-M missing, not free',
    actions: [],
    severity: 'alert',
    when: (c) => !held(c.obs.vipPrimary),
    reason: (c) => `VIP-M is not on this primary (it is ${describeVip(c.obs.vipPrimary)}): skipping this round`,
  },

  // ── primary and primary_standby: synchronous replication (replication.mode sync) ────
  {
    id: 'primary.sync-connect-wait',
    from: WRITERS,
    to: 'same',
    guard: 'armed, the standby answers but has no replication connection yet, within replication.connectTimeout of taking the role',
    actions: [],
    severity: 'warn',
    when: syncConnecting,
    reason: (c) =>
      `commits are waiting: ${c.cfg.peer.name} answers but has no replication connection yet (this node took its role ${dur(c.now - (c.mem.since ?? c.now))} ago; the standby reconnects through VIP-M): not counting it as stalled for ${dur(connectDeadline(c) - c.now)} more of replication.connectTimeout ${dur(c.cfg.replication.connectTimeout)}`,
  },
  noFence(
    'primary.sync-stalled',
    PRIMARY,
    'synchronous standby confirms no WAL for stallTimeout',
    syncStalled,
    'stopping the wait for the stalled synchronous standby',
    countPeer,
  ),
  {
    id: 'primary.sync-stalled',
    from: PRIMARY,
    to: 'primary_standby',
    guard: 'synchronous standby confirms no WAL for stallTimeout',
    actions: ['fencePeer', 'degradeSync', 'claimVipStandby'],
    severity: 'alert',
    when: syncStalled,
    memory: countFence,
    reason: (c) =>
      `commits are waiting: ${describeSyncStall(c)}: treating it as failed — fencing it (attempt ${c.mem.fenceAttempts + 1}, up to ${FENCE_TRIES_PER_TICK} tries this tick), then degrading to asynchronous and claiming VIP-S${syncWaitNote(c)}`,
  },
  noFence(
    'primary_standby.sync-stalled',
    BOTH_VIPS,
    'synchronous standby confirms no WAL for stallTimeout',
    syncStalled,
    'stopping the wait for the stalled synchronous standby',
    countPeer,
  ),
  {
    id: 'primary_standby.sync-stalled',
    from: BOTH_VIPS,
    to: 'same',
    guard: 'synchronous standby confirms no WAL for stallTimeout',
    actions: ['fencePeer', 'degradeSync'],
    severity: 'alert',
    when: syncStalled,
    memory: countFence,
    reason: (c) =>
      `commits are waiting: ${describeSyncStall(c)}: treating it as failed — fencing it (attempt ${c.mem.fenceAttempts + 1}, up to ${FENCE_TRIES_PER_TICK} tries this tick), then degrading to asynchronous${syncWaitNote(c)}`,
  },
  {
    id: 'primary.async-disarm',
    from: WRITERS,
    to: 'same',
    guard: 'async mode, but synchronous_standby_names still names the standby',
    actions: ['disarmSync'],
    when: asyncButArmed,
    reason: (c) =>
      `replication.mode is async but synchronous_standby_names still names ${c.cfg.peer.name} (${c.obs.sync?.standbyNames}): clearing it, commits no longer wait for the standby`,
  },
  {
    id: 'primary.arm-sync',
    from: WRITERS,
    to: 'same',
    guard: 'sync mode, not armed, the standby streams, confirms WAL and has at most lag.releaseStandbyVip.maxBytes unflushed',
    actions: ['armSync'],
    severity: 'warn',
    when: syncNeedsArm,
    reason: (c) =>
      `${c.cfg.peer.name} streams and has caught up (${c.obs.sync?.pendingBytes ?? 0} bytes pending): re-arming synchronous replication, commits wait for it again`,
  },

  // ── primary ───────────────────────────────────────────────────────────────────────
  {
    id: 'primary.holds-vips',
    from: PRIMARY,
    to: 'primary_standby',
    guard: 'primary also holds VIP-S',
    actions: [],
    when: (c) => held(c.obs.vipStandby),
    reason: 'this primary also holds VIP-S: it is primary_standby',
  },
  {
    id: 'primary.yield',
    from: PRIMARY,
    to: 'starting',
    guard: 'node.canPrimary false, standby healthy within lag.yield, fencing configured',
    actions: ['stopDb', 'releaseVipPrimary'],
    severity: 'warn',
    // Without fencing the standby could never take over: yielding would only stop the service.
    when: (c) => !c.cfg.node.canPrimary && !cannotFence(c.cfg) && peerHealthy(c) && withinLag(c.obs.viaVipStandby, lagLimits(c, 'yield')),
    reason: (c) =>
      `node.canPrimary is false and the standby is within lag.yield (${describeLag(c.obs.viaVipStandby)}): stopping the database and releasing VIP-M so it takes over`,
  },
  {
    id: 'primary.steady',
    from: PRIMARY,
    to: 'same',
    guard: 'standby answers through VIP-S',
    actions: [],
    memory: resetPeer,
    when: peerHealthy,
    reason: (c) => `the standby answers through VIP-S (${describeLag(c.obs.viaVipStandby)})`,
  },
  {
    id: 'primary.standby-claiming',
    from: PRIMARY,
    to: 'same',
    guard: 'VIP-S free, peer answers as a standby',
    actions: [],
    memory: resetPeer,
    when: (c) => free(c.obs.vipStandby) && peerIsStandby(c),
    reason: 'the standby answers at its own address but has not claimed VIP-S yet: not counting it as failed',
  },
  {
    id: 'primary.standby-not-ready',
    from: PRIMARY,
    to: 'same',
    guard: 'standby alive but not ready, within timing.peerStartTimeout',
    actions: [],
    memory: waitNotReady,
    severity: 'warn',
    when: (c) => standbyNotReady(c) !== undefined && !notReadyWaitOver(c),
    reason: (c) =>
      `the standby is ${describeDb(standbyNotReady(c)!)}: not counting it as failed; waiting for it to become a standby (${wholeSeconds(notReadyDeadline(c) - c.now)} of timing.peerStartTimeout ${dur(c.cfg.timing.peerStartTimeout)} left)`,
  },
  {
    id: 'primary.suspect',
    from: PRIMARY,
    to: 'same',
    guard: 'standby silent, fewer than checkTimes checks',
    actions: [],
    memory: countPeer,
    severity: 'warn',
    when: (c) => !peerDead(c),
    reason: (c) =>
      `the standby does not answer through VIP-S (${describeDb(c.obs.viaVipStandby)}; VIP-S is ${describeVip(c.obs.vipStandby)})${notReadyTooLong(c)}: check ${checks(c)}`,
  },
  noFence('primary.fence-standby', PRIMARY, 'standby dead', () => true, 'taking VIP-S from the dead standby', countPeer),
  {
    id: 'primary.fence-standby',
    from: PRIMARY,
    to: 'primary_standby',
    guard: 'standby dead',
    actions: ['fencePeer', 'degradeSync', 'claimVipStandby'],
    severity: 'alert',
    when: () => true,
    memory: countFence,
    reason: (c) =>
      `the standby failed ${failuresNow(c)} checks in a row (${describeDb(c.obs.viaVipStandby)})${notReadyTooLong(c)}: fencing it (attempt ${c.mem.fenceAttempts + 1}, up to ${FENCE_TRIES_PER_TICK} tries this tick), then degrading to asynchronous and claiming VIP-S${syncWaitNote(c)}`,
  },

  // ── primary_standby ───────────────────────────────────────────────────────────────
  {
    id: 'primary_standby.vips-taken',
    from: BOTH_VIPS,
    to: 'primary',
    guard: 'VIP-S now held by another host',
    actions: [],
    when: (c) => heldElsewhere(c.obs.vipStandby),
    reason: 'VIP-S is now held by another host: continuing as primary',
  },
  {
    id: 'primary_standby.reclaim-vips',
    from: BOTH_VIPS,
    to: 'same',
    guard: 'VIP-S missing and free',
    actions: ['claimVipStandby'],
    severity: 'warn',
    when: (c) => free(c.obs.vipStandby),
    reason: 'VIP-S is missing here and free: claiming it back',
  },
  {
    id: 'primary_standby.vips-missing',
    from: BOTH_VIPS,
    to: 'same',
    guard: 'VIP-S state unknown',
    actions: [],
    severity: 'warn',
    when: (c) => !held(c.obs.vipStandby),
    reason: (c) => `VIP-S is not on this host (it is ${describeVip(c.obs.vipStandby)}): skipping this round`,
  },
  {
    id: 'primary_standby.failback',
    from: BOTH_VIPS,
    to: 'primary',
    guard: 'peer is a standby within lag.releaseStandbyVip',
    actions: ['releaseVipStandby'],
    when: (c) => peerIsStandby(c) && withinLag(c.obs.peer, lagLimits(c, 'releaseStandbyVip')),
    reason: (c) => `the peer is a healthy standby within lag.releaseStandbyVip (${describeLag(c.obs.peer)}): releasing VIP-S to it`,
  },
  {
    id: 'primary_standby.steady',
    from: BOTH_VIPS,
    to: 'same',
    guard: 'otherwise',
    actions: [],
    when: () => true,
    reason: (c) =>
      peerSeen(c)
        ? `the peer answers but is not a standby within lag.releaseStandbyVip (${describeDb(c.obs.peer)}; ${describeLag(c.obs.peer, lagLimits(c, 'releaseStandbyVip'))}): keeping both VIPs`
        : `the peer does not answer at ${c.cfg.peer.address} (${describeDb(c.obs.peer)}): keeping both VIPs`,
  },
]

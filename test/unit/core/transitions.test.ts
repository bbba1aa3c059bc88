/**
 * One test per transition row: the snapshot that selects it, and the exact reason, next role
 * and actions. A last test fails when a row is added without a case here.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import type {Config} from '../../../src/lib/config/schema.js'
import {decide} from '../../../src/lib/core/decide.js'
import {TRANSITIONS} from '../../../src/lib/core/transitions.js'
import {
  type ActionName,
  FRESH_MEMORY,
  type NodeMemory,
  type Observations,
  type Role,
  type SyncObservation,
} from '../../../src/lib/core/types.js'
import {
  bootObs,
  FREE,
  HERE,
  HUNG,
  local,
  NO_ROLE,
  primaryObs,
  REPLAYING,
  SILENT,
  standbyObs,
  STARTING_UP,
  STOPPED,
  survivorObs,
  testConfig,
  THERE,
  UNSURE,
  WRITABLE,
} from '../../helpers/ha-fixtures.js'

const NOW = 10_000_000
const CFG = testConfig()
const NO_FENCE = testConfig({fence: {agent: 'none', delay: '0s'}})
const ASYNC = testConfig({replication: {mode: 'async'}})
const BIND = testConfig({archive: {mode: 'bind', source: '/srv/archive'}})
const ARMED: SyncObservation = {armed: 'yes', standbyNames: '"node2"', peerState: 'streaming', pendingBytes: 0, stalledMs: 0}
const STALLED: SyncObservation = {...ARMED, pendingBytes: 8192, stalledMs: 2500}
const NO_WALSENDER: SyncObservation = {armed: 'yes', standbyNames: '"node2"', peerState: 'absent', stalledMs: 3000}

interface Case {
  rule: string
  role: Role
  obs: Observations
  cfg?: Config
  /** Merged over {role, since: NOW - 60 s} (startupDelay 45 s is over). */
  mem?: Partial<NodeMemory>
  next: Role | 'same'
  actions: ActionName[]
  reason: string
}

const started = {local: local(WRITABLE, 'primary')}
const deadPrimary = {viaVipPrimary: SILENT, vipPrimary: FREE, peer: SILENT}

const CASES: Case[] = [
  {
    rule: 'any.paused',
    role: 'primary',
    obs: primaryObs({paused: true}),
    next: 'same',
    actions: [],
    reason: 'paused (maintenance mode): observing only, taking no action',
  },
  {
    rule: 'any.switchover',
    role: 'standby',
    obs: standbyObs({switchover: true}),
    next: 'starting',
    actions: [],
    reason: 'a switchover is in progress: leaving the roles to pgha switchover; the role is re-derived from reality when it ends',
  },
  {
    rule: 'any.no-interface',
    role: 'primary',
    obs: primaryObs({interfaceMissing: true, gateway: 'unknown'}),
    next: 'same',
    actions: [],
    reason: 'network.interface eth0 does not exist on this host — fix network.interface (ip link lists the names); taking no action',
  },
  {
    rule: 'any.isolated',
    role: 'standby',
    obs: standbyObs({gateway: 'no', ...deadPrimary}),
    mem: {peerFailures: 2},
    next: 'same',
    actions: [],
    reason: 'gateway 192.0.2.1 does not answer ARP: this node may be isolated, taking no action',
  },
  {
    rule: 'starting.vip-conflict',
    role: 'starting',
    obs: bootObs('primary', {vipPrimary: {heldLocally: 'yes', answeredElsewhere: 'yes'}}),
    next: 'same',
    actions: [],
    reason:
      'VIP-M is on this host AND another host answers ARP for it: two holders, taking no action — remove it by hand from the host that should not be primary',
  },
  {
    rule: 'starting.resume-primary-standby',
    role: 'starting',
    obs: bootObs('primary', {...started, vipPrimary: HERE, vipStandby: HERE}),
    next: 'primary_standby',
    actions: [],
    reason: 'resuming as primary_standby: this host holds both VIPs and its database is writable',
  },
  {
    rule: 'starting.resume-primary',
    role: 'starting',
    obs: bootObs('primary', {...started, vipPrimary: HERE, vipStandby: THERE}),
    next: 'primary',
    actions: [],
    reason: 'resuming as primary: this host holds VIP-M and its database is writable',
  },
  {
    rule: 'starting.resume-standby',
    role: 'starting',
    obs: bootObs('standby', {local: local(REPLAYING, 'standby'), vipPrimary: THERE, vipStandby: HERE}),
    next: 'standby',
    actions: [],
    reason: 'resuming as standby: this host holds VIP-S and its database is replaying',
  },
  {
    rule: 'starting.start-standby-db',
    role: 'starting',
    obs: bootObs('standby'),
    next: 'same',
    actions: ['startDb'],
    reason: "the data directory is a standby's: starting it now (a standby always runs, and a starting primary can then see it)",
  },
  {
    rule: 'starting.delay',
    role: 'starting',
    obs: bootObs('primary'),
    mem: {since: NOW - 10_000},
    next: 'same',
    actions: [],
    reason:
      'VIP-M does not answer as a primary (heartbeat timed out (port unknown)): waiting startupDelay so a peer mid-promotion can finish (35s left)',
  },
  {
    rule: 'starting.mount-archive',
    role: 'starting',
    cfg: BIND,
    obs: bootObs('primary', {archive: 'not_mounted', vipPrimary: THERE, viaVipPrimary: WRITABLE}),
    next: 'same',
    actions: ['mountArchive'],
    reason: "mounting the peer's WAL archive (tried once per startup: a dead peer must not block the start)",
  },
  {
    rule: 'starting.rejoin',
    role: 'starting',
    cfg: BIND,
    obs: bootObs('primary', {archive: 'not_mounted', vipPrimary: THERE, viaVipPrimary: WRITABLE}),
    mem: {archiveMountTried: true},
    next: 'same',
    actions: ['stopDb', 'rejoin'],
    reason: 'another host holds VIP-M and its database is writable: rebuilding this node as its standby (rejoin)',
  },
  {
    rule: 'starting.vipm-taken',
    role: 'starting',
    obs: bootObs('primary', {vipPrimary: THERE, viaVipPrimary: HUNG}),
    next: 'same',
    actions: [],
    reason:
      'another host answers ARP for VIP-M but no writable primary answers there (heartbeat timed out (port open)): not starting as primary, and nothing to rejoin yet',
  },
  {
    rule: 'starting.start-primary-db',
    role: 'starting',
    obs: bootObs('primary', {peer: REPLAYING}),
    next: 'same',
    actions: ['startDb'],
    reason: 'VIP-M is free: starting the local database first (no VIP yet), so a peer starting at the same time can see it',
  },
  {
    rule: 'starting.primary-tie',
    role: 'starting',
    cfg: testConfig({node: {name: 'node3'}}),
    obs: bootObs('primary', {...started, peer: WRITABLE}),
    next: 'same',
    actions: [],
    reason:
      'both databases are writable and neither holds VIP-M: leaving VIP-M to node2 (the lower node name wins a tie); this node will rejoin as its standby — check which side has the newer data',
  },
  {
    rule: 'starting.primary',
    role: 'starting',
    obs: bootObs('primary', {...started, vipStandby: THERE, peer: REPLAYING}),
    next: 'primary',
    actions: ['startDb', 'claimVipPrimary', 'writeHeartbeat'],
    reason: 'VIP-M is free and the peer answers (answers as a standby): starting as primary, leaving VIP-S to the peer',
  },
  {
    rule: 'starting.primary-standby',
    role: 'starting',
    obs: bootObs('primary', {...started, peer: WRITABLE}),
    next: 'primary_standby',
    actions: ['startDb', 'claimVipPrimary', 'claimVipStandby', 'writeHeartbeat'],
    reason: 'both VIPs are free and the peer answers but is not a standby (answers as a primary): starting as primary_standby',
  },
  {
    rule: 'starting.fence-then-primary.no-fence',
    role: 'starting',
    cfg: NO_FENCE,
    obs: bootObs('primary', started),
    next: 'same',
    actions: [],
    reason:
      'starting as primary while the peer does not answer needs a fence, but fence.agent is none and fence.allowUnfencedPromotion is false: taking no action — make sure the peer is down, then act by hand',
  },
  {
    rule: 'starting.fence-then-primary',
    role: 'starting',
    obs: bootObs('primary', started),
    next: 'primary_standby',
    actions: ['fencePeer', 'startDb', 'degradeSync', 'claimVipPrimary', 'claimVipStandby', 'writeHeartbeat'],
    reason:
      'VIP-M is free but the peer does not answer at 192.0.2.12 (heartbeat timed out (port unknown)): fencing it (attempt 1, up to 2 tries this tick) before starting as primary_standby, since it may be alive behind a partition',
  },
  {
    rule: 'starting.primary-peer-not-ready',
    role: 'starting',
    obs: bootObs('primary', {...started, vipStandby: THERE, peer: NO_ROLE}),
    next: 'primary',
    actions: ['startDb', 'claimVipPrimary', 'writeHeartbeat'],
    reason:
      'VIP-M is free and the peer at 192.0.2.12 is alive but not ready, it rejects the heartbeat: role "pgha" does not exist (28000): it is alive, so not fencing it; starting as primary, leaving VIP-S to it (waiting up to timing.peerStartTimeout 5m for it to become a standby)',
  },
  {
    rule: 'starting.vipm-unknown',
    role: 'starting',
    obs: bootObs('primary', {vipPrimary: UNSURE}),
    next: 'same',
    actions: [],
    reason: 'cannot tell whether VIP-M is free (unknown (probe timed out)): not starting as primary yet',
  },
  {
    rule: 'starting.standby',
    role: 'starting',
    obs: bootObs('standby', {local: local(REPLAYING, 'standby'), vipPrimary: THERE, viaVipPrimary: WRITABLE}),
    next: 'standby',
    actions: ['startDb', 'claimVipStandby'],
    reason: "the data directory is a standby's and VIP-S is free: starting as standby",
  },
  {
    rule: 'starting.standby-wait-vips',
    role: 'starting',
    obs: bootObs('standby', {local: local(REPLAYING, 'standby'), vipStandby: THERE}),
    next: 'same',
    actions: ['startDb'],
    reason: 'waiting for VIP-S to be free (it is on another host); the standby database runs meanwhile',
  },
  {
    rule: 'starting.missing',
    role: 'starting',
    obs: bootObs('missing'),
    next: 'same',
    actions: [],
    reason:
      'the data directory /var/lib/postgresql/15/main holds no cluster and no writable primary answers through VIP-M to rebuild from: waiting',
  },
  {
    rule: 'starting.unknown',
    role: 'starting',
    obs: bootObs('unknown'),
    next: 'same',
    actions: [],
    reason: 'cannot read the data directory state: waiting',
  },
  {
    rule: 'standby.promoted-conflict',
    role: 'standby',
    obs: standbyObs({local: local(WRITABLE, 'primary')}),
    next: 'starting',
    actions: ['stopDb'],
    reason:
      'the local database is writable but another host holds VIP-M with a writable database: stopping it; it will rejoin as a standby',
  },
  {
    rule: 'standby.promoted-claim.no-fence',
    role: 'standby',
    cfg: NO_FENCE,
    obs: standbyObs({local: local(WRITABLE, 'primary'), ...deadPrimary}),
    next: 'same',
    actions: [],
    reason:
      'finishing a half-done failover needs a fence, but fence.agent is none and fence.allowUnfencedPromotion is false: taking no action — make sure the peer is down, then act by hand',
  },
  {
    rule: 'standby.promoted-claim',
    role: 'standby',
    obs: standbyObs({local: local(WRITABLE, 'primary'), ...deadPrimary}),
    next: 'primary_standby',
    actions: ['fencePeer', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'],
    reason:
      'the local database is already promoted (a failover stopped half-way): fencing the peer again, starting degraded (no synchronous standby while it is fenced), then claiming VIP-M',
  },
  {
    rule: 'standby.restart-db',
    role: 'standby',
    obs: standbyObs({local: local(STOPPED, 'standby')}),
    next: 'same',
    actions: ['startDb'],
    reason: 'the standby database is not running: starting it (a standby always runs)',
  },
  {
    rule: 'any.stand-down',
    role: 'standby',
    obs: standbyObs({local: local(HUNG, 'standby')}),
    mem: {peerFailures: 1},
    next: 'same',
    actions: [],
    reason:
      'the local database heartbeat timed out (port open) while the peer answers through VIP-M: standing down, taking no action until it recovers',
  },
  {
    rule: 'any.local-and-peer-down',
    role: 'primary',
    obs: primaryObs({local: local(HUNG, 'primary'), viaVipStandby: SILENT}),
    next: 'same',
    actions: [],
    reason:
      'the local database heartbeat timed out (port open) and the peer does not answer through VIP-S either (heartbeat timed out (port unknown)): taking no action',
  },
  {
    rule: 'standby.holds-vipm',
    role: 'standby',
    obs: standbyObs({vipPrimary: HERE, viaVipPrimary: REPLAYING}),
    next: 'same',
    actions: ['releaseVipPrimary'],
    reason: 'this standby holds VIP-M: releasing it (VIP-M belongs to the primary)',
  },
  {
    rule: 'standby.claim-vips',
    role: 'standby',
    obs: standbyObs({vipStandby: FREE}),
    next: 'same',
    actions: ['claimVipStandby'],
    reason: 'VIP-S is missing here and free: claiming it',
  },
  {
    rule: 'standby.vips-missing',
    role: 'standby',
    obs: standbyObs({vipStandby: THERE}),
    next: 'same',
    actions: [],
    reason: 'VIP-S is not on this host (it is on another host): skipping this round',
  },
  {
    rule: 'standby.steady',
    role: 'standby',
    obs: standbyObs(),
    mem: {peerFailures: 2},
    next: 'same',
    actions: [],
    reason: "the primary answers through VIP-M; this standby's heartbeat 500ms old, 4kB behind",
  },
  {
    rule: 'standby.primary-not-ready',
    role: 'standby',
    obs: standbyObs({viaVipPrimary: SILENT, vipPrimary: FREE, peer: STARTING_UP}),
    mem: {peerFailures: 1, peerNotReadySince: NOW - 60_000},
    next: 'same',
    actions: [],
    reason:
      'the primary is alive but not ready, not yet accepting connections: the database system is starting up (57P03): it is alive, not counting it as failed; waiting for it to become ready (4m of timing.peerStartTimeout 5m left)',
  },
  {
    rule: 'standby.primary-unseen',
    role: 'standby',
    obs: standbyObs({viaVipPrimary: SILENT, vipPrimary: FREE, peer: SILENT}),
    mem: {since: NOW - 10_000},
    next: 'same',
    actions: [],
    reason:
      'the primary does not answer through VIP-M (heartbeat timed out (port unknown)) and has not since this node became standby: a primary starting at the same time waits timing.startupDelay before it claims VIP-M, so not counting it as failed (35s left)',
  },
  {
    rule: 'standby.primary-starting',
    role: 'standby',
    obs: standbyObs({viaVipPrimary: SILENT, vipPrimary: FREE, peer: WRITABLE}),
    mem: {peerFailures: 1},
    next: 'same',
    actions: [],
    reason:
      'the primary answers as writable at its own address 192.0.2.12 but not through VIP-M (VIP-M is free): waiting for it to claim VIP-M, not counting it as failed',
  },
  {
    rule: 'standby.stale',
    role: 'standby',
    obs: standbyObs({...deadPrimary, local: local({...REPLAYING, heartbeatAgeMs: 700_000}, 'standby')}),
    next: 'same',
    actions: [],
    reason:
      'the primary does not answer through VIP-M (heartbeat timed out (port unknown)) but this standby is too stale to promote (heartbeat 700s old, 4kB behind; limits 10m, 160MB): taking no action',
  },
  {
    rule: 'standby.suspect',
    role: 'standby',
    obs: standbyObs({viaVipPrimary: HUNG}),
    next: 'same',
    actions: [],
    reason: 'the primary does not answer through VIP-M (heartbeat timed out (port open); VIP-M is on another host): check 1 of 3',
  },
  {
    rule: 'standby.fence-wait',
    role: 'standby',
    obs: standbyObs(deadPrimary),
    mem: {peerFailures: 2},
    next: 'same',
    actions: [],
    reason: 'the primary failed 3 checks in a row: waiting fence.delay 2s (2s left) so a primary fencing this node at the same moment wins',
  },
  {
    rule: 'standby.failover.no-fence',
    role: 'standby',
    cfg: NO_FENCE,
    obs: standbyObs(deadPrimary),
    mem: {peerFailures: 5},
    next: 'same',
    actions: [],
    reason:
      'promoting this standby needs a fence, but fence.agent is none and fence.allowUnfencedPromotion is false: taking no action — make sure the peer is down, then act by hand',
  },
  {
    rule: 'standby.failover',
    role: 'standby',
    obs: standbyObs(deadPrimary),
    mem: {peerFailures: 3, peerDeadSince: NOW - 2000},
    next: 'primary_standby',
    actions: ['fencePeer', 'promote', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'],
    reason:
      'the primary failed 4 checks in a row (heartbeat timed out (port unknown)): fencing it (attempt 1, up to 2 tries this tick), then promoting and claiming VIP-M; possible data loss: up to 4kB / 500ms of commits (the last heartbeat row says the primary was not synchronous)',
  },
  {
    rule: 'primary.demote',
    role: 'primary',
    obs: primaryObs({vipPrimary: THERE}),
    next: 'starting',
    actions: ['stopDb'],
    reason: 'another host holds VIP-M with a writable database: this old primary stops its database and will rejoin as a standby',
  },
  {
    rule: 'primary.vipm-conflict',
    role: 'primary_standby',
    obs: survivorObs({vipPrimary: {heldLocally: 'yes', answeredElsewhere: 'yes'}}),
    next: 'same',
    actions: [],
    reason:
      'VIP-M is on this host AND another host answers ARP for it: taking no action — remove it by hand from the host that should not be primary',
  },
  {
    rule: 'primary.reclaim-vipm',
    role: 'primary',
    obs: primaryObs({vipPrimary: FREE, viaVipPrimary: SILENT}),
    next: 'same',
    actions: ['claimVipPrimary'],
    reason: 'VIP-M is missing from this primary and nobody answers ARP for it: claiming it back',
  },
  {
    rule: 'primary.vipm-missing',
    role: 'primary',
    obs: primaryObs({vipPrimary: UNSURE, viaVipPrimary: SILENT}),
    next: 'same',
    actions: [],
    reason: 'VIP-M is not on this primary (it is unknown (probe timed out)): skipping this round',
  },
  {
    rule: 'primary.holds-vips',
    role: 'primary',
    obs: primaryObs({vipStandby: HERE}),
    next: 'primary_standby',
    actions: [],
    reason: 'this primary also holds VIP-S: it is primary_standby',
  },
  {
    rule: 'primary.yield',
    role: 'primary',
    cfg: testConfig({node: {canPrimary: false}}),
    obs: primaryObs(),
    next: 'starting',
    actions: ['stopDb', 'releaseVipPrimary'],
    reason:
      'node.canPrimary is false and the standby is within lag.yield (heartbeat 500ms old, 4kB behind): stopping the database and releasing VIP-M so it takes over',
  },
  {
    rule: 'primary.steady',
    role: 'primary',
    obs: primaryObs(),
    next: 'same',
    actions: [],
    reason: 'the standby answers through VIP-S (heartbeat 500ms old, 4kB behind)',
  },
  {
    rule: 'primary.standby-claiming',
    role: 'primary',
    obs: primaryObs({vipStandby: FREE, viaVipStandby: SILENT}),
    next: 'same',
    actions: [],
    reason: 'the standby answers at its own address but has not claimed VIP-S yet: not counting it as failed',
  },
  {
    rule: 'primary.standby-not-ready',
    role: 'primary',
    obs: primaryObs({viaVipStandby: STARTING_UP, peer: STARTING_UP}),
    mem: {peerNotReadySince: NOW - 60_000},
    next: 'same',
    actions: [],
    reason:
      'the standby is alive but not ready, not yet accepting connections: the database system is starting up (57P03): not counting it as failed; waiting for it to become a standby (4m of timing.peerStartTimeout 5m left)',
  },
  {
    rule: 'primary.suspect',
    role: 'primary',
    obs: primaryObs({vipStandby: FREE, viaVipStandby: SILENT, peer: SILENT}),
    next: 'same',
    actions: [],
    reason: 'the standby does not answer through VIP-S (heartbeat timed out (port unknown); VIP-S is free): check 1 of 3',
  },
  {
    rule: 'primary.suspect',
    role: 'primary',
    obs: primaryObs({viaVipStandby: NO_ROLE, peer: NO_ROLE}),
    mem: {peerNotReadySince: NOW - 300_000},
    next: 'same',
    actions: [],
    reason:
      'the standby does not answer through VIP-S (alive but not ready, it rejects the heartbeat: role "pgha" does not exist (28000); VIP-S is on another host); it has been alive but not ready for 5m, past timing.peerStartTimeout 5m: counting it as failed: check 1 of 3',
  },
  {
    rule: 'primary.fence-standby',
    role: 'primary',
    obs: primaryObs({vipStandby: FREE, viaVipStandby: SILENT, peer: STARTING_UP}),
    mem: {peerFailures: 2, peerNotReadySince: NOW - 301_400},
    next: 'primary_standby',
    actions: ['fencePeer', 'degradeSync', 'claimVipStandby'],
    reason:
      'the standby failed 3 checks in a row (heartbeat timed out (port unknown)); it has been alive but not ready for 301s, past timing.peerStartTimeout 5m (alive but not ready, not yet accepting connections: the database system is starting up (57P03)): counting it as failed: fencing it (attempt 1, up to 2 tries this tick), then degrading to asynchronous and claiming VIP-S; commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)',
  },
  {
    rule: 'primary.fence-standby.no-fence',
    role: 'primary',
    cfg: NO_FENCE,
    obs: primaryObs({vipStandby: FREE, viaVipStandby: SILENT, peer: SILENT}),
    mem: {peerFailures: 2},
    next: 'same',
    actions: [],
    reason:
      'taking VIP-S from the dead standby needs a fence, but fence.agent is none and fence.allowUnfencedPromotion is false: taking no action — make sure the peer is down, then act by hand; commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)',
  },
  {
    rule: 'primary.fence-standby',
    role: 'primary',
    obs: primaryObs({viaVipStandby: HUNG}),
    mem: {peerFailures: 2, fenceAttempts: 1},
    next: 'primary_standby',
    actions: ['fencePeer', 'degradeSync', 'claimVipStandby'],
    reason:
      'the standby failed 3 checks in a row (heartbeat timed out (port open)): fencing it (attempt 2, up to 2 tries this tick), then degrading to asynchronous and claiming VIP-S; commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)',
  },
  // synchronous replication (replication.mode sync, the default)
  {
    rule: 'primary.sync-connect-wait',
    role: 'primary',
    obs: primaryObs({sync: NO_WALSENDER}),
    mem: {since: NOW - 3000},
    next: 'same',
    actions: [],
    reason:
      'commits are waiting: node2 answers but has no replication connection yet (this node took its role 3s ago; the standby reconnects through VIP-M): not counting it as stalled for 7s more of replication.connectTimeout 10s',
  },
  {
    rule: 'primary.sync-stalled.no-fence',
    role: 'primary',
    cfg: NO_FENCE,
    obs: primaryObs({sync: STALLED}),
    next: 'same',
    actions: [],
    reason:
      'stopping the wait for the stalled synchronous standby needs a fence, but fence.agent is none and fence.allowUnfencedPromotion is false: taking no action — make sure the peer is down, then act by hand; commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)',
  },
  {
    rule: 'primary.sync-stalled',
    role: 'primary',
    obs: primaryObs({sync: STALLED}),
    next: 'primary_standby',
    actions: ['fencePeer', 'degradeSync', 'claimVipStandby'],
    reason:
      'commits are waiting: node2 (streaming) confirmed no WAL while 8kB were pending for 2500ms (replication.stallTimeout 2s): treating it as failed — fencing it (attempt 1, up to 2 tries this tick), then degrading to asynchronous and claiming VIP-S; commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)',
  },
  {
    rule: 'primary_standby.sync-stalled.no-fence',
    role: 'primary_standby',
    cfg: NO_FENCE,
    obs: survivorObs({sync: NO_WALSENDER}),
    next: 'same',
    actions: [],
    reason:
      'stopping the wait for the stalled synchronous standby needs a fence, but fence.agent is none and fence.allowUnfencedPromotion is false: taking no action — make sure the peer is down, then act by hand; commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)',
  },
  {
    rule: 'primary_standby.sync-stalled',
    role: 'primary_standby',
    obs: survivorObs({sync: NO_WALSENDER}),
    next: 'same',
    actions: ['fencePeer', 'degradeSync'],
    reason:
      'commits are waiting: node2 has no replication connection for 3s (replication.stallTimeout 2s): treating it as failed — fencing it (attempt 1, up to 2 tries this tick), then degrading to asynchronous; commits wait for the standby until it is fenced; if you know it is down, `pgha degrade --yes` releases them (risk: commits acknowledged after that exist only on this host)',
  },
  {
    rule: 'primary.async-disarm',
    role: 'primary',
    cfg: ASYNC,
    obs: primaryObs({sync: ARMED}),
    next: 'same',
    actions: ['disarmSync'],
    reason:
      'replication.mode is async but synchronous_standby_names still names node2 ("node2"): clearing it, commits no longer wait for the standby',
  },
  {
    rule: 'primary.arm-sync',
    role: 'primary',
    obs: primaryObs({sync: {...ARMED, armed: 'no', standbyNames: '', pendingBytes: 512}}),
    next: 'same',
    actions: ['armSync'],
    reason: 'node2 streams and has caught up (512 bytes pending): re-arming synchronous replication, commits wait for it again',
  },
  {
    rule: 'primary_standby.vips-taken',
    role: 'primary_standby',
    obs: survivorObs({vipStandby: THERE}),
    next: 'primary',
    actions: [],
    reason: 'VIP-S is now held by another host: continuing as primary',
  },
  {
    rule: 'primary_standby.reclaim-vips',
    role: 'primary_standby',
    obs: survivorObs({vipStandby: FREE}),
    next: 'same',
    actions: ['claimVipStandby'],
    reason: 'VIP-S is missing here and free: claiming it back',
  },
  {
    rule: 'primary_standby.vips-missing',
    role: 'primary_standby',
    obs: survivorObs({vipStandby: UNSURE}),
    next: 'same',
    actions: [],
    reason: 'VIP-S is not on this host (it is unknown (probe timed out)): skipping this round',
  },
  {
    rule: 'primary_standby.failback',
    role: 'primary_standby',
    obs: survivorObs({peer: REPLAYING}),
    next: 'primary',
    actions: ['releaseVipStandby'],
    reason: 'the peer is a healthy standby within lag.releaseStandbyVip (heartbeat 500ms old, 4kB behind): releasing VIP-S to it',
  },
  {
    rule: 'primary_standby.steady',
    role: 'primary_standby',
    obs: survivorObs(),
    next: 'same',
    actions: [],
    reason: 'the peer does not answer at 192.0.2.12 (heartbeat timed out (port unknown)): keeping both VIPs',
  },
]

const memFor = (c: {role: Role; mem?: Partial<NodeMemory>}): NodeMemory => ({...FRESH_MEMORY, role: c.role, since: NOW - 60_000, ...c.mem})

for (const c of CASES) {
  test(`row ${c.rule}`, () => {
    const d = decide(c.role, c.obs, c.cfg ?? CFG, NOW, memFor(c))
    assert.equal(d.rule, c.rule)
    assert.equal(d.reason, c.reason)
    assert.equal(d.next, c.next === 'same' ? c.role : c.next)
    assert.deepEqual(d.actions, c.actions)
    assert.equal(d.fenceTries, c.actions.includes('fencePeer') ? 2 : undefined)
  })
}

test('every row of the table has a case above (add one when you add a row)', () => {
  const covered = new Set(CASES.map((c) => c.rule))
  const missing = TRANSITIONS.map((r) => r.id).filter((id) => !covered.has(id))
  assert.deepEqual(missing, [], `rows without a test case: ${missing.join(', ')}`)
  const unknown = [...covered].filter((id) => !TRANSITIONS.some((r) => r.id === id))
  assert.deepEqual(unknown, [], `cases for rows that do not exist: ${unknown.join(', ')}`)
  assert.equal(new Set(TRANSITIONS.map((r) => r.id)).size, TRANSITIONS.length, 'row ids are unique')
})

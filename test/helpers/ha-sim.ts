/**
 * A simulated two-host world for the watch loop's property test: hosts with power, link,
 * a PostgreSQL server, VIPs and a BMC; a gateway; the link between the hosts. Each step
 * both hosts observe the world, run decide(), and the world executes their actions the way
 * the real steps would (claimVip refuses when another host answers ARP, fencePeer powers
 * the peer off if its BMC works, ...). Invariants are checked after every action.
 * Synchronous replication is modelled with one client committing through VIP-M every tick:
 * commits carry increasing ids; an armed primary acknowledges one only once its standby has it
 * (else it waits), a degraded one at once. The standby's replicated heartbeat row says whom the
 * primary was synchronous with. Checked: no degrade that releases waiting commits while the
 * standby is powered on, and no "zero data loss" promotion while an acknowledged commit is missing.
 */
import {decide} from '../../src/lib/core/decide.js'
import {
  type ActionName,
  type Decision,
  type DbProbe,
  FRESH_MEMORY,
  type NodeMemory,
  type Observations,
  type Role,
  type TickOutcome,
} from '../../src/lib/core/types.js'
import {type Config, configSchema} from '../../src/lib/config/schema.js'

const configSchemaParse = (raw: unknown): Config => configSchema.parse(raw)

export type Vip = 'M' | 'S'
export interface Host {
  cfg: Config
  powered: boolean
  linkUp: boolean
  /** Fencing THIS host fails (its BMC is broken). */
  fenceBroken: boolean
  paused: boolean
  /** ARP probes for the VIPs time out on this host (the gateway still answers). */
  flaky: boolean
  db: {
    dataDir: 'primary' | 'standby'
    running: boolean
    inRecovery: boolean
    hung: boolean
    crashed: boolean
    replicatedAt: number
    stale: boolean
    /** synchronous_standby_names names the peer (kept in the host's own config files, across rejoin). */
    syncArmed: boolean
    /** Highest commit id this server holds durably. */
    lsn: number
    /** The replicated heartbeat row's sync_with (on a standby). */
    syncWith: string | null
    /** A client commit waiting for the synchronous standby (its id). */
    waiting?: number
    /** When an armed primary's standby stopped confirming (stall clock). */
    stalledSince?: number
    /** The server answers the heartbeat with an error: 57P03 ('starting') or a role it has not replayed yet ('rejected'). */
    notReady?: 'starting' | 'rejected'
    notReadySince?: number
  }
  vips: Record<Vip, boolean>
  archiveMounted: boolean
  role: Role
  memory: NodeMemory
  previous?: TickOutcome
  offByFence: boolean
  /** When this host's watch started (power-on): replicated rows before it prove nothing. */
  watchStartedAt: number
}

export interface World {
  now: number
  hosts: [Host, Host]
  gatewayUp: boolean
  partition: boolean
  /**
   * Check that the hosts never fence each other. fence.delay guarantees it for a partition
   * that starts from steady state; the property tests only ask for it there.
   */
  checkMutualFencing: boolean
  /** Every action executed, for the counterexample report. */
  trace: string[]
  /** Commit ids handed out so far. */
  commitSeq?: number
  /** Highest commit acknowledged to the client on the current history. */
  lastAcked?: number
  /** Acknowledged commits lost by promotions that did not claim zero loss (a figure, not a failure). */
  lost?: number
}

export class InvariantError extends Error {}

export function newHost(cfg: Config, dataDir: 'primary' | 'standby', now: number): Host {
  return {
    cfg,
    powered: true,
    linkUp: true,
    fenceBroken: false,
    paused: false,
    flaky: false,
    db: {
      dataDir,
      running: false,
      inRecovery: dataDir === 'standby',
      hung: false,
      crashed: false,
      replicatedAt: now,
      stale: false,
      syncArmed: false,
      lsn: 0,
      syncWith: null,
    },
    vips: {M: false, S: false},
    archiveMounted: false,
    role: 'starting',
    memory: {...FRESH_MEMORY},
    offByFence: false,
    watchStartedAt: now,
  }
}

const peerOf = (w: World, h: Host) => (w.hosts[0] === h ? w.hosts[1] : w.hosts[0])
export const canReach = (w: World, a: Host, b: Host) => a.powered && b.powered && a.linkUp && b.linkUp && !w.partition
export const seesGateway = (w: World, h: Host) => h.powered && h.linkUp && w.gatewayUp
const writable = (h: Host) => h.powered && h.db.running && !h.db.inRecovery
const TIMEOUT: DbProbe = {port: 'unknown', heartbeat: 'timeout', inRecovery: 'unknown'}

function probeDb(w: World, from: Host, target: Host | undefined): DbProbe {
  if (!target || (target !== from && !canReach(w, from, target))) return TIMEOUT
  const db = target.db
  if (!db.running) return {port: 'no', heartbeat: 'failed', inRecovery: 'unknown'}
  if (db.hung) return {port: 'yes', heartbeat: 'timeout', inRecovery: 'unknown'}
  if (db.notReady)
    return {
      port: 'yes',
      heartbeat: db.notReady,
      inRecovery: 'unknown',
      answer: db.notReady === 'starting' ? 'the database system is starting up (57P03)' : 'role "pgha" does not exist (28000)',
    }
  if (!db.inRecovery) return {port: 'yes', heartbeat: 'ok', inRecovery: 'no'}
  return {
    port: 'yes',
    heartbeat: 'ok',
    inRecovery: 'yes',
    heartbeatAgeMs: w.now - db.replicatedAt,
    lagBytes: db.stale ? 1e12 : 4096,
    syncWith: db.syncWith,
  }
}

/** The standby `s` receives WAL from primary `p` right now. */
const streamsFrom = (w: World, s: Host, p: Host) =>
  s.powered &&
  s.db.running &&
  s.db.inRecovery &&
  !s.db.hung &&
  !s.db.stale &&
  canReach(w, s, p) &&
  writable(p) &&
  !p.db.hung &&
  !p.db.notReady

function syncObs(w: World, h: Host): Observations['sync'] {
  if (!writable(h) || h.db.hung) return undefined
  const p = peerOf(w, h)
  const streaming = streamsFrom(w, p, h)
  if (!h.db.syncArmed || streaming) h.db.stalledSince = undefined
  else h.db.stalledSince ??= w.now
  return {
    armed: h.db.syncArmed ? 'yes' : 'no',
    standbyNames: h.db.syncArmed ? `"${h.cfg.peer.name}"` : '',
    peerState: streaming ? 'streaming' : canReach(w, h, p) && p.db.running && p.db.inRecovery && !p.db.hung ? 'catchup' : 'absent',
    ...(streaming ? {pendingBytes: 0} : {}),
    stalledMs: h.db.stalledSince === undefined ? 0 : w.now - h.db.stalledSince,
  }
}

function holder(w: World, from: Host, vip: Vip): Host | undefined {
  if (from.vips[vip]) return from
  const p = peerOf(w, from)
  return p.vips[vip] && canReach(w, from, p) ? p : undefined
}

export function observe(w: World, h: Host): Observations {
  const p = peerOf(w, h)
  const arp = (vip: Vip) => (h.flaky ? 'unknown' : canReach(w, h, p) && p.vips[vip] ? 'yes' : 'no') as 'yes' | 'no' | 'unknown'
  return {
    gateway: seesGateway(w, h) ? 'yes' : 'no',
    paused: h.paused,
    switchover: false,
    local: {...probeDb(w, h, h), running: h.db.running ? 'yes' : 'no', dataDir: h.db.dataDir},
    vipPrimary: {heldLocally: h.vips.M ? 'yes' : 'no', answeredElsewhere: arp('M')},
    vipStandby: {heldLocally: h.vips.S ? 'yes' : 'no', answeredElsewhere: arp('S')},
    viaVipPrimary: probeDb(w, h, holder(w, h, 'M')),
    viaVipStandby: probeDb(w, h, holder(w, h, 'S')),
    peer: probeDb(w, h, p),
    archive: h.cfg.archive.mode === 'none' ? 'not_configured' : h.archiveMounted ? 'mounted' : 'not_mounted',
    sync: syncObs(w, h),
    watchStartedAt: h.watchStartedAt,
  }
}

export function powerOff(h: Host, byFence: boolean): void {
  if (!h.powered) return
  h.powered = false
  h.offByFence = byFence
  h.db = {...h.db, running: false, hung: false, crashed: false, waiting: undefined, stalledSince: undefined}
  h.vips = {M: false, S: false}
  h.archiveMounted = false
}

export function powerOn(h: Host): void {
  if (h.powered) return
  h.powered = true
  h.offByFence = false
  h.watchStartedAt = Number.MAX_SAFE_INTEGER // set on the first tick (the world's clock is not here)
  h.role = 'starting'
  h.memory = {...FRESH_MEMORY}
  h.previous = undefined
}

/** Execute one action the way the real step would; returns an error line or undefined. */
function execute(w: World, h: Host, a: ActionName, fencedThisTick: boolean, d: Decision): string | undefined {
  const p = peerOf(w, h)
  const db = h.db
  switch (a) {
    case 'mountArchive':
      if (!canReach(w, h, p)) return 'peer unreachable'
      h.archiveMounted = true
      return
    case 'startDb':
      if (!db.running) h.db = {...db, running: true, inRecovery: db.dataDir === 'standby', hung: false, crashed: false, notReady: undefined}
      return
    case 'stopDb':
      db.running = false
      db.hung = false
      return
    case 'claimVipPrimary':
    case 'claimVipStandby': {
      const vip: Vip = a === 'claimVipPrimary' ? 'M' : 'S'
      if (h.vips[vip]) return
      if (h.flaky) return 'cannot tell whether it is free'
      if (canReach(w, h, p) && p.vips[vip]) return 'another host answers ARP for it'
      h.vips[vip] = true
      return
    }
    case 'releaseVipPrimary':
      h.vips.M = false
      return
    case 'releaseVipStandby':
      h.vips.S = false
      return
    case 'fencePeer':
      if (!h.linkUp || p.fenceBroken) return 'BMC does not answer'
      powerOff(p, true)
      return
    case 'promote':
      if (!fencedThisTick && !(h.cfg.fence.agent === 'none' && h.cfg.fence.allowUnfencedPromotion)) {
        throw new InvariantError(`${h.cfg.node.name} promoted without a successful fence just before`)
      }
      if (!db.running || db.hung) return 'server not running'
      if (db.inRecovery && (db.stale || w.now - db.replicatedAt > h.cfg.lag.promote.maxAge)) {
        throw new InvariantError(`${h.cfg.node.name} promoted a standby beyond lag.promote`)
      }
      // Zero loss may be claimed only if this standby holds every acknowledged commit.
      if (/zero data loss/.test(d.reason) && db.lsn < (w.lastAcked ?? 0)) {
        throw new InvariantError(
          `${h.cfg.node.name} claimed zero data loss but lacks acknowledged commit ${w.lastAcked} (it has ${db.lsn})`,
        )
      }
      w.lost = (w.lost ?? 0) + Math.max(0, (w.lastAcked ?? 0) - db.lsn)
      w.lastAcked = Math.min(w.lastAcked ?? 0, db.lsn) // the new history
      db.inRecovery = false
      db.dataDir = 'primary'
      return
    case 'rejoin':
      if (!(canReach(w, h, p) && writable(p) && !p.db.hung && !p.db.notReady)) return 'no primary to rebuild from'
      // The host's own config files (synchronous_standby_names included) survive a rejoin.
      h.db = {
        dataDir: 'standby',
        running: false,
        inRecovery: true,
        hung: false,
        crashed: false,
        replicatedAt: w.now,
        stale: false,
        syncArmed: db.syncArmed,
        lsn: p.db.lsn,
        syncWith: null,
      }
      return
    case 'armSync':
      if (!writable(h) || db.hung) return 'database not writable'
      db.syncArmed = true
      return
    case 'disarmSync':
      if (h.cfg.replication.mode !== 'async')
        throw new InvariantError(`${h.cfg.node.name} disarmed sync replication in sync mode (${d.rule})`)
      if (!db.running || db.hung) return 'server not running'
      db.syncArmed = false
      return
    case 'degradeSync':
      if (!db.running || db.hung) return 'server not running'
      if (!db.syncArmed) return
      // The real step refuses without a proof; the plan must never need that refusal.
      if (p.powered && !(d.memory.role === 'standby' || d.actions.includes('promote'))) {
        throw new InvariantError(`${h.cfg.node.name} degraded synchronous replication while ${p.cfg.node.name} is powered on (${d.rule})`)
      }
      db.syncArmed = false
      if (db.waiting !== undefined) w.lastAcked = Math.max(w.lastAcked ?? 0, db.waiting)
      db.waiting = undefined
      return
    case 'writeHeartbeat':
      return writable(h) && !db.hung ? undefined : 'database not writable'
  }
}

export function checkInvariants(w: World): void {
  const primaries = w.hosts.filter((h) => writable(h) && h.vips.M)
  if (primaries.length > 1) throw new InvariantError('two hosts are writable and hold VIP-M')
  if (w.checkMutualFencing && w.hosts.every((h) => !h.powered && h.offByFence))
    throw new InvariantError('the hosts fenced each other: both are off')
}

/**
 * A starting node or a primary never fences a peer it can reach whose PostgreSQL answers but
 * is not ready, before timing.peerStartTimeout has passed since it began answering so.
 */
function checkFenceOfLivePeer(w: World, h: Host, d: Decision): void {
  const p = peerOf(w, h)
  if (!d.rule.startsWith('starting.') && !d.rule.startsWith('primary.')) return
  if (!(p.powered && p.db.running && !p.db.hung && p.db.notReady && canReach(w, h, p))) return // a hung server answers nothing: silent
  if (w.now - (p.db.notReadySince ?? w.now) < h.cfg.timing.peerStartTimeout) {
    throw new InvariantError(
      `${h.cfg.node.name} fences ${p.cfg.node.name} (${d.rule}) whose PostgreSQL answers (${p.db.notReady}) before timing.peerStartTimeout`,
    )
  }
}

/** Checks on a decision before it runs. */
function checkDecision(w: World, h: Host, obs: Observations, d: Decision): void {
  const name = h.cfg.node.name
  if (d.actions.length > 0 && (!seesGateway(w, h) || obs.gateway !== 'yes'))
    throw new InvariantError(`${name} acts (${d.rule}) while its gateway is unreachable`)
  if (d.actions.length > 0 && obs.paused) throw new InvariantError(`${name} acts (${d.rule}) while paused`)
  const claim = d.actions.indexOf('claimVipPrimary')
  if (claim >= 0 && obs.vipPrimary.answeredElsewhere === 'yes' && !d.actions.slice(0, claim).includes('fencePeer')) {
    throw new InvariantError(`${name} plans to claim VIP-M while another host answers ARP for it (${d.rule})`)
  }
}

/** One tick of both hosts: both observe and decide first (concurrently), then act in `order`. */
export function step(w: World, order: [number, number]): void {
  const planned = w.hosts.map((h) => {
    if (!h.powered) return undefined
    const obs = observe(w, h)
    const d = decide(h.role, obs, h.cfg, w.now, h.memory, h.previous)
    checkDecision(w, h, obs, d)
    return d
  })
  for (const i of order) {
    const h = w.hosts[i]
    const d = planned[i]
    if (!d) continue
    if (!h.powered) {
      // Fenced by the peer during this tick: a fence command already sent still lands.
      if (d.actions[0] === 'fencePeer' && h.linkUp && !peerOf(w, h).fenceBroken) powerOff(peerOf(w, h), true)
      checkInvariants(w)
      continue
    }
    const done: ActionName[] = []
    let failed: TickOutcome['failed']
    for (const a of d.actions) {
      if (a === 'fencePeer') checkFenceOfLivePeer(w, h, d)
      const error = execute(w, h, a, done.includes('fencePeer'), d)
      w.trace.push(`t=${w.now} ${h.cfg.node.name} ${d.rule} ${a}${error ? ` FAILED: ${error}` : ''}`)
      checkInvariants(w)
      if (error) {
        failed = {action: a, error}
        break
      }
      done.push(a)
    }
    h.memory = d.memory
    if (!failed) h.role = d.next
    h.previous = {rule: d.rule, done, failed}
  }
  replicate(w)
  commit(w)
  w.now += w.hosts[0].cfg.timing.interval
}

/** The client commits once per tick through VIP-M (acknowledged at once, or once the synchronous standby has it). */
function commit(w: World): void {
  for (const h of w.hosts) {
    if (h.watchStartedAt === Number.MAX_SAFE_INTEGER && h.powered) h.watchStartedAt = w.now
    if (!writable(h) || h.db.hung || !h.vips.M) continue
    const p = peerOf(w, h)
    if (h.db.waiting === undefined) {
      h.db.lsn = w.commitSeq = (w.commitSeq ?? 0) + 1
      h.db.waiting = h.db.lsn
    }
    if (streamsFrom(w, p, h)) p.db.lsn = h.db.lsn
    if (!h.db.syncArmed || p.db.lsn >= h.db.waiting) {
      w.lastAcked = Math.max(w.lastAcked ?? 0, h.db.waiting)
      h.db.waiting = undefined
    }
  }
}

/** A replaying standby that reaches a writable primary receives its heartbeat row. */
function replicate(w: World): void {
  for (const h of w.hosts) {
    const p = peerOf(w, h)
    const db = h.db
    if (streamsFrom(w, h, p)) {
      db.replicatedAt = w.now
      db.lsn = p.db.lsn
      // The primary's heartbeat row: whom it was synchronous with when it wrote it.
      db.syncWith = p.db.syncArmed ? h.cfg.node.name : null
    }
  }
}

/**
 * One primary (writable, VIP-M only) and one standby (replaying, VIP-S only). A primary with
 * node.canPrimary false hands over when it can fence, so then it is not the end state.
 */
export function converged(w: World): boolean {
  const p = w.hosts.find((h) => h.role === 'primary')
  const s = w.hosts.find((h) => h.role === 'standby')
  if (!p || !s || (!p.cfg.node.canPrimary && s.cfg.node.canPrimary && p.cfg.fence.agent !== 'none')) return false
  const rearmed = p.cfg.replication.mode === 'async' || p.db.syncArmed
  return (
    writable(p) &&
    !p.db.hung &&
    p.vips.M &&
    !p.vips.S &&
    s.powered &&
    s.db.running &&
    s.db.inRecovery &&
    !s.db.hung &&
    s.vips.S &&
    !s.vips.M &&
    rearmed
  )
}

export interface SimParams {
  checkTimes: number
  /** fence.delay in ticks. */
  fenceDelayTicks: number
  agent: 'ipmitool' | 'none'
  archive: 'none' | 'bind'
  /** Which node has node.canPrimary false, if any. */
  cannotBePrimary?: 0 | 1
  /** replication.mode (default sync). */
  replication?: 'sync' | 'async'
}

const NODES = [
  {name: 'node1', address: '192.0.2.11'},
  {name: 'node2', address: '192.0.2.12'},
]

/** A schema-valid config for node `i` of the pair (1 s ticks, lag limits in seconds). */
export function simConfig(i: 0 | 1, p: SimParams): Config {
  const raw = {
    cluster: 'sim',
    node: {...NODES[i], canPrimary: p.cannotBePrimary !== i},
    peer: NODES[1 - i],
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {datadir: '/var/lib/postgresql/15/main'},
    archive: p.archive === 'bind' ? {mode: 'bind', source: '/srv/archive'} : {mode: 'none'},
    fence:
      p.agent === 'none'
        ? {agent: 'none'}
        : {agent: 'ipmitool', address: '192.0.2.1', user: 'admin', passwordEnv: 'IPMI_PASSWORD', delay: `${p.fenceDelayTicks}s`},
    // The yielding node restarts as primary only after startupDelay: give the peer time to take over first.
    timing: {
      interval: '1s',
      checkTimes: p.checkTimes,
      probeTimeout: '1s',
      startupDelay: `${p.checkTimes + p.fenceDelayTicks + 3}s`,
      peerStartTimeout: '6s',
    },
    lag: {
      promote: {maxAge: '10s', maxBytes: '160MB'},
      releaseStandbyVip: {maxAge: '5s', maxBytes: '80MB'},
      yield: {maxAge: '5s', maxBytes: '80MB'},
    },
    replication: {mode: p.replication ?? 'sync', stallTimeout: '2s'},
  }
  return configSchemaParse(raw)
}

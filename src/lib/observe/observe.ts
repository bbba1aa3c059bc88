/**
 * observe(): one read-only Observations snapshot per tick (the I/O half of `pgha watch`;
 * decide() is the pure half). Every probe runs in parallel and is bounded by
 * timing.probeTimeout; a probe that times out or fails is an observation ('unknown',
 * 'timeout'), never an exception. Cheap on purpose: VIPs held come from getifaddrs and the
 * archive from /proc/self/mountinfo (no process), PostgreSQL through node-postgres; only
 * arping is a process.
 */
import {networkInterfaces} from 'node:os'
import type {Config} from '../config/schema.js'
import {ArpMonitor, ARP_PROBE_EVERY_MS} from '../system/arp-monitor.js'
import {archiveState, clusterFlags, type ClusterFlags, type FlagSource} from './observe-flags.js'
import {PgProbe} from '../system/pg-probe.js'
import {flushSample, StallTracker, SYNC_PROBE_SQL, syncObservation, type SyncRow} from './sync-probe.js'
import type {SystemContext} from '../system/exec.js'
import {arpDuplicateCheck, arpReachable} from '../system/net.js'
import {InterfaceCheck} from '../system/net-device.js'
import {describeEndpoint, hostOf} from '../system/pg.js'
import type {HeartbeatResult, HeartbeatTarget} from '../sql/heartbeat.js'
import {heartbeatEndpoint} from '../steps/heartbeat.js'
import type {DbProbe, LocalDb, Observations, Probe, SyncObservation, VipState} from '../core/types.js'

export type {ClusterFlags} from './observe-flags.js'
export {
  bounded,
  dataDirKindFromFiles,
  heartbeatState,
  heldOn,
  portProbe,
  postmasterRunning,
  readDataDirKind,
  toDbProbe,
} from './observe-probes.js'
import {
  arpAnswer,
  bounded,
  heldOn,
  PG_GRACE_MS,
  portProbe,
  postmasterRunning,
  PROCESS_GRACE_MS,
  readDataDirKind,
  toDbProbe,
} from './observe-probes.js'

/** What observe() carries from one tick to the next. */
export interface ObserveMemory {
  /** The last cluster flags read, the fallback when no database can be asked. */
  flags?: ClusterFlags
}

export interface ObserveResult {
  obs: Observations
  /** Where paused/switchover came from, and other things worth a log field. */
  flags: ClusterFlags
  notes: string[]
  /** Wall time of the whole observation and of each probe (ms). */
  ms: number
  probeMs: Record<string, number>
}

/** How the VIPs' ARP answers are obtained: a continuous monitor (the loop) or one DAD probe per tick (--once). */
export type ArpMode = 'monitor' | 'probe'

export interface ObserverOptions {
  arp?: ArpMode
  /** Heartbeats in rolled-back transactions (--dry-run). */
  dryRun?: boolean
}

/**
 * Holds what survives between ticks: the ARP monitors and one database connection per
 * endpoint. close() releases them (the loop calls it on exit).
 */
export class Observer {
  private readonly pg: Record<HeartbeatTarget, PgProbe>
  private readonly arp?: ArpMonitor
  private readonly arpMode: ArpMode
  private readonly arpWindowMs: number
  private arpReady = false
  /** Endpoints whose last heartbeat failed. */
  private readonly failing = new Set<HeartbeatTarget>()
  /** Asked only when the gateway does not answer: is network.interface there at all? */
  private readonly iface: InterfaceCheck
  private readonly stall = new StallTracker()
  /** Heartbeat rows written before this are no proof of anything (sync-facts.ts zeroLoss). */
  readonly startedAt = Date.now()

  constructor(
    private readonly ctx: SystemContext,
    private readonly cfg: Config,
    opts: ObserverOptions = {},
  ) {
    const dry = opts.dryRun ?? ctx.dryRun
    this.pg = {
      local: probeFor(cfg, 'local', dry),
      peer: probeFor(cfg, 'peer', dry),
      'vip-primary': probeFor(cfg, 'vip-primary', dry),
      'vip-standby': probeFor(cfg, 'vip-standby', dry),
    }
    this.iface = new InterfaceCheck(ctx, cfg.network.interface, cfg.timing.probeTimeout)
    this.arpMode = opts.arp ?? 'probe'
    this.arpWindowMs = ARP_PROBE_EVERY_MS + Math.max(500, cfg.timing.probeTimeout)
    if (this.arpMode === 'monitor') {
      this.arp = new ArpMonitor(
        cfg.network.interface,
        [
          {name: 'gateway', ip: cfg.network.gateway, mode: 'reach'},
          {name: 'primary', ip: hostOf(cfg.network.vipPrimary), mode: 'dad'},
          {name: 'standby', ip: hostOf(cfg.network.vipStandby), mode: 'dad'},
        ],
        this.arpWindowMs,
        ctx.log,
      )
      this.arp.start()
    }
  }

  close(): void {
    this.arp?.stop()
    for (const p of Object.values(this.pg)) p.close()
  }

  /** Connections opened per endpoint so far (a steady loop stays at 1 each). */
  connects(): Record<HeartbeatTarget, number> {
    return {
      local: this.pg.local.connects,
      peer: this.pg.peer.connects,
      'vip-primary': this.pg['vip-primary'].connects,
      'vip-standby': this.pg['vip-standby'].connects,
    }
  }

  private async db(target: HeartbeatTarget, probeMs: Record<string, number>): Promise<DbProbe> {
    const t = this.cfg.timing.probeTimeout
    const p = this.pg[target]
    const started = performance.now()
    const failed = (why: string): HeartbeatResult => {
      p.drop()
      return {ok: false, target, address: '', latencyMs: t, error: `timeout: ${why}`}
    }
    // The port says why a heartbeat fails (refused, or silence). Asked only while the heartbeat
    // is failing, in parallel with it: a healthy server gets no half-open connections, and a
    // failing tick takes no longer than the heartbeat's own bound.
    const askPort = this.failing.has(target)
    const [hb, port] = await Promise.all([
      bounded(p.heartbeat(t), t + PG_GRACE_MS, failed),
      askPort ? bounded(portProbe(p.endpoint, t), t + PG_GRACE_MS, () => 'unknown' as Probe) : Promise.resolve<Probe>('unknown'),
    ])
    if (hb.ok) this.failing.delete(target)
    else this.failing.add(target)
    probeMs[target] = Math.round(performance.now() - started)
    return toDbProbe(hb, port, t)
  }

  private async local(probeMs: Record<string, number>): Promise<LocalDb> {
    const [db, running] = await Promise.all([this.db('local', probeMs), postmasterRunning(this.ctx, this.cfg)])
    return {...db, running: db.heartbeat === 'ok' ? 'yes' : running, dataDir: readDataDirKind(this.cfg)}
  }

  private async vip(which: 'primary' | 'standby', probeMs: Record<string, number>): Promise<VipState> {
    const ip = hostOf(which === 'primary' ? this.cfg.network.vipPrimary : this.cfg.network.vipStandby)
    let answered: Probe
    if (this.arp) {
      answered = this.arp.verdict(which)
    } else {
      const t = this.cfg.timing.probeTimeout
      const started = performance.now()
      const arp = await bounded(
        arpDuplicateCheck(this.ctx, this.cfg.network.interface, ip, t),
        Math.max(1000, t) + PROCESS_GRACE_MS,
        (why) => ({state: 'unknown' as const, detail: why}),
      )
      probeMs[`arp-${which}`] = Math.round(performance.now() - started)
      answered = arpAnswer(arp.state)
    }
    // Read after the ARP answer so a VIP claimed meanwhile by this host is seen as ours.
    return {heldLocally: heldOn(networkInterfaces(), this.cfg.network.interface, ip) ? 'yes' : 'no', answeredElsewhere: answered}
  }

  /** The local primary's synchronous replication, on the local connection; bounded, never throws. */
  private async sync(probeMs: Record<string, number>): Promise<SyncObservation> {
    const started = performance.now()
    try {
      const rows = await bounded(
        this.pg.local.rows<SyncRow>(SYNC_PROBE_SQL, [this.cfg.peer.name], this.cfg.timing.probeTimeout),
        this.cfg.timing.probeTimeout + PG_GRACE_MS,
        () => [] as SyncRow[],
      )
      const row = rows[0]
      if (!row) return syncObservation(this.cfg, undefined, 0)
      return syncObservation(this.cfg, row, this.stall.sample(flushSample(row), Date.now()))
    } catch {
      return syncObservation(this.cfg, undefined, 0)
    } finally {
      probeMs.sync = Math.round(performance.now() - started)
    }
  }

  /** A fresh ARP probe of the gateway (one process): every tick without a monitor, else before acting. */
  async probeGateway(probeMs: Record<string, number> = {}): Promise<Probe> {
    const t = this.cfg.timing.probeTimeout
    const started = performance.now()
    const r = await bounded(
      arpReachable(this.ctx, this.cfg.network.interface, this.cfg.network.gateway, t),
      Math.max(1000, t) + PROCESS_GRACE_MS,
      (why) => ({reachable: false, detail: `cannot probe: ${why}`}),
    )
    probeMs.gateway = Math.round(performance.now() - started)
    if (r.reachable) return 'yes'
    return /cannot probe/.test(r.detail) ? 'unknown' : 'no'
  }

  private async gateway(probeMs: Record<string, number>): Promise<Probe> {
    return this.arp ? this.arp.verdict('gateway') : this.probeGateway(probeMs)
  }

  /**
   * Before a tick acts on a monitored snapshot: ask the gateway afresh (an isolated node never
   * acts, and the monitor's answer may be up to a window old). Returns the snapshot to decide
   * on again when the answer changed, else undefined.
   */
  async confirmBeforeActing(obs: Observations): Promise<Observations | undefined> {
    if (!this.arp) return undefined
    const fresh = await this.probeGateway()
    return fresh === obs.gateway ? undefined : {...obs, gateway: fresh}
  }

  /** One snapshot. Never throws for a failed probe. */
  async observe(memory: ObserveMemory = {}): Promise<ObserveResult> {
    const started = performance.now()
    const probeMs: Record<string, number> = {}
    const notes: string[] = []
    const cfg = this.cfg
    if (this.arp && !this.arpReady) {
      // The first tick waits (once, bounded) until the monitors have probed a whole window.
      await this.arp.ready(this.arpWindowMs + 1000)
      this.arpReady = true
    }
    // A VIP this host holds leads to this host's own server: the local heartbeat answers for it.
    const ifaces = networkInterfaces()
    const mine = (cidr: string) => heldOn(ifaces, cfg.network.interface, hostOf(cidr))
    const localDb = this.local(probeMs)
    const through = (target: 'vip-primary' | 'vip-standby', cidr: string): Promise<DbProbe> =>
      mine(cidr) ? localDb.then(({running: _r, dataDir: _d, ...db}) => db) : this.db(target, probeMs)
    const [gateway, local, vipPrimary, vipStandby, viaVipPrimary, viaVipStandby, peer] = await Promise.all([
      this.gateway(probeMs),
      localDb,
      this.vip('primary', probeMs),
      this.vip('standby', probeMs),
      through('vip-primary', cfg.network.vipPrimary),
      through('vip-standby', cfg.network.vipStandby),
      this.db('peer', probeMs),
    ])
    // A gateway that does not answer may be a device that does not exist: name it, do not guess
    // isolation. Asked (at most every 10 s) while the flags are read, so the tick is not longer.
    const ifaceMissing =
      gateway === 'yes' ? Promise.resolve(false) : bounded(this.iface.missing(), cfg.timing.probeTimeout + PROCESS_GRACE_MS, () => false)
    // After the heartbeats, on the same connections: the local database first, then the peer's.
    const sources: FlagSource[] = []
    if (local.heartbeat === 'ok')
      sources.push({source: 'local', where: describeEndpoint(this.pg.local.endpoint), read: (t) => this.pg.local.clusterState(t)})
    if (peer.heartbeat === 'ok')
      sources.push({source: 'peer', where: describeEndpoint(this.pg.peer.endpoint), read: (t) => this.pg.peer.clusterState(t)})
    const flags = await clusterFlags(
      cfg,
      sources,
      memory.flags,
      Date.now(),
      local.heartbeat === 'ok' ? undefined : `local database: heartbeat ${local.heartbeat}`,
    )
    if (flags.source !== 'local') notes.push(flags.note)
    // Only a writable local database has synchronous standbys to watch.
    let sync: SyncObservation | undefined
    if (local.heartbeat === 'ok' && local.inRecovery === 'no') sync = await this.sync(probeMs)
    else this.stall.reset()
    if (this.arp && (vipPrimary.answeredElsewhere === 'unknown' || vipStandby.answeredElsewhere === 'unknown'))
      notes.push('the ARP monitors have not probed long enough yet: VIP answers unknown')
    if (this.arp && gateway !== 'yes')
      notes.push(
        `gateway monitor: ${gateway === 'no' ? `no ARP reply from ${cfg.network.gateway} within ${this.arpWindowMs} ms` : 'not running long enough yet'}`,
      )
    const interfaceMissing = await ifaceMissing
    if (interfaceMissing)
      notes.push(`network.interface ${cfg.network.interface} does not exist on this host (ip link show): no ARP probe can run`)
    const obs: Observations = {
      ...(interfaceMissing ? {interfaceMissing} : {}),
      gateway,
      paused: flags.paused,
      switchover: flags.switchover,
      local,
      vipPrimary,
      vipStandby,
      viaVipPrimary,
      viaVipStandby,
      peer,
      archive: archiveState(cfg),
      ...(sync ? {sync} : {}),
      watchStartedAt: this.startedAt,
    }
    return {obs, flags, notes, ms: Math.round(performance.now() - started), probeMs}
  }
}

/** One snapshot with one DAD probe per VIP (for --once and status); opens and closes its connections. */
export async function observe(ctx: SystemContext, cfg: Config, memory: ObserveMemory = {}): Promise<ObserveResult> {
  const o = new Observer(ctx, cfg, {arp: 'probe'})
  try {
    return await o.observe(memory)
  } finally {
    o.close()
  }
}

function probeFor(cfg: Config, target: HeartbeatTarget, dryRun: boolean): PgProbe {
  const {endpoint, peerAddr} = heartbeatEndpoint(cfg, target)
  return new PgProbe(cfg, target, endpoint, peerAddr, dryRun)
}

/**
 * observe(): one read-only Observations snapshot per tick (the I/O half of `pgha watch`;
 * decide() is the pure half). Every probe runs in parallel and is bounded by
 * timing.probeTimeout; a probe that times out or fails is an observation ('unknown',
 * 'timeout'), never an exception. Cheap on purpose: VIPs held come from getifaddrs and the
 * archive from /proc/self/mountinfo (no process), PostgreSQL through node-postgres; only
 * arping is a process. The network half is network-observer.ts, the database half
 * database-observer.ts; this file puts one snapshot together.
 */
import {networkInterfaces} from 'node:os'
import type {Config} from '../config/schema.js'
import {archiveState, clusterFlags, type ClusterFlags} from './observe-flags.js'
import type {SystemContext} from '../system/exec.js'
import {hostOf} from '../system/pg.js'
import type {HeartbeatTarget} from '../sql/heartbeat.js'
import type {DbProbe, Observations, Probe} from '../core/types.js'
import {DatabaseObserver} from './database-observer.js'
import {NetworkObserver, type ArpMode} from './network-observer.js'
import {heldOn} from './observe-probes.js'

export type {ArpMode} from './network-observer.js'
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
  private readonly net: NetworkObserver
  private readonly dbs: DatabaseObserver
  /** Heartbeat rows written before this are no proof of anything (sync-facts.ts zeroLoss). */
  readonly startedAt = Date.now()

  constructor(
    ctx: SystemContext,
    private readonly cfg: Config,
    opts: ObserverOptions = {},
  ) {
    this.dbs = new DatabaseObserver(ctx, cfg, opts.dryRun ?? ctx.dryRun)
    this.net = new NetworkObserver(ctx, cfg, opts.arp ?? 'probe')
  }

  close(): void {
    this.net.close()
    this.dbs.close()
  }

  /** Connections opened per endpoint so far (a steady loop stays at 1 each). */
  connects(): Record<HeartbeatTarget, number> {
    return this.dbs.connects()
  }

  /** A fresh ARP probe of the gateway (one process): every tick without a monitor, else before acting. */
  probeGateway(probeMs: Record<string, number> = {}): Promise<Probe> {
    return this.net.probeGateway(probeMs)
  }

  /**
   * Before a tick acts on a monitored snapshot: ask the gateway afresh (an isolated node never
   * acts, and the monitor's answer may be up to a window old). Returns the snapshot to decide
   * on again when the answer changed, else undefined.
   */
  async confirmBeforeActing(obs: Observations): Promise<Observations | undefined> {
    if (!this.net.monitored) return undefined
    const fresh = await this.net.probeGateway()
    return fresh === obs.gateway ? undefined : {...obs, gateway: fresh}
  }

  /** One snapshot. Never throws for a failed probe. */
  async observe(memory: ObserveMemory = {}): Promise<ObserveResult> {
    const started = performance.now()
    const probeMs: Record<string, number> = {}
    const notes: string[] = []
    const cfg = this.cfg
    await this.net.ready()
    // A VIP this host holds leads to this host's own server: the local heartbeat answers for it.
    const ifaces = networkInterfaces()
    const mine = (cidr: string) => heldOn(ifaces, cfg.network.interface, hostOf(cidr))
    const localDb = this.dbs.local(probeMs)
    const through = (target: 'vip-primary' | 'vip-standby', cidr: string): Promise<DbProbe> =>
      mine(cidr) ? localDb.then(({running: _r, dataDir: _d, ...db}) => db) : this.dbs.db(target, probeMs)
    const [gateway, local, vipPrimary, vipStandby, viaVipPrimary, viaVipStandby, peer] = await Promise.all([
      this.net.gateway(probeMs),
      localDb,
      this.net.vip('primary', probeMs),
      this.net.vip('standby', probeMs),
      through('vip-primary', cfg.network.vipPrimary),
      through('vip-standby', cfg.network.vipStandby),
      this.dbs.db('peer', probeMs),
    ])
    // Asked while the flags are read, so the tick is not longer.
    const ifaceMissing = this.net.interfaceMissing(gateway)
    const flags = await clusterFlags(
      cfg,
      this.dbs.flagSources(local, peer),
      memory.flags,
      Date.now(),
      local.heartbeat === 'ok' ? undefined : `local database: heartbeat ${local.heartbeat}`,
    )
    if (flags.source !== 'local') notes.push(flags.note)
    const sync = await this.dbs.syncIfPrimary(local, probeMs)
    notes.push(...this.net.notes(gateway, [vipPrimary, vipStandby]))
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

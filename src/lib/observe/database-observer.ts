/**
 * The database half of an observation: one heartbeat per endpoint (the local server, the peer,
 * and the servers behind each VIP), the local primary's synchronous replication, and where the
 * cluster flags can be read. One connection per endpoint survives between ticks.
 */
import type {Config} from '../config/schema.js'
import {PgProbe} from '../system/pg-probe.js'
import type {SystemContext} from '../system/exec.js'
import {describeEndpoint} from '../system/pg.js'
import type {HeartbeatResult, HeartbeatTarget} from '../sql/heartbeat.js'
import {heartbeatEndpoint} from '../steps/heartbeat.js'
import type {DbProbe, LocalDb, Probe, SyncObservation} from '../core/types.js'
import type {FlagSource} from './observe-flags.js'
import {bounded, PG_GRACE_MS, portProbe, postmasterRunning, readDataDirKind, toDbProbe} from './observe-probes.js'
import {flushSample, StallTracker, SYNC_PROBE_SQL, syncObservation, type SyncRow} from './sync-probe.js'

export class DatabaseObserver {
  private readonly pg: Record<HeartbeatTarget, PgProbe>
  /** Endpoints whose last heartbeat failed. */
  private readonly failing = new Set<HeartbeatTarget>()
  private readonly stall = new StallTracker()

  constructor(
    private readonly ctx: SystemContext,
    private readonly cfg: Config,
    dryRun: boolean,
  ) {
    this.pg = {
      local: probeFor(cfg, 'local', dryRun),
      peer: probeFor(cfg, 'peer', dryRun),
      'vip-primary': probeFor(cfg, 'vip-primary', dryRun),
      'vip-standby': probeFor(cfg, 'vip-standby', dryRun),
    }
  }

  close(): void {
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

  async db(target: HeartbeatTarget, probeMs: Record<string, number>): Promise<DbProbe> {
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

  async local(probeMs: Record<string, number>): Promise<LocalDb> {
    const [db, running] = await Promise.all([this.db('local', probeMs), postmasterRunning(this.ctx, this.cfg)])
    return {...db, running: db.heartbeat === 'ok' ? 'yes' : running, dataDir: readDataDirKind(this.cfg)}
  }

  /** Where the cluster flags can be read after the heartbeats, on the same connections: the local database first, then the peer's. */
  flagSources(local: DbProbe, peer: DbProbe): FlagSource[] {
    const sources: FlagSource[] = []
    if (local.heartbeat === 'ok')
      sources.push({source: 'local', where: describeEndpoint(this.pg.local.endpoint), read: (t) => this.pg.local.clusterState(t)})
    if (peer.heartbeat === 'ok')
      sources.push({source: 'peer', where: describeEndpoint(this.pg.peer.endpoint), read: (t) => this.pg.peer.clusterState(t)})
    return sources
  }

  /** Only a writable local database has synchronous standbys to watch; otherwise the stall tracking restarts. */
  async syncIfPrimary(local: DbProbe, probeMs: Record<string, number>): Promise<SyncObservation | undefined> {
    if (local.heartbeat === 'ok' && local.inRecovery === 'no') return this.sync(probeMs)
    this.stall.reset()
    return undefined
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
}

function probeFor(cfg: Config, target: HeartbeatTarget, dryRun: boolean): PgProbe {
  const {endpoint, peerAddr} = heartbeatEndpoint(cfg, target)
  return new PgProbe(cfg, target, endpoint, peerAddr, dryRun)
}

import type pg from 'pg'
import type {Config} from '../config/schema.js'
import {formatBytes} from '../config/units.js'
import {SafetyRefusal, StepFailedError, UsageError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {localEndpoint, type PgEndpoint, withPgClient} from '../system/pg.js'
import {psqlChange} from '../system/pgctl.js'
import {defaultSource, readControlData, type SourceServer} from '../system/rewind.js'
import {ensureDbRunning, ensureDbStopped} from './db.js'
import {detectRole} from './detect-role.js'
import {ensureRejoinedAsStandby} from './rejoin.js'
import {
  claimMarker,
  closeReadySession,
  inRecoveryAt,
  openReadySession,
  peerReady,
  peerStreams,
  setMarkerPhase,
  standbyLagBytes,
  standbyWal,
  verifyShutdownCheckpointReceived,
} from './switchover-probe.js'
import {readClusterState} from './pause.js'
import {ensurePromoted} from './promote.js'
import {formatPlan, parseMarker, type SwitchoverMarker, type SwitchoverSide, switchoverPlan} from './switchover-plan.js'
import type {StepOutcome} from './types.js'
import {type SwitchoverNetwork, vipNetwork} from './switchover-network.js'
export {SWITCHOVER_DAD_MS, type SwitchoverNetwork, vipNetwork} from './switchover-network.js'
import {HalfLockBusy, heldBy, type HalfOwner, lockHalf} from './switchover-lock.js'

export interface SwitchoverOptions {
  /** Target node name; must be the current standby (default: it is). */
  to?: string
  /** Bound for this host's whole half (default 5 min). */
  timeoutMs?: number
  /** How long to wait for the other host's half at each hand-over point (default 60 s). */
  partnerTimeoutMs?: number
  /** The peer's database (default peer.address:postgres.port). */
  peer?: PgEndpoint
  /** The new primary as the old one reaches it (default VIP-M). */
  source?: SourceServer
  network?: SwitchoverNetwork
  sleep?: (ms: number) => Promise<void>
  /** Who runs the half (the lock says so): `pgha switchover` (default) or `pgha watch`. */
  lockOwner?: HalfOwner
}

export interface SwitchoverOutcome extends StepOutcome {
  side: SwitchoverSide
  id?: string
  plan: string[]
  /** Milliseconds this half saw without a writable primary (demote: stop → peer writable; promote: primary gone → VIP-M claimed). */
  outageMs?: number
  timeline: {at: number; event: string}[]
  /** demote: what the rejoin as a standby reported. */
  rejoin?: string
  /** The old primary's shutdown checkpoint (the new primary replayed it before promoting). */
  shutdownCheckpoint?: string
  /** demote: pg_rewind had to undo WAL the new primary lacks. */
  rewound?: boolean
}

/** What a finished half adds to its outcome. */
type SwitchoverFacts = Pick<SwitchoverOutcome, 'outageMs' | 'rejoin' | 'shutdownCheckpoint' | 'rewound'>

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Run this host's half of a planned switchover (decided by its role). --dry-run: checks, then the plan. */
export async function runSwitchover(ctx: SystemContext, cfg: Config, opts: SwitchoverOptions = {}): Promise<SwitchoverOutcome> {
  const role = await detectRole(ctx, cfg)
  if (!role.running)
    throw new StepFailedError(
      `PostgreSQL is not running on ${cfg.node.name}; a switchover needs a running primary and standby`,
      'start it (pgha start-db) first',
    )
  const side: SwitchoverSide = role.role === 'primary' ? 'demote' : 'promote'
  const [primary, standby] = side === 'demote' ? [cfg.node.name, cfg.peer.name] : [cfg.peer.name, cfg.node.name]
  if (opts.to && opts.to !== standby) {
    if (opts.to === primary)
      return {changed: false, summary: `${primary} is already the primary; nothing to do`, side, plan: [], timeline: []}
    throw new UsageError(`--to ${opts.to} names neither host of this pair (${cfg.node.name}, ${cfg.peer.name})`, `use --to ${standby}`)
  }
  const plan = formatPlan(switchoverPlan(primary, standby, {vips: opts.network === undefined, archive: cfg.archive.mode !== 'none'}))
  const run = new HalfRun(ctx, cfg, opts, side)
  let unlock: () => void = () => undefined
  if (!ctx.dryRun) {
    try {
      unlock = lockHalf(cfg, opts.lockOwner ?? 'cli')
    } catch (error) {
      // This host's watch already runs the half (it saw the marker first): follow it.
      if (error instanceof HalfLockBusy && error.owner === 'watch' && opts.lockOwner !== 'watch')
        return followWatchHalf(ctx, cfg, run, side, plan, error.pid)
      throw error
    }
  }
  try {
    return side === 'demote' ? await run.demote(plan) : await run.promote(plan)
  } finally {
    await run.close()
    unlock()
  }
}

/** One half's state: deadline, timeline of events, the open ready session. */
class HalfRun {
  readonly started = Date.now()
  readonly deadline: number
  readonly timeline: {at: number; event: string}[] = []
  readonly peer: PgEndpoint
  readonly source: SourceServer
  readonly net: SwitchoverNetwork
  readonly partnerMs: number
  readonly sleep: (ms: number) => Promise<void>
  ready?: pg.Client

  constructor(
    readonly ctx: SystemContext,
    readonly cfg: Config,
    opts: SwitchoverOptions,
    readonly side: SwitchoverSide,
  ) {
    this.deadline = this.started + (opts.timeoutMs ?? 300_000)
    this.peer = opts.peer ?? {kind: 'tcp', host: cfg.peer.address, port: cfg.postgres.port}
    this.source = opts.source ?? defaultSource(cfg)
    this.net = opts.network ?? vipNetwork(ctx, cfg)
    this.partnerMs = opts.partnerTimeoutMs ?? 60_000
    this.sleep = opts.sleep ?? realSleep
  }

  mark(event: string): void {
    this.timeline.push({at: Date.now() - this.started, event})
    this.ctx.log.info(`switchover (${this.side} half): ${event}`)
  }

  async close(): Promise<void> {
    await closeReadySession(this.ready)
    this.ready = undefined
  }

  /** Poll `cond` every 100 ms until true or `ms` passed (never past the half's deadline). */
  async until(what: string, ms: number, cond: () => Promise<boolean>): Promise<boolean> {
    const end = Math.min(Date.now() + ms, this.deadline)
    while (Date.now() < end) {
      if (await cond().catch(() => false)) return true
      await this.sleep(100)
    }
    this.ctx.log.warn(`switchover: gave up waiting for ${what}`)
    return false
  }

  outcome(changed: boolean, summary: string, plan: string[], m?: SwitchoverMarker, extra: SwitchoverFacts = {}): SwitchoverOutcome {
    return {changed, summary, side: this.side, id: m?.id, plan, timeline: this.timeline, ...extra}
  }

  /** pg_ctl promote -w (it returns once the server left recovery), then one check that it is writable. */
  /** The one promotion step; its guard is the proof that the old primary stopped cleanly. */
  private async promoteNow(why: string): Promise<void> {
    await ensurePromoted(this.ctx, this.cfg, {
      guard: async () => ({allowed: true, why}),
      checkpoint: false,
      via: 'psql',
      restoreCommand: 'keep',
    })
  }

  /** Claim a VIP, retrying while it is still answered elsewhere (the peer lets go of it in parallel). */
  private async claimWithin(which: 'primary' | 'standby', ms: number, opts?: {handover?: boolean}): Promise<void> {
    const end = Date.now() + ms
    for (;;) {
      try {
        return await this.net.claim(which, opts)
      } catch (error) {
        if (!(error instanceof SafetyRefusal) || Date.now() > end) throw error
        // Still answered elsewhere (arping returns at the first reply, in milliseconds): in a
        // hand-over the old primary lets go any moment, so look again soon.
        await this.sleep(opts?.handover ? 50 : 200)
      }
    }
  }

  // ── demote half: runs on the current primary ───────────────────────────────────────────
  async demote(plan: string[]): Promise<SwitchoverOutcome> {
    const {ctx, cfg} = this
    const lag = await standbyLagBytes(ctx, cfg)
    if (lag === undefined)
      throw new SafetyRefusal(
        `${cfg.peer.name} is not streaming from this primary; a switchover would lose its catch-up`,
        'fix replication first (pgha status)',
      )
    if (lag > cfg.lag.yield.maxBytes)
      throw new SafetyRefusal(
        `${cfg.peer.name} replays ${formatBytes(lag)} behind, more than lag.yield.maxBytes ${formatBytes(cfg.lag.yield.maxBytes)}`,
        'wait until it catches up',
      )
    if (ctx.dryRun) {
      await claimMarker(ctx, cfg, localEndpoint(cfg), cfg.node.name, cfg.peer.name, 0) // recorded in the plan only
      return this.outcome(false, `would switch over ${cfg.node.name} → ${cfg.peer.name} (standby ${formatBytes(lag)} behind)`, plan)
    }

    const {marker} = await claimMarker(ctx, cfg, localEndpoint(cfg), cfg.node.name, cfg.peer.name, this.deadline - Date.now() + 60_000)
    this.mark(`marker ${marker.id} set; waiting for ${cfg.peer.name}'s promote half`)
    if (
      !(await this.until(
        `${cfg.peer.name}'s ready session`,
        this.partnerMs,
        async () => (await peerReady(cfg, this.peer, marker.id)) === true,
      ))
    ) {
      await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, null)
      throw new StepFailedError(
        `${cfg.peer.name}'s half of switchover ${marker.id} did not start within ${this.partnerMs / 1000} s; nothing was changed (marker cleared)`,
        `run pgha switchover on ${cfg.peer.name} too, or run pgha watch there`,
      )
    }
    const lagNow = await standbyLagBytes(ctx, cfg)
    if (lagNow === undefined || lagNow > cfg.lag.yield.maxBytes) {
      await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, null)
      throw new SafetyRefusal(
        `${cfg.peer.name} stopped streaming or fell behind (${lagNow === undefined ? 'not streaming' : formatBytes(lagNow)}); switchover cancelled, nothing changed`,
      )
    }
    await psqlChange(ctx, cfg, 'CHECKPOINT;', 'flush dirty pages now so the shutdown checkpoint (the write outage) is short')
    this.mark('stopping PostgreSQL (fast): writes stop here')
    const stoppedAt = Date.now()
    await ensureDbStopped(ctx, cfg, {mode: 'fast'})
    // VIP-M goes at once (a stopped server takes no writes behind it), so the promote half's
    // ARP check can start; the clean-stop check runs meanwhile. The standby proves the clean
    // stop again from its own WAL before it promotes.
    const [control] = await Promise.all([readControlData(ctx, cfg, 10_000), this.net.release('primary')])
    this.mark('VIP-M released')
    if (control?.state !== 'shut down')
      throw new StepFailedError(
        `PostgreSQL did not shut down cleanly (state "${control?.state}")`,
        'investigate before restarting it; the marker stays so the watch loops keep out',
      )
    this.mark(`stopped cleanly; shutdown checkpoint at ${control.latestCheckpoint}`)

    const promoted = await this.until(
      `${cfg.peer.name} to become a writable primary`,
      this.partnerMs,
      async () => (await inRecoveryAt(cfg, {kind: 'tcp', ...this.source}))?.inRecovery === false,
    )
    if (!promoted) return this.rollBack(marker, control.latestCheckpoint)
    const outageMs = Date.now() - stoppedAt
    this.mark(`${cfg.peer.name} is the writable primary`)

    const rejoin = await ensureRejoinedAsStandby(ctx, cfg, {
      source: this.source,
      timeoutMs: Math.max(30_000, this.deadline - Date.now()),
      afterCleanStop: true,
    })
    if (rejoin.method === 'rewind' && rejoin.rewindNotNeeded === false)
      ctx.log.error(
        'pg_rewind undid WAL on the old primary: it had WAL the new primary lacked (this must not happen after a clean switchover)',
      )
    this.mark(`rejoined as a standby (${rejoin.method}${rejoin.rewindNotNeeded ? ', nothing to undo' : ''})`)
    const primaryEp: PgEndpoint = {kind: 'tcp', ...this.source}
    const free = await this.until(
      'the new primary to release VIP-S',
      this.partnerMs,
      async () => parseMarker((await readClusterState(cfg, primaryEp, 5000)).switchover)?.phase === 'standby-vip-free',
    )
    const gotVipS =
      free &&
      (await this.claimWithin('standby', 15_000).then(
        () => true,
        () => false,
      ))
    if (gotVipS) {
      await setMarkerPhase(ctx, cfg, primaryEp, marker, null)
      this.mark('VIP-S claimed; marker cleared on the new primary: watch loops act again')
    } else {
      this.mark(`VIP-S not claimed: ${cfg.peer.name} keeps it and clears the marker; the watch loops hand it over`)
    }
    return this.outcome(
      true,
      `switched over: ${cfg.peer.name} is primary, ${cfg.node.name} streams from it (writes stopped for ${(outageMs / 1000).toFixed(1)} s as seen from here)`,
      plan,
      marker,
      {outageMs, rejoin: rejoin.summary, shutdownCheckpoint: control.latestCheckpoint, rewound: rejoin.rewindNotNeeded === false},
    )
  }

  /** The peer never promoted: start again as primary, but only when it provably will not promote. */
  private async rollBack(marker: SwitchoverMarker, checkpoint: string): Promise<SwitchoverOutcome> {
    const {ctx, cfg} = this
    const quiet = async () =>
      (await peerReady(cfg, this.peer, marker.id)) === false && (await inRecoveryAt(cfg, this.peer))?.inRecovery === true
    if (!(await quiet()) || (await this.sleep(5000), !(await quiet()))) {
      throw new StepFailedError(
        `switchover ${marker.id} stalled: ${cfg.node.name} is stopped (clean, checkpoint ${checkpoint}) but ${cfg.peer.name} neither promoted nor provably gave up`,
        `check ${cfg.peer.name}: if it is primary, run pgha rejoin here; if it is a standby, pgha start-db here. Then pgha switchover --abort`,
      )
    }
    this.mark(`${cfg.peer.name} did not promote and its half is gone: rolling back`)
    await ensureDbRunning(ctx, cfg)
    await this.net.claim('primary')
    await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, null)
    throw new StepFailedError(
      `switchover ${marker.id} rolled back: ${cfg.peer.name} did not promote within ${this.partnerMs / 1000} s; ${cfg.node.name} is primary again`,
      `see ${cfg.peer.name}'s pgha output or log`,
    )
  }

  // ── promote half: runs on the current standby ──────────────────────────────────────────
  async promote(plan: string[]): Promise<SwitchoverOutcome> {
    const {ctx, cfg} = this
    if (!cfg.node.canPrimary)
      throw new SafetyRefusal(
        `${cfg.node.name} has node.canPrimary false; it may not become primary`,
        'switch over to another host or change the config',
      )
    const wal = await standbyWal(ctx, cfg)
    if (wal.receiverStatus !== 'streaming' || !wal.receivedTli || !wal.replayLsn)
      throw new SafetyRefusal(
        `${cfg.node.name} is not streaming from the primary (receiver ${wal.receiverStatus ?? 'absent'})`,
        'fix replication first (pgha status)',
      )
    if (ctx.dryRun) {
      await claimMarker(ctx, cfg, this.peer, cfg.peer.name, cfg.node.name, 0) // recorded in the plan only
      return this.outcome(false, `would switch over ${cfg.peer.name} → ${cfg.node.name}`, plan)
    }

    const {marker} = await claimMarker(ctx, cfg, this.peer, cfg.peer.name, cfg.node.name, this.deadline - Date.now() + 60_000)
    // This host's watch loop reads the replicated copy: it must see the marker before the
    // primary goes away, or it could take the stop for a failure and fence the old primary.
    const seen = await this.until(
      'the marker to replicate here',
      this.partnerMs,
      async () => parseMarker((await readClusterState(cfg, localEndpoint(cfg), 5000)).switchover)?.id === marker.id,
    )
    if (!seen) {
      await setMarkerPhase(ctx, cfg, this.peer, marker, null).catch(() => false)
      throw new StepFailedError(
        `the switchover marker did not replicate to ${cfg.node.name} within ${this.partnerMs / 1000} s; nothing was changed (marker cleared)`,
        'check replication (pgha status)',
      )
    }
    this.ready = await openReadySession(cfg, marker.id)
    const fromLsn = wal.replayLsn
    const tli = wal.receivedTli
    this.mark(`marker ${marker.id}; ready session open; waiting for ${cfg.peer.name} to stop`)
    const gone = await this.until(
      `${cfg.peer.name} to stop`,
      this.partnerMs,
      async () => (await standbyWal(ctx, cfg)).receiverStatus !== 'streaming' && (await inRecoveryAt(cfg, this.peer)) === undefined,
    )
    if (!gone) {
      await this.close()
      await setMarkerPhase(ctx, cfg, this.peer, marker, null).catch(() => false)
      throw new StepFailedError(
        `${cfg.peer.name}'s half of switchover ${marker.id} did not stop the primary within ${this.partnerMs / 1000} s; nothing was changed (marker cleared)`,
        `run pgha switchover on ${cfg.peer.name} too, or run pgha watch there`,
      )
    }
    const goneAt = Date.now()
    this.mark(`${cfg.peer.name} is down`)
    // Claim VIP-M from now on, in parallel with the proof and the promotion: its ARP duplicate
    // check (≥ 2 s) would otherwise add to the outage. Until the promotion ends VIP-M reaches a
    // read-only server: clients get an error, never a lost write. Released again on failure.
    const vip: Promise<true | Error> = this.claimWithin('primary', 15_000, {handover: true}).then(
      (): true => true,
      (e: unknown) => e as Error,
    )
    const giveBackVip = async () => {
      if ((await vip) === true) await this.net.release('primary').catch(() => undefined)
    }
    let checkpoint: Awaited<ReturnType<typeof verifyShutdownCheckpointReceived>>
    try {
      const received = (await standbyWal(ctx, cfg)).receiveLsn ?? '0/0'
      checkpoint = await verifyShutdownCheckpointReceived(ctx, cfg, tli, fromLsn, received)
      const replayed = await this.until('the shutdown checkpoint to be replayed', 30_000, async () => {
        const w = await standbyWal(ctx, cfg)
        return w.replayLsn !== undefined && w.replayLsn === w.receiveLsn
      })
      if (!replayed)
        throw new StepFailedError(
          `received WAL up to ${received} is not replayed within 30 s`,
          'check the standby log; nothing was promoted',
        )
      this.mark(`the old primary's CHECKPOINT_SHUTDOWN at ${checkpoint.lsn} is received and replayed`)
      // restore_command stays during promotion: the peer (and its archive) is alive.
      await this.promoteNow(
        `switchover ${marker.id}: the old primary stopped cleanly and its shutdown checkpoint ${checkpoint.lsn} is replayed here`,
      )
    } catch (error) {
      await giveBackVip()
      throw error
    }
    const claimed = await vip
    if (claimed instanceof Error)
      throw new StepFailedError(
        `promoted, but VIP-M could not be claimed: ${claimed.message}`,
        'claim it by hand (pgha claim-vip primary); the marker stays so the watch loops keep out, then pgha switchover --abort',
      )
    await this.close()
    const outageMs = Date.now() - goneAt
    this.mark('promoted and VIP-M claimed: writes resume')
    await psqlChange(ctx, cfg, 'CHECKPOINT;', "put the new timeline into pg_control, so the old primary's pg_rewind sees it at once")
    await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, 'promoted')
    const streams = await this.until(`${cfg.peer.name} to stream from here`, Math.max(this.partnerMs, this.deadline - Date.now()), () =>
      peerStreams(ctx, cfg),
    )
    if (!streams) {
      throw new StepFailedError(
        `${cfg.node.name} is primary, but ${cfg.peer.name} does not stream from it yet; VIP-S and the marker are left as they are`,
        `check pgha on ${cfg.peer.name} (pgha rejoin there), then pgha switchover --abort`,
      )
    }
    this.mark(`${cfg.peer.name} streams from here`)
    // The marker stays until the old primary holds VIP-S: were the loops to act in between,
    // this primary would take the VIP-S-less standby for lost and fence it.
    await this.net.release('standby')
    await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, 'standby-vip-free')
    this.mark(`VIP-S released; waiting for ${cfg.peer.name} to claim it and clear the marker`)
    const cleared = await this.until(
      `${cfg.peer.name} to claim VIP-S`,
      this.partnerMs,
      async () => (await readClusterState(cfg, localEndpoint(cfg), 5000)).switchover === null,
    )
    if (!cleared) {
      await this.net.claim('standby').catch(() => undefined)
      await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, null)
      throw new StepFailedError(
        `switched over, but ${cfg.peer.name} did not claim VIP-S within ${this.partnerMs / 1000} s: VIP-S is back here and the marker is cleared`,
        `the watch loops hand VIP-S over once ${cfg.peer.name} is a healthy standby; check pgha on ${cfg.peer.name}`,
      )
    }
    this.mark(`${cfg.peer.name} holds VIP-S and cleared the marker`)
    return this.outcome(
      true,
      `switched over: ${cfg.node.name} is primary (shutdown checkpoint ${checkpoint.lsn} replayed before promotion), ${cfg.peer.name} streams from it`,
      plan,
      marker,
      {outageMs, shutdownCheckpoint: checkpoint.lsn},
    )
  }
}

/**
 * `pgha switchover` on a host whose watch runs the half already: wait (bounded by the half's
 * deadline) until the watch's half ends, then report the role this host ended in.
 */
async function followWatchHalf(
  ctx: SystemContext,
  cfg: Config,
  run: HalfRun,
  side: SwitchoverSide,
  plan: string[],
  pid: number,
): Promise<SwitchoverOutcome> {
  run.mark(`pgha watch (PID ${pid}) runs this host's ${side} half already: following it`)
  const ended = await run.until(`pgha watch's ${side} half to end`, run.deadline - Date.now(), async () => heldBy(cfg) === undefined)
  if (!ended)
    throw new StepFailedError(
      `pgha watch's ${side} half (PID ${pid}) did not end within the switchover timeout`,
      'see the pgha watch log on this host',
    )
  const role = await detectRole(ctx, cfg)
  const wanted = side === 'demote' ? 'standby' : 'primary'
  if (role.role !== wanted)
    throw new StepFailedError(
      `pgha watch's ${side} half ended with ${cfg.node.name} ${role.running ? role.role : 'stopped'}, not ${wanted}`,
      'see the pgha watch log on this host (journalctl -u pgha)',
    )
  return {
    changed: true,
    summary: `switched over by pgha watch's ${side} half (PID ${pid}): ${cfg.node.name} is now ${wanted}`,
    side,
    plan,
    timeline: run.timeline,
  }
}

/** Clear a switchover marker left by a half that died (on whichever server is the writable primary). */
export async function abortSwitchover(ctx: SystemContext, cfg: Config, primary: PgEndpoint): Promise<StepOutcome<{cleared?: string}>> {
  const rows = await withPgClient(
    cfg,
    primary,
    {timeoutMs: 5000},
    async (c) => (await c.query('SELECT switchover FROM pgha.cluster_state WHERE id = 1')).rows,
  )
  const current = rows[0]?.switchover as string | null
  if (!current) return {changed: false, summary: 'no switchover marker is set; nothing to do'}
  if (!ctx.sqlChange('primary', 'UPDATE pgha.cluster_state SET switchover = NULL', 'clear the switchover marker: watch loops act again'))
    return {changed: false, summary: `would clear the marker ${current}`}
  await withPgClient(cfg, primary, {timeoutMs: 5000}, (c) =>
    c.query('UPDATE pgha.cluster_state SET switchover = NULL, updated_at = now() WHERE id = 1'),
  )
  return {changed: true, summary: `cleared the switchover marker ${current}`, cleared: current}
}

import {formatBytes} from '../config/units.js'
import {SafetyRefusal, StepFailedError} from '../errors.js'
import {localEndpoint, type PgEndpoint} from '../system/pg.js'
import {psqlChange} from '../system/pgctl.js'
import {readControlData} from '../system/rewind.js'
import {ensureDbRunning, ensureDbStopped} from './db.js'
import {readClusterState} from './pause.js'
import {ensureRejoinedAsStandby} from './rejoin.js'
import type {HalfRun, SwitchoverOutcome} from './switchover-half.js'
import {parseMarker, type SwitchoverMarker} from './switchover-plan.js'
import {claimMarker, inRecoveryAt, peerReady, setMarkerPhase, standbyLagBytes} from './switchover-probe.js'

// ── demote half: runs on the current primary ───────────────────────────────────────────

/** The primary's half: wait for the standby's half, stop cleanly, hand VIP-M over, rejoin as a standby, take VIP-S. */
export async function demoteHalf(run: HalfRun, plan: string[]): Promise<SwitchoverOutcome> {
  const {ctx, cfg} = run
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
    return run.outcome(false, `would switch over ${cfg.node.name} → ${cfg.peer.name} (standby ${formatBytes(lag)} behind)`, plan)
  }

  const {marker} = await claimMarker(ctx, cfg, localEndpoint(cfg), cfg.node.name, cfg.peer.name, run.deadline - Date.now() + 60_000)
  run.mark(`marker ${marker.id} set; waiting for ${cfg.peer.name}'s promote half`)
  if (
    !(await run.until(`${cfg.peer.name}'s ready session`, run.partnerMs, async () => (await peerReady(cfg, run.peer, marker.id)) === true))
  ) {
    await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, null)
    throw new StepFailedError(
      `${cfg.peer.name}'s half of switchover ${marker.id} did not start within ${run.partnerMs / 1000} s; nothing was changed (marker cleared)`,
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
  run.mark('CHECKPOINT done (writes still go on)')
  run.mark('stopping PostgreSQL (fast): writes stop here')
  const stoppedAt = Date.now()
  await ensureDbStopped(ctx, cfg, {mode: 'fast'})
  run.mark('PostgreSQL stopped')
  // VIP-M goes only now: the standby streams through it, and the walsenders must ship the
  // shutdown checkpoint before they exit. Then at once, so the promote half's ARP check can
  // start; the clean-stop check runs meanwhile. The standby proves the clean stop again from
  // its own WAL before it promotes.
  const [control] = await Promise.all([readControlData(ctx, cfg, 10_000), run.net.release('primary')])
  run.mark('VIP-M released')
  if (control?.state !== 'shut down')
    throw new StepFailedError(
      `PostgreSQL did not shut down cleanly (state "${control?.state}")`,
      'investigate before restarting it; the marker stays so the watch loops keep out',
    )
  run.mark(`stopped cleanly; shutdown checkpoint at ${control.latestCheckpoint}`)

  // At the peer's own address first (no VIP move in the way), then through VIP-M, which the
  // rejoin streams from; short query bounds, so a try that hit the VIP-M gap costs little.
  const promoted = await run.until(
    `${cfg.peer.name} to become a writable primary`,
    run.partnerMs,
    async () => (await inRecoveryAt(cfg, run.peer, 1000))?.inRecovery === false,
    50,
  )
  if (!promoted) return rollBack(run, marker, control.latestCheckpoint)
  const outageMs = Date.now() - stoppedAt
  run.mark(`${cfg.peer.name} is the writable primary`)
  if (
    await run.until(
      `VIP-M to reach ${cfg.peer.name}`,
      15_000,
      async () => (await inRecoveryAt(cfg, {kind: 'tcp', ...run.source}, 500))?.inRecovery === false,
      50,
    )
  )
    run.mark(`VIP-M reaches ${cfg.peer.name}`)

  const rejoin = await ensureRejoinedAsStandby(ctx, cfg, {
    source: run.source,
    timeoutMs: Math.max(30_000, run.deadline - Date.now()),
    afterCleanStop: true,
  })
  if (rejoin.method === 'rewind' && rejoin.rewindNotNeeded === false)
    ctx.log.error(
      'pg_rewind undid WAL on the old primary: it had WAL the new primary lacked (this must not happen after a clean switchover)',
    )
  run.mark(`rejoined as a standby (${rejoin.method}${rejoin.rewindNotNeeded ? ', nothing to undo' : ''})`)
  const primaryEp: PgEndpoint = {kind: 'tcp', ...run.source}
  const free = await run.until(
    'the new primary to release VIP-S',
    run.partnerMs,
    async () => parseMarker((await readClusterState(cfg, primaryEp, 5000)).switchover)?.phase === 'standby-vip-free',
  )
  const gotVipS =
    free &&
    (await run.claimWithin('standby', 15_000).then(
      () => true,
      () => false,
    ))
  if (gotVipS) {
    await setMarkerPhase(ctx, cfg, primaryEp, marker, null)
    run.mark('VIP-S claimed; marker cleared on the new primary: watch loops act again')
  } else {
    run.mark(`VIP-S not claimed: ${cfg.peer.name} keeps it and clears the marker; the watch loops hand it over`)
  }
  return run.outcome(
    true,
    `switched over: ${cfg.peer.name} is primary, ${cfg.node.name} streams from it (writes stopped for ${(outageMs / 1000).toFixed(1)} s as seen from here)`,
    plan,
    marker,
    {outageMs, rejoin: rejoin.summary, shutdownCheckpoint: control.latestCheckpoint, rewound: rejoin.rewindNotNeeded === false},
  )
}

/** The peer never promoted: start again as primary, but only when it provably will not promote. */
async function rollBack(run: HalfRun, marker: SwitchoverMarker, checkpoint: string): Promise<SwitchoverOutcome> {
  const {ctx, cfg} = run
  const quiet = async () =>
    (await peerReady(cfg, run.peer, marker.id)) === false && (await inRecoveryAt(cfg, run.peer))?.inRecovery === true
  if (!(await quiet()) || (await run.sleep(5000), !(await quiet()))) {
    throw new StepFailedError(
      `switchover ${marker.id} stalled: ${cfg.node.name} is stopped (clean, checkpoint ${checkpoint}) but ${cfg.peer.name} neither promoted nor provably gave up`,
      `check ${cfg.peer.name}: if it is primary, run pgha rejoin here; if it is a standby, pgha start-db here. Then pgha switchover --abort`,
    )
  }
  run.mark(`${cfg.peer.name} did not promote and its half is gone: rolling back`)
  await ensureDbRunning(ctx, cfg)
  await run.net.claim('primary')
  await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, null)
  throw new StepFailedError(
    `switchover ${marker.id} rolled back: ${cfg.peer.name} did not promote within ${run.partnerMs / 1000} s; ${cfg.node.name} is primary again`,
    `see ${cfg.peer.name}'s pgha output or log`,
  )
}

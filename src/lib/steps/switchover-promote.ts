import {SafetyRefusal, StepFailedError} from '../errors.js'
import {localEndpoint} from '../system/pg.js'
import {psqlChange} from '../system/pgctl.js'
import {readClusterState} from './pause.js'
import type {HalfRun, SwitchoverOutcome} from './switchover-half.js'
import {parseMarker} from './switchover-plan.js'
import {
  claimMarker,
  inRecoveryAt,
  openReadySession,
  peerStreams,
  setMarkerPhase,
  standbyWal,
  verifyShutdownCheckpointReceived,
} from './switchover-probe.js'

// ── promote half: runs on the current standby ──────────────────────────────────────────

/** The standby's half: wait for the primary to stop, prove its shutdown checkpoint is replayed, promote, claim VIP-M, hand VIP-S over. */
export async function promoteHalf(run: HalfRun, plan: string[]): Promise<SwitchoverOutcome> {
  const {ctx, cfg} = run
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
    await claimMarker(ctx, cfg, run.peer, cfg.peer.name, cfg.node.name, 0) // recorded in the plan only
    return run.outcome(false, `would switch over ${cfg.peer.name} → ${cfg.node.name}`, plan)
  }

  const {marker} = await claimMarker(ctx, cfg, run.peer, cfg.peer.name, cfg.node.name, run.deadline - Date.now() + 60_000)
  // This host's watch loop reads the replicated copy: it must see the marker before the
  // primary goes away, or it could take the stop for a failure and fence the old primary.
  const seen = await run.until(
    'the marker to replicate here',
    run.partnerMs,
    async () => parseMarker((await readClusterState(cfg, localEndpoint(cfg), 5000)).switchover)?.id === marker.id,
  )
  if (!seen) {
    await setMarkerPhase(ctx, cfg, run.peer, marker, null).catch(() => false)
    throw new StepFailedError(
      `the switchover marker did not replicate to ${cfg.node.name} within ${run.partnerMs / 1000} s; nothing was changed (marker cleared)`,
      'check replication (pgha status)',
    )
  }
  run.ready = await openReadySession(cfg, marker.id)
  const fromLsn = wal.replayLsn
  const tli = wal.receivedTli
  run.mark(`marker ${marker.id}; ready session open; waiting for ${cfg.peer.name} to stop`)
  const gone = await run.until(
    `${cfg.peer.name} to stop`,
    run.partnerMs,
    async () => (await standbyWal(ctx, cfg)).receiverStatus !== 'streaming' && (await inRecoveryAt(cfg, run.peer)) === undefined,
    50,
  )
  if (!gone) {
    await run.close()
    await setMarkerPhase(ctx, cfg, run.peer, marker, null).catch(() => false)
    throw new StepFailedError(
      `${cfg.peer.name}'s half of switchover ${marker.id} did not stop the primary within ${run.partnerMs / 1000} s; nothing was changed (marker cleared)`,
      `run pgha switchover on ${cfg.peer.name} too, or run pgha watch there`,
    )
  }
  const goneAt = Date.now()
  run.mark(`${cfg.peer.name} is down`)
  // Claim VIP-M from now on, in parallel with the proof and the promotion: its ARP duplicate
  // check (1 s) would otherwise add to the outage. Until the promotion ends VIP-M reaches a
  // read-only server: clients get an error, never a lost write. Released again on failure.
  const vip: Promise<true | Error> = run
    .claimWithin('primary', 15_000, {handover: true, onAdded: () => run.mark('VIP-M added here (gratuitous ARP follows)')})
    .then(
      (): true => (run.mark('VIP-M claimed and announced'), true),
      (e: unknown) => e as Error,
    )
  const giveBackVip = async () => {
    if ((await vip) === true) await run.net.release('primary').catch(() => undefined)
  }
  let checkpoint: Awaited<ReturnType<typeof verifyShutdownCheckpointReceived>>
  try {
    const received = (await standbyWal(ctx, cfg)).receiveLsn ?? '0/0'
    checkpoint = await verifyShutdownCheckpointReceived(ctx, cfg, tli, fromLsn, received)
    const replayed = await run.until('the shutdown checkpoint to be replayed', 30_000, async () => {
      const w = await standbyWal(ctx, cfg)
      return w.replayLsn !== undefined && w.replayLsn === w.receiveLsn
    })
    if (!replayed)
      throw new StepFailedError(`received WAL up to ${received} is not replayed within 30 s`, 'check the standby log; nothing was promoted')
    run.mark(`the old primary's CHECKPOINT_SHUTDOWN at ${checkpoint.lsn} is received and replayed`)
    // restore_command stays during promotion: the peer (and its archive) is alive.
    await run.promoteNow(
      `switchover ${marker.id}: the old primary stopped cleanly and its shutdown checkpoint ${checkpoint.lsn} is replayed here`,
    )
    run.mark('promoted: this server takes writes')
  } catch (error) {
    await giveBackVip()
    throw error
  }
  await psqlChange(ctx, cfg, 'CHECKPOINT;', "put the new timeline into pg_control, so the old primary's pg_rewind sees it at once")
  const claimed = await vip
  if (claimed instanceof Error)
    throw new StepFailedError(
      `promoted, but VIP-M could not be claimed: ${claimed.message}`,
      'claim it by hand (pgha claim-vip primary); the marker stays so the watch loops keep out, then pgha switchover --abort',
    )
  await run.close()
  const outageMs = Date.now() - goneAt
  run.mark('promoted and VIP-M claimed: writes resume')
  await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, 'promoted')
  const streams = await run.until(`${cfg.peer.name} to stream from here`, Math.max(run.partnerMs, run.deadline - Date.now()), () =>
    peerStreams(ctx, cfg),
  )
  if (!streams) {
    throw new StepFailedError(
      `${cfg.node.name} is primary, but ${cfg.peer.name} does not stream from it yet; VIP-S and the marker are left as they are`,
      `check pgha on ${cfg.peer.name} (pgha rejoin there), then pgha switchover --abort`,
    )
  }
  run.mark(`${cfg.peer.name} streams from here`)
  // The marker stays until the old primary holds VIP-S: were the loops to act in between,
  // this primary would take the VIP-S-less standby for lost and fence it.
  await run.net.release('standby')
  await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, 'standby-vip-free')
  run.mark(`VIP-S released; waiting for ${cfg.peer.name} to claim it and clear the marker`)
  const cleared = await run.until(
    `${cfg.peer.name} to claim VIP-S`,
    run.partnerMs,
    async () => (await readClusterState(cfg, localEndpoint(cfg), 5000)).switchover === null,
  )
  if (!cleared) {
    await run.net.claim('standby').catch(() => undefined)
    await setMarkerPhase(ctx, cfg, localEndpoint(cfg), marker, null)
    throw new StepFailedError(
      `switched over, but ${cfg.peer.name} did not claim VIP-S within ${run.partnerMs / 1000} s: VIP-S is back here and the marker is cleared`,
      `the watch loops hand VIP-S over once ${cfg.peer.name} is a healthy standby; check pgha on ${cfg.peer.name}`,
    )
  }
  run.mark(`${cfg.peer.name} holds VIP-S and cleared the marker`)
  return run.outcome(
    true,
    `switched over: ${cfg.node.name} is primary (shutdown checkpoint ${checkpoint.lsn} replayed before promotion), ${cfg.peer.name} streams from it`,
    plan,
    marker,
    {outageMs, shutdownCheckpoint: checkpoint.lsn},
  )
}

import type {Config} from '../config/schema.js'
import {formatBytes, formatDuration} from '../config/units.js'
import {StepFailedError, UsageError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {pgCtlStatus} from '../system/pgctl.js'
import {
  defaultSource,
  isCleanlyShutDown,
  parseRewindCopiedKb,
  pgRewindArgv,
  rewindCapability,
  rewindSourceConninfo,
} from '../system/rewind.js'
import {ensureDbStopped} from './db.js'
import {msUntilWindow} from './quiet-window.js'
import {checkSource, ensureSourceCheckpointed, isStreamingFrom, localIdentity, localReplication, sourceFacts} from './rejoin-probe.js'
import {copyWithBasebackup, dataDirState, readHostConfig, writeStandbyConfig} from './rejoin-files.js'
import {crashRecoverSingleUser, mustReadControl} from './rejoin-crash-recovery.js'
import {finishFresh, startAndStream} from './rejoin-fresh.js'
import type {RejoinOptions, RejoinOutcome} from './rejoin-types.js'

export type {RejoinMethod, RejoinOptions, RejoinOutcome} from './rejoin-types.js'

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Turn this host's stopped or diverged primary (or a broken standby) into a standby streaming
 * from the new primary through VIP-M. Idempotent: already streaming from there → changed:false.
 */
export async function ensureRejoinedAsStandby(ctx: SystemContext, cfg: Config, opts: RejoinOptions = {}): Promise<RejoinOutcome> {
  const started = Date.now()
  const deadline = started + (opts.timeoutMs ?? 30 * 60_000)
  const left = () => Math.max(1000, deadline - Date.now())
  const sleep = opts.sleep ?? realSleep
  const method = opts.method ?? 'auto'
  const src = opts.source ?? defaultSource(cfg)
  const where = `${src.host}:${src.port}`
  const phases: RejoinOutcome['phases'] = []
  let t0 = Date.now()
  const phase = (name: string) => {
    phases.push({name, ms: Date.now() - t0})
    t0 = Date.now()
  }
  const probeMs = Math.min(10_000, cfg.postgres.stepTimeout)

  // 1. Already done? (A missing or empty data directory — a rebuilt host — gets a full copy.)
  const fresh = dataDirState(cfg.postgres.datadir) === 'missing'
  const status = fresh ? {running: false} : await pgCtlStatus(ctx, cfg)
  let identity: {systemIdentifier: string; postmasterStart?: string} = {systemIdentifier: ''}
  if (status.running) {
    const repl = await localReplication(ctx, cfg, probeMs)
    if (isStreamingFrom(repl, src)) {
      return {
        changed: false,
        summary: `already a standby streaming from ${where}; nothing to do`,
        method: 'none',
        why: 'pg_stat_wal_receiver status is streaming',
        phases,
      }
    }
    identity = await localIdentity(ctx, cfg, probeMs)
  } else if (!fresh) {
    identity = {systemIdentifier: (await mustReadControl(ctx, cfg, probeMs)).systemIdentifier}
  } else if (method === 'rewind') {
    throw new StepFailedError(`${cfg.postgres.datadir} is missing or empty: there is nothing to rewind`, 'use --method auto or basebackup')
  }

  // 2. The source must be another, writable server of this cluster.
  const facts = await sourceFacts(cfg, src, probeMs)
  checkSource(cfg, src, facts, identity, method)
  phase('checks')

  // 3. Quiet window: wait before touching anything.
  if (opts.window) {
    const wait = msUntilWindow(opts.window, (opts.now ?? (() => new Date()))())
    if (wait > (opts.maxWaitMs ?? 12 * 3_600_000)) {
      throw new UsageError(
        `quiet window ${opts.window.text} opens in ${formatDuration(Math.round(wait / 60_000) * 60_000)}, later than --max-wait ${formatDuration(opts.maxWaitMs ?? 0)}`,
        'pick another --window or raise --max-wait; nothing was changed',
      )
    }
    if (wait > 0 && !ctx.dryRun) {
      ctx.log.info(`waiting ${Math.ceil(wait / 1000)} s for the quiet window ${opts.window.text}`)
      await sleep(wait)
    }
    phase('window')
  }

  await opts.confirm?.(
    `rejoin ${cfg.node.name} as a standby of ${where}: stop PostgreSQL and rewrite its data directory ${cfg.postgres.datadir}?`,
  )

  if (fresh) return finishFresh(ctx, cfg, src, facts.totalBytes, {started, deadline, left, sleep, phase, phases})

  // 4. Stop; pg_controldata says which path (wal_log_hints / checksums hold while running too).
  const wasRunning = status.running
  if (wasRunning) await ensureDbStopped(ctx, cfg, {mode: 'fast'})
  let control = await mustReadControl(ctx, cfg, probeMs)
  const cap = rewindCapability(control)
  let used: 'rewind' | 'basebackup' | 'none' = method === 'basebackup' || !cap.possible ? 'basebackup' : 'rewind'
  let why = method === 'basebackup' ? 'asked for with --method basebackup' : cap.why
  if (method === 'rewind' && !cap.possible)
    throw new StepFailedError(`cannot use pg_rewind: ${cap.why}`, 'use --method basebackup (or auto); PostgreSQL was left stopped')
  // Under --dry-run a running server was not really stopped: it would be clean after the fast stop.
  const clean = isCleanlyShutDown(control) || (ctx.dryRun && wasRunning)
  if (used === 'basebackup' && method === 'auto' && opts.afterCleanStop && clean) {
    used = 'none'
    why = `clean switchover stop (shutdown checkpoint ${control.latestCheckpoint} replayed by the new primary) and no pg_rewind possible: no copy; streaming verifies the histories`
  }
  // pg_rewind needs a cleanly shut down target; a full copy does not care.
  if (used === 'rewind' && !clean) {
    await crashRecoverSingleUser(ctx, cfg, control, left())
    if (!ctx.dryRun) control = await mustReadControl(ctx, cfg, probeMs)
  }
  phase('stop')

  // 5. Copy: pg_rewind when the data directory allows it, else (or on failure) pg_basebackup.
  const savedConfig = await readHostConfig(ctx, cfg)
  ctx.log.info(`rejoin by ${used === 'rewind' ? 'pg_rewind' : used === 'none' ? 'config only' : 'pg_basebackup'}: ${why}`)
  let rewindNotNeeded: boolean | undefined
  let rewindCopiedKb: number | undefined
  let keptAside: string | undefined
  if (used === 'rewind') {
    ctx.log.info(await ensureSourceCheckpointed(ctx, cfg, src, deadline, sleep))
    phase('source-checkpoint')
    const r = await ctx.change(
      pgRewindArgv(cfg, rewindSourceConninfo(cfg, src)),
      {timeoutMs: left(), asUser: cfg.postgres.osUser, env: {LC_MESSAGES: 'C'}},
      `rewind ${cfg.postgres.datadir} to the new primary's timeline (${why})`,
    )
    if (r.exitCode === 0) {
      rewindNotNeeded = /no rewind required/i.test(r.stdout + r.stderr)
      rewindCopiedKb = parseRewindCopiedKb(r.stdout + '\n' + r.stderr)
    } else if (method === 'auto') {
      why = `pg_rewind failed (${describeFailure(r)}), falling back to a full copy`
      ctx.log.warn(why)
      used = 'basebackup'
    } else {
      throw new StepFailedError(`pg_rewind failed: ${describeFailure(r)}`, 'retry with --method basebackup; PostgreSQL was left stopped')
    }
  }
  if (used === 'basebackup') keptAside = await copyWithBasebackup(ctx, cfg, src, facts.totalBytes, left, opts.now)
  phase(used)

  // 6. Standby configuration (host files restored: the copy brought the source's), start, stream.
  await writeStandbyConfig(ctx, cfg, src, savedConfig, false)
  const mayFallBack = used === 'rewind' && method === 'auto' && !ctx.dryRun
  try {
    // A rewound server still needs the new primary's WAL from the fork on; if that was
    // recycled (no archive, no slot) it never becomes consistent: give up on it early.
    await startAndStream(
      ctx,
      cfg,
      src,
      mayFallBack ? Math.min(deadline, Date.now() + cfg.postgres.stepTimeout + 30_000) : deadline,
      sleep,
      opts.timeoutMs,
    )
  } catch (error) {
    if (!mayFallBack) throw error
    why = `the rewound server did not stream (${(error as Error).message.split(':')[0]}; the new primary may have recycled WAL from the fork on), falling back to a full copy`
    ctx.log.warn(why)
    await ensureDbStopped(ctx, cfg, {mode: 'fast'})
    keptAside = await copyWithBasebackup(ctx, cfg, src, facts.totalBytes, left, opts.now)
    used = 'basebackup'
    await writeStandbyConfig(ctx, cfg, src, savedConfig, false)
    await startAndStream(ctx, cfg, src, deadline, sleep, opts.timeoutMs)
  }
  phase('start+stream')
  if (ctx.dryRun) {
    return {
      changed: false,
      summary: `would rejoin as a standby of ${where} by ${used === 'rewind' ? 'pg_rewind' : used === 'none' ? 'standby config only' : 'pg_basebackup'} (${why})`,
      method: used,
      why,
      phases,
    }
  }
  const total = Date.now() - started
  const how =
    used === 'rewind'
      ? rewindNotNeeded
        ? 'pg_rewind (nothing to undo)'
        : `pg_rewind${rewindCopiedKb !== undefined ? ` (${formatBytes(rewindCopiedKb * 1024)} copied)` : ''}`
      : used === 'none'
        ? 'standby config only (clean stop)'
        : `pg_basebackup (old data kept at ${keptAside})`
  return {
    changed: true,
    summary: `rejoined as a standby streaming from ${where} by ${how} in ${(total / 1000).toFixed(1)} s`,
    method: used,
    why,
    rewindNotNeeded,
    rewindCopiedKb,
    keptAside,
    phases,
    durationMs: total,
  }
}

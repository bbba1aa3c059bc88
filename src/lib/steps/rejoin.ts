import {statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {Config} from '../config/schema.js'
import {formatBytes, formatDuration} from '../config/units.js'
import {StepFailedError, UsageError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {pgCtlChange, pgCtlStatus, readServerMajor} from '../system/pgctl.js'
import {
  asideDirs, type ControlData, defaultSource, directoryBytes, freeBytes, HOST_CONFIG_FILES, isCleanlyShutDown, pgBasebackupArgv,
  parseRewindCopiedKb, pgRewindArgv, primaryConninfo, readControlData, requiredCopyBytes, rewindCapability, rewindSourceConninfo, singleUserRecoveryArgv,
  type SourceServer,
} from '../system/rewind.js'
import {ensureDbRunning, ensureDbStopped} from './db.js'
import {msUntilWindow, type QuietWindow} from './quiet-window.js'
import {checkSource, ensureSourceCheckpointed, isStreamingFrom, localIdentity, localReplication, sourceFacts, waitUntilStreaming} from './rejoin-probe.js'
import {peerRestoreCommand, withStandbySettings} from './rejoin-settings.js'
import type {StepOutcome} from './types.js'

export type RejoinMethod = 'auto' | 'rewind' | 'basebackup'

export interface RejoinOptions {
  /** auto: pg_rewind when possible, pg_basebackup when not or when pg_rewind fails. */
  method?: RejoinMethod
  /** Copy only inside this window (the seed's RSYNC_WAIT); waits at most maxWaitMs for it. */
  window?: QuietWindow
  maxWaitMs?: number
  /** Bound for the whole step, copy included (default 30 min). */
  timeoutMs?: number
  /** Where to copy/stream from; default VIP-M on postgres.port (tests and the lab may override). */
  source?: SourceServer
  /** Called once before the first change (the command asks the DBA here). */
  confirm?: (question: string) => Promise<void>
  now?: () => Date
  sleep?: (ms: number) => Promise<void>
  /**
   * Switchover: this primary was stopped cleanly after the new primary replayed its shutdown
   * checkpoint, so nothing diverged. Without wal_log_hints/checksums (no pg_rewind) only the
   * standby config is written; streaming then proves the histories match (a fork would fail).
   */
  afterCleanStop?: boolean
}

export interface RejoinOutcome extends StepOutcome {
  /** What copied the data: none (already streaming, or clean switchover stop), rewind, basebackup. */
  method: 'none' | 'rewind' | 'basebackup'
  /** Why that method, in one sentence. */
  why: string
  /** pg_rewind found nothing to undo (a cleanly stopped former primary, e.g. after switchover). */
  rewindNotNeeded?: boolean
  /** What pg_rewind reported copying (its --progress total). */
  rewindCopiedKb?: number
  /** Where the previous data directory was moved (basebackup only; never deleted). */
  keptAside?: string
  phases: {name: string; ms: number}[]
}

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

  // 1. Already done?
  const status = await pgCtlStatus(ctx, cfg)
  let identity: {systemIdentifier: string; postmasterStart?: string} = {systemIdentifier: ''}
  if (status.running) {
    const repl = await localReplication(ctx, cfg, probeMs)
    if (isStreamingFrom(repl, src)) {
      return {changed: false, summary: `already a standby streaming from ${where}; nothing to do`, method: 'none', why: 'pg_stat_wal_receiver status is streaming', phases}
    }
    identity = await localIdentity(ctx, cfg, probeMs)
  } else {
    identity = {systemIdentifier: (await mustReadControl(ctx, cfg, probeMs)).systemIdentifier}
  }

  // 2. The source must be another, writable server of this cluster.
  const facts = await sourceFacts(cfg, src, probeMs)
  checkSource(cfg, src, facts, identity, method)
  phase('checks')

  // 3. Quiet window (seed RSYNC_WAIT): wait before touching anything.
  if (opts.window) {
    const wait = msUntilWindow(opts.window, (opts.now ?? (() => new Date()))())
    if (wait > (opts.maxWaitMs ?? 12 * 3_600_000)) {
      throw new UsageError(`quiet window ${opts.window.text} opens in ${formatDuration(Math.round(wait / 60_000) * 60_000)}, later than --max-wait ${formatDuration(opts.maxWaitMs ?? 0)}`, 'pick another --window or raise --max-wait; nothing was changed')
    }
    if (wait > 0 && !ctx.dryRun) {
      ctx.log.info(`waiting ${Math.ceil(wait / 1000)} s for the quiet window ${opts.window.text}`)
      await sleep(wait)
    }
    phase('window')
  }

  await opts.confirm?.(`rejoin ${cfg.node.name} as a standby of ${where}: stop PostgreSQL and rewrite its data directory ${cfg.postgres.datadir}?`)

  // 4. Stop; pg_controldata says which path (wal_log_hints / checksums hold while running too).
  const wasRunning = status.running
  if (wasRunning) await ensureDbStopped(ctx, cfg, {mode: 'fast'})
  let control = await mustReadControl(ctx, cfg, probeMs)
  const cap = rewindCapability(control)
  let used: 'rewind' | 'basebackup' | 'none' = method === 'basebackup' || !cap.possible ? 'basebackup' : 'rewind'
  let why = method === 'basebackup' ? 'asked for with --method basebackup' : cap.why
  if (method === 'rewind' && !cap.possible) throw new StepFailedError(`cannot use pg_rewind: ${cap.why}`, 'use --method basebackup (or auto); PostgreSQL was left stopped')
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
    const r = await ctx.change(pgRewindArgv(cfg, rewindSourceConninfo(cfg, src)), {timeoutMs: left(), asUser: cfg.postgres.osUser, env: {LC_MESSAGES: 'C'}}, `rewind ${cfg.postgres.datadir} to the new primary's timeline (${why})`)
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
  await writeStandbyConfig(ctx, cfg, src, savedConfig)
  if (ctx.dryRun) await pgCtlChange(ctx, cfg, 'start', 'start PostgreSQL as a standby')
  else await ensureDbRunning(ctx, cfg)
  phase('start')
  if (ctx.dryRun) {
    return {changed: false, summary: `would rejoin as a standby of ${where} by ${used === 'rewind' ? 'pg_rewind' : used === 'none' ? 'standby config only' : 'pg_basebackup'} (${why})`, method: used, why, phases}
  }
  const streaming = await waitUntilStreaming(ctx, cfg, src, deadline, sleep)
  phase('stream')
  if (!streaming.ok) {
    throw new StepFailedError(
      `rejoined data directory started but is not streaming from ${where} within ${formatDuration(opts.timeoutMs ?? 1_800_000)} (receiver: ${streaming.last?.receiverStatus ?? streaming.lastError ?? 'none'})`,
      'check the server log and that the replication user can connect (pg_hba.conf, passfile)',
    )
  }
  const total = Date.now() - started
  const how = used === 'rewind' ? (rewindNotNeeded ? 'pg_rewind (nothing to undo)' : `pg_rewind${rewindCopiedKb !== undefined ? ` (${formatBytes(rewindCopiedKb * 1024)} copied)` : ''}`) : used === 'none' ? 'standby config only (clean stop)' : `pg_basebackup (old data kept at ${keptAside})`
  return {changed: true, summary: `rejoined as a standby streaming from ${where} by ${how} in ${(total / 1000).toFixed(1)} s`, method: used, why, rewindNotNeeded, rewindCopiedKb, keptAside, phases, durationMs: total}
}

async function mustReadControl(ctx: SystemContext, cfg: Config, timeoutMs: number): Promise<ControlData> {
  const c = await readControlData(ctx, cfg, timeoutMs)
  if (!c) throw new StepFailedError(`pg_controldata cannot read ${cfg.postgres.datadir}`, 'check postgres.datadir and postgres.bindir')
  return c
}

/**
 * A target that lost power ("in production") must finish crash recovery and shut down cleanly
 * before pg_rewind accepts it: single-user mode does exactly that. Signal files would make it
 * enter standby mode, which single-user mode refuses, so they are moved away first (rejoin
 * writes standby.signal again afterwards).
 */
async function crashRecoverSingleUser(ctx: SystemContext, cfg: Config, control: ControlData, timeoutMs: number): Promise<void> {
  ctx.log.info(`data directory was not shut down cleanly (state "${control.state}"): running crash recovery in single-user mode first`)
  for (const f of ['standby.signal', 'recovery.signal']) {
    const p = join(cfg.postgres.datadir, f)
    if (exists(p)) await mustChange(ctx, ['rm', '-f', p], cfg, 10_000, `remove ${f} so single-user crash recovery can run`)
  }
  const argv = singleUserRecoveryArgv(cfg, await readServerMajor(ctx, cfg))
  const r = await ctx.change(argv, {timeoutMs, asUser: cfg.postgres.osUser, input: '', env: {LC_MESSAGES: 'C'}}, 'finish crash recovery and shut down cleanly (pg_rewind needs a clean target)')
  if (r.exitCode !== 0) throw new StepFailedError(`single-user crash recovery failed: ${describeFailure(r)}`, 'start and stop the server by hand once, then retry rejoin')
}

function exists(p: string): boolean {
  try {
    statSync(p)
    return true
  } catch {
    return false
  }
}

/** A file operation inside or next to the data directory, as the OS user that owns it. */
async function mustChange(ctx: SystemContext, argv: string[], cfg: Config, timeoutMs: number, why: string): Promise<void> {
  const r = await ctx.change(argv, {timeoutMs, asUser: cfg.postgres.osUser}, why)
  if (r.exitCode !== 0) throw new StepFailedError(`${why} failed: ${describeFailure(r)}`)
}

/** pg_basebackup into a sibling directory, then swap: the old directory is moved aside, never deleted. */
async function copyWithBasebackup(ctx: SystemContext, cfg: Config, src: SourceServer, sourceBytes: number | undefined, left: () => number, now?: () => Date): Promise<string> {
  const datadir = cfg.postgres.datadir
  const {incoming, aside} = asideDirs(datadir, (now ?? (() => new Date()))())
  const parent = dirname(datadir)
  if (statSync(datadir).dev !== statSync(parent).dev) {
    throw new StepFailedError(`${datadir} is a mount point, so it cannot be swapped with a fresh copy by rename`, 'use --method rewind, or make postgres.datadir a directory inside the mounted filesystem')
  }
  const need = requiredCopyBytes(sourceBytes ?? (await directoryBytes(ctx, cfg, datadir, 60_000)) ?? 0)
  const free = await freeBytes(datadir)
  if (free < need) {
    throw new StepFailedError(`not enough free space for a full copy next to ${datadir}: ${formatBytes(free)} free, ${formatBytes(need)} needed (the old directory is kept)`, 'free space on that filesystem, or fix wal_log_hints so pg_rewind can be used')
  }
  const r = await ctx.change(pgBasebackupArgv(cfg, primaryConninfo(cfg, src), incoming), {timeoutMs: left(), asUser: cfg.postgres.osUser, env: {LC_MESSAGES: 'C'}}, `full copy from ${src.host}:${src.port} (${formatBytes(need)} checked free)`)
  if (r.exitCode !== 0) throw new StepFailedError(`pg_basebackup failed: ${describeFailure(r)}`, `the old data directory is untouched; remove the partial copy ${incoming} and retry`)
  await mustChange(ctx, ['mv', '-T', datadir, aside], cfg, 60_000, `keep the old data directory aside as ${aside}`)
  await mustChange(ctx, ['mv', '-T', incoming, datadir], cfg, 60_000, `put the fresh copy in place as ${datadir}`)
  return aside
}

/** The host's own config files, which pg_rewind/pg_basebackup replace with the source's. */
async function readHostConfig(ctx: SystemContext, cfg: Config): Promise<Map<string, string>> {
  const saved = new Map<string, string>()
  for (const f of HOST_CONFIG_FILES) {
    const r = await ctx.probe(['cat', join(cfg.postgres.datadir, f)], {timeoutMs: 10_000, asUser: cfg.postgres.osUser})
    if (r.exitCode === 0) saved.set(f, r.stdout + (r.stdout.endsWith('\n') || r.stdout === '' ? '' : '\n'))
  }
  return saved
}

async function writeDataFile(ctx: SystemContext, cfg: Config, name: string, content: string, why: string): Promise<void> {
  const path = join(cfg.postgres.datadir, name)
  if (!ctx.fileChange(path, why)) return
  const r = await ctx.exec.run(['tee', path], {timeoutMs: 10_000, asUser: cfg.postgres.osUser, input: content})
  if (r.exitCode !== 0) throw new StepFailedError(`cannot write ${path}: ${describeFailure(r)}`)
}

async function writeStandbyConfig(ctx: SystemContext, cfg: Config, src: SourceServer, saved: Map<string, string>): Promise<void> {
  for (const [f, text] of saved) if (f !== 'postgresql.auto.conf') await writeDataFile(ctx, cfg, f, text, `restore this host's ${f} (the copy brought the source's)`)
  const conninfo = primaryConninfo(cfg, src)
  const restore = peerRestoreCommand(cfg)
  const auto = withStandbySettings(saved.get('postgresql.auto.conf') ?? '', {primary_conninfo: conninfo, restore_command: restore})
  await writeDataFile(ctx, cfg, 'postgresql.auto.conf', auto, `primary_conninfo '${conninfo}'${restore ? `, restore_command '${restore}'` : ' (archive.mode none: no restore_command)'}`)
  await writeDataFile(ctx, cfg, 'standby.signal', '', 'start as a standby')
  for (const f of ['recovery.signal']) {
    const p = join(cfg.postgres.datadir, f)
    if (exists(p)) await mustChange(ctx, ['rm', '-f', p], cfg, 10_000, `remove ${f}: standby.signal decides`)
  }
}

import {readFileSync} from 'node:fs'
import type {Config} from '../config/schema.js'
import {SafetyRefusal, StepFailedError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {listDataDir, pgCtlChange, pgCtlStatus, readServerMajor, serverLogFile, type StopMode} from '../system/pgctl.js'
import {stepDeadline} from './deadline.js'
import {roleFromFiles} from './detect-role.js'
import type {StepOutcome} from './types.js'

/** Answer of the VIP-M check: a plain boolean, or with a detail for the refusal message. */
export type VipCheck = () => Promise<boolean | {taken: boolean; detail: string}>

export interface EnsureDbRunningOptions {
  /** Start a primary even when VIP-M answers elsewhere (the operator knows better). */
  force?: boolean
  /** Does another host answer ARP for VIP-M? Asked only for a primary data directory. */
  vipPrimaryTaken?: VipCheck
}

/** The last lines of the pg_ctl -l log, for a failed start's error details. */
function logTail(cfg: Config, lines = 5): string[] {
  const file = serverLogFile(cfg.postgres)
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines)
  } catch {
    return []
  }
}

/**
 * Start PostgreSQL unless it runs. A primary data directory is not started while another
 * host answers for VIP-M (someone else is primary, so this node must rejoin), unless forced.
 */
/** ensureDbRunning/ensureDbStopped: is a server running afterwards, and (when started) as what. */
export interface DbRunDetails {
  running: boolean
  role?: ReturnType<typeof roleFromFiles>['role']
}

export async function ensureDbRunning(
  ctx: SystemContext,
  cfg: Config,
  opts: EnsureDbRunningOptions = {},
): Promise<StepOutcome<DbRunDetails>> {
  // One bound for the whole step; the VIP-M check (arping) has its own and counts against it.
  const deadline = stepDeadline(cfg.postgres.stepTimeout)
  const status = await pgCtlStatus(ctx, cfg, {timeoutMs: deadline.budget('pg_ctl status', 10_000)})
  if (status.running)
    return {changed: false, summary: `PostgreSQL already running${status.pid ? ` (PID ${status.pid})` : ''}`, running: true}

  const files = await listDataDir(ctx, cfg, {timeoutMs: deadline.budget('listing the data directory', 10_000)})
  const role = roleFromFiles(files, await readServerMajor(ctx, cfg))
  if (role.role === 'primary' && opts.vipPrimaryTaken) {
    const answer = await opts.vipPrimaryTaken()
    const {taken, detail} = typeof answer === 'boolean' ? {taken: answer, detail: ''} : answer
    if (taken && !opts.force) {
      throw new SafetyRefusal(
        `refusing to start a primary: VIP-M ${cfg.network.vipPrimary} answers on the network or could not be checked${detail ? ` (${detail})` : ''}`,
        'another host may be primary; rejoin this node as a standby, or pass --force if you are sure',
      )
    }
    if (taken) ctx.log.warn(`starting a primary although VIP-M ${cfg.network.vipPrimary} looks taken (--force)`, {detail})
  }
  if (!cfg.postgres.configFile && !files.includes('postgresql.conf')) {
    throw new StepFailedError(
      `no postgresql.conf in ${cfg.postgres.datadir}`,
      'set postgres.configFile (Debian: /etc/postgresql/<version>/<cluster>/postgresql.conf)',
    )
  }
  // Keep a moment for the pg_ctl status that confirms the start.
  const r = await pgCtlChange(ctx, cfg, 'start', `start PostgreSQL as a ${role.role}`, {
    timeoutMs: Math.max(1000, deadline.budget('pg_ctl start') - 500),
  })
  if (ctx.dryRun) return {changed: false, summary: `would start PostgreSQL (${role.role})`, running: false, role: role.role}
  if (r.exitCode !== 0 || r.timedOut) {
    throw new StepFailedError(`PostgreSQL did not start: ${describeFailure(r)}`, `see ${serverLogFile(cfg.postgres)}`, logTail(cfg))
  }
  const after = await pgCtlStatus(ctx, cfg, {timeoutMs: Math.max(500, deadline.left())})
  if (!after.running)
    throw new StepFailedError('pg_ctl start returned but no server runs', `see ${serverLogFile(cfg.postgres)}`, logTail(cfg))
  return {
    changed: true,
    summary: `started PostgreSQL as a ${role.role}${after.pid ? ` (PID ${after.pid})` : ''} in ${r.durationMs} ms`,
    running: true,
    role: role.role,
  }
}

/** Stop PostgreSQL if it runs; bounded by postgres.stepTimeout. */
export async function ensureDbStopped(
  ctx: SystemContext,
  cfg: Config,
  opts: {mode?: Extract<StopMode, 'fast' | 'immediate'>} = {},
): Promise<StepOutcome<DbRunDetails>> {
  const mode = opts.mode ?? 'fast'
  const deadline = stepDeadline(cfg.postgres.stepTimeout)
  const status = await pgCtlStatus(ctx, cfg, {timeoutMs: deadline.budget('pg_ctl status', 10_000)})
  if (!status.running) return {changed: false, summary: 'PostgreSQL already stopped', running: false}
  const r = await pgCtlChange(ctx, cfg, 'stop', `stop PostgreSQL (${mode})`, {mode, timeoutMs: deadline.budget(`pg_ctl stop -m ${mode}`)})
  if (ctx.dryRun) return {changed: false, summary: `would stop PostgreSQL (${mode})`, running: true}
  if (r.exitCode !== 0 || r.timedOut) {
    throw new StepFailedError(
      `PostgreSQL did not stop: ${describeFailure(r)}`,
      mode === 'fast' ? 'retry with --mode immediate' : 'check the server log',
    )
  }
  return {changed: true, summary: `stopped PostgreSQL (${mode}) in ${r.durationMs} ms`, running: false}
}

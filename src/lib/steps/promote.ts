import type {Config} from '../config/schema.js'
import {PghaError, SafetyRefusal, StepFailedError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {fencePower} from '../system/fence.js'
import {arpDuplicateCheck, addressOf} from '../system/net.js'
import {pgCtlChange, pgCtlStatus, psqlChange, sqlLiteral} from '../system/pgctl.js'
import {makePromoteGuard} from './guards.js'
import {Deadline, stepDeadline} from './deadline.js'
import {heartbeatAccess, psqlAccess, type RestoreCommandSetting, type ServerAccess, type ServerState, waitUntil} from './promote-access.js'
import type {StepOutcome} from './types.js'
import {CLAIM_DAD_MIN_MS} from './vip.js'

export type {RestoreCommandSetting} from './promote-access.js'

/** Time putting restore_command back always gets, even when the step is out of time. */
const RESTORE_GRACE_MS = 2000

/**
 * The one promotion step, used by `pgha promote`, the watch loop and switchover. They differ
 * only in options: how to reach the server, the guard, what to do with restore_command and
 * whether to CHECKPOINT. One deadline (postgres.stepTimeout) bounds the whole step.
 */

/** Decides whether promoting is safe now (the peer is fenced or VIP-M is silent). */
export type PromoteGuard = () => Promise<{allowed: boolean; why: string}>

/**
 * restore_command during the promotion. `off`: switched off, then put back exactly, so an
 * archive that hangs (a dead NFS peer) cannot stall the end of recovery. `off-if-nfs`: only
 * when archive.mode is nfs (a local archive cannot hang; the watch saves two reloads). `keep`:
 * untouched (switchover: the WAL it needs is already replayed).
 */
export type RestoreCommandPolicy = 'off' | 'off-if-nfs' | 'keep'

export interface EnsurePromotedOptions {
  guard: PromoteGuard
  /** Skip the guard (the operator vouches that the old primary is down). */
  force?: boolean
  /** CHECKPOINT before returning (default true); the watch skips it to move VIP-M sooner. */
  checkpoint?: boolean
  /** How to reach the server (default psql); heartbeat falls back to psql when it cannot. */
  via?: ServerAccess['name']
  restoreCommand?: RestoreCommandPolicy
  /** Asked once the server answered that it is a standby (a primary has nothing to confirm). */
  confirm?: () => Promise<void>
}

/** The ARP window the promote guard listens for VIP-M: one bound for every caller. */
const promoteArpWindowMs = (cfg: Config) => Math.max(CLAIM_DAD_MIN_MS, cfg.timing.probeTimeout)

/** The real guard: the peer's power read from its BMC, else VIP-M silent on ARP. */
export function promoteGuard(ctx: SystemContext, cfg: Config, warn: (line: string) => void): PromoteGuard {
  return makePromoteGuard(cfg, {
    powerStatus: () => fencePower(ctx, cfg.fence, 'status', {timeoutMs: cfg.fence.timeout}),
    vipPrimaryState: () => arpDuplicateCheck(ctx, cfg.network.interface, addressOf(cfg.network.vipPrimary), promoteArpWindowMs(cfg)),
    warn,
  })
}

/**
 * Pure: the SQL around a promotion for a restore_command that is set: off (reloadable since
 * PostgreSQL 14; older servers restart first), then back exactly as it was.
 */
export function restoreCommandSteps(
  major: number,
  rc: RestoreCommandSetting,
): {disable?: string; restartBeforePromote: boolean; restore?: string} {
  if (rc.value === '') return {restartBeforePromote: false}
  const reload = major >= 14 ? '\nSELECT pg_catalog.pg_reload_conf();' : ''
  return {
    disable: `ALTER SYSTEM SET restore_command = '';${reload}`,
    restartBeforePromote: major < 14,
    restore: `${rc.fromAutoConf ? `ALTER SYSTEM SET restore_command = ${sqlLiteral(rc.value)};` : 'ALTER SYSTEM RESET restore_command;'}\nSELECT pg_catalog.pg_reload_conf();`,
  }
}

/** Pure: does this promotion switch restore_command off? */
function switchesRestoreOff(policy: RestoreCommandPolicy, cfg: Config, state: ServerState): boolean {
  if (state.restoreCommand.value === '' || policy === 'keep') return false
  return policy === 'off' || cfg.archive.mode === 'nfs'
}

/**
 * Promote a running standby. Already a primary → nothing to do. Refuses (SafetyRefusal) unless
 * the guard allows it or force. A server that runs but does not answer is a failure (exit 1),
 * never read from files. Every change is recorded (and skipped) under --dry-run.
 */
/** ensurePromoted: the role afterwards and, when it promoted, how long it took and why that was safe. */
export interface PromoteDetails {
  role: 'primary' | 'standby'
  durationMs?: number
  /** Why the safety guard allowed the promotion (or that --force skipped it). */
  guard?: string
}

export async function ensurePromoted(ctx: SystemContext, cfg: Config, opts: EnsurePromotedOptions): Promise<StepOutcome<PromoteDetails>> {
  const started = Date.now()
  // One deadline for the whole step; the guard's calls (fence.timeout, arping) count against it.
  const deadline = stepDeadline(cfg.postgres.stepTimeout)
  const policy = opts.restoreCommand ?? 'off'

  const status = await pgCtlStatus(ctx, cfg)
  if (!status.running)
    throw new StepFailedError('PostgreSQL is not running; promotion needs a running standby', 'start it first (pgha start-db)')
  let access = opts.via === 'heartbeat' && !ctx.dryRun ? heartbeatAccess(cfg) : psqlAccess(ctx, cfg)
  let read = await readState(access, deadline, 5000)
  if (access.name === 'heartbeat') {
    const s = read.state
    const why = !s
      ? read.error
      : !s.canPgPromote
        ? `role ${cfg.postgres.heartbeat.user} may not execute pg_promote (run pgha init)`
        : s.major < 14 && switchesRestoreOff(policy, cfg, s)
          ? `PostgreSQL ${s.major} must restart to switch restore_command off`
          : undefined
    if (why) {
      ctx.log.warn(`promoting through psql: ${why}`)
      access = psqlAccess(ctx, cfg)
      read = await readState(access, deadline, 15_000)
    }
  }
  const state = read.state
  if (!state) {
    throw new StepFailedError(
      `PostgreSQL runs (PID ${status.pid ?? '?'}) but is not answering (${read.error}); nothing was promoted`,
      'the server may be frozen or overloaded: check it (ps, the server log) before promoting',
    )
  }
  if (!state.inRecovery) return {changed: false, summary: 'already primary (not in recovery); nothing to promote', role: 'primary'}
  await opts.confirm?.()

  let guardWhy = 'forced (--force): safety guard skipped'
  if (opts.force) {
    ctx.log.warn('promoting WITHOUT the fence/VIP-M safety check (--force)')
  } else {
    const g = await opts.guard()
    if (!g.allowed)
      throw new SafetyRefusal(
        `refusing to promote: ${g.why}`,
        'fence the peer first (pgha fence-peer), or pass --force if you know the old primary is down',
      )
    guardWhy = g.why
  }

  const plan = switchesRestoreOff(policy, cfg, state)
    ? restoreCommandSteps(state.major, state.restoreCommand)
    : {restartBeforePromote: false}
  let restoreNeeded = false
  let failure: unknown
  try {
    if (plan.disable) {
      await psqlChange(ctx, cfg, plan.disable, 'disable restore_command so a dead archive cannot stall the end of recovery', {
        timeoutMs: deadline.budget('disabling restore_command'),
      })
      restoreNeeded = true
      if (plan.restartBeforePromote) {
        const r = await pgCtlChange(ctx, cfg, 'restart', `restart to apply restore_command = '' (PostgreSQL ${state.major} < 14)`, {
          mode: 'fast',
          timeoutMs: deadline.budget('pg_ctl restart'),
        })
        if (r.exitCode !== 0 || r.timedOut)
          throw new StepFailedError(`restart before promotion failed: ${describeFailure(r)}`, 'check the server log')
      } else if (!ctx.dryRun) {
        await waitUntil(
          'restore_command is reloaded',
          deadline,
          async (timeoutMs) => (await psqlAccess(ctx, cfg).state(timeoutMs)).restoreCommand.value === '',
        )
      }
    }
    await access.promote(deadline)
  } catch (error) {
    failure = error
  }
  if (restoreNeeded && plan.restore) {
    try {
      // Past the deadline too: leaving restore_command off would be worse than a late step.
      await psqlChange(ctx, cfg, plan.restore, 'put restore_command back as it was', {
        timeoutMs: Math.max(deadline.left(), RESTORE_GRACE_MS),
      })
    } catch (error) {
      if (!failure) throw error
      ctx.log.error(`could not restore restore_command: ${(error as Error).message}`)
    }
  }
  if (failure) throw failure
  let note = ''
  if (opts.checkpoint !== false) {
    try {
      await psqlChange(ctx, cfg, 'CHECKPOINT;', 'checkpoint so the new timeline is on disk', {timeoutMs: deadline.budget('CHECKPOINT')})
    } catch (error) {
      // Promoted already: a slow CHECKPOINT must not turn that into a failure (the server
      // requests one of its own after promotion).
      if (!(error instanceof PghaError)) throw error
      ctx.log.warn(`promoted, but CHECKPOINT did not finish within ${deadline.bound}: ${error.message}`)
      note = '; CHECKPOINT did not finish in time, the server checkpoints on its own'
    }
  }

  if (ctx.dryRun) return {changed: false, summary: `would promote the standby (${guardWhy})`, role: 'standby'}
  const ms = Date.now() - started
  return {
    changed: true,
    summary: `promoted to primary in ${ms} ms through ${access.name === 'heartbeat' ? 'pg_promote' : 'pg_ctl promote'} (${guardWhy}${note})`,
    role: 'primary',
    durationMs: ms,
    guard: guardWhy,
  }
}

/** The server's state, or why it could not be read in time. */
async function readState(access: ServerAccess, deadline: Deadline, capMs: number): Promise<{state?: ServerState; error?: string}> {
  try {
    return {state: await access.state(deadline.budget(`asking the server through ${access.name}`, capMs))}
  } catch (error) {
    return {error: (error as Error).message.split('\n')[0]}
  }
}

import type {Config} from '../config/schema.js'
import {PghaError, SafetyRefusal, StepFailedError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {pgCtlChange, psqlChange, psqlQuery, sqlLiteral} from '../system/pgctl.js'
import {Deadline, stepDeadline} from './deadline.js'
import {detectRole} from './detect-role.js'
import type {StepOutcome} from './types.js'

/** Decides whether promoting is safe now (the peer is fenced or VIP-M is silent). */
export type PromoteGuard = () => Promise<{allowed: boolean; why: string}>

export interface EnsurePromotedOptions {
  guard: PromoteGuard
  /** Skip the guard (the operator vouches that the old primary is down). */
  force?: boolean
  /**
   * Run CHECKPOINT before returning (default true). The watch loop skips it to move VIP-M
   * sooner: after promotion the server requests a checkpoint of its own.
   */
  checkpoint?: boolean
}

/** restore_command as the server has it, and whether ALTER SYSTEM (postgresql.auto.conf) set it. */
export interface RestoreCommandSetting {
  value: string
  fromAutoConf: boolean
}

/**
 * Both fields hex-encoded: psql separates fields with a tab and rows with a newline, so a value
 * holding either (or anything else) must not travel as plain text.
 */
export const RESTORE_COMMAND_QUERY = `SELECT encode(convert_to(setting, 'UTF8'), 'hex'), encode(convert_to(COALESCE(sourcefile, ''), 'UTF8'), 'hex')
  FROM pg_catalog.pg_settings WHERE name = 'restore_command';`

/** Pure: hex (as RESTORE_COMMAND_QUERY sends it) → the exact text. */
export function decodeHexText(hex: string | undefined): string {
  const h = (hex ?? '').trim()
  if (!/^(?:[0-9a-f]{2})*$/i.test(h)) throw new StepFailedError(`unexpected answer from PostgreSQL: ${JSON.stringify(h.slice(0, 40))} is not hex`, 'report this as a bug')
  return Buffer.from(h, 'hex').toString('utf8')
}

/** Pure: parse RESTORE_COMMAND_QUERY's row. */
export function parseRestoreCommand(row: string[] | undefined): RestoreCommandSetting {
  return {value: decodeHexText(row?.[0]), fromAutoConf: decodeHexText(row?.[1]).endsWith('postgresql.auto.conf')}
}

/**
 * Pure: the SQL around a promotion. restore_command is switched off so a dead archive (the
 * seed's NFS peer) cannot stall the end of recovery, then put back exactly as it was: the
 * same ALTER SYSTEM value, or RESET when it came from postgresql.conf.
 * Reloadable since PostgreSQL 14; older servers need a restart before promoting.
 */
export function restoreCommandSteps(major: number, rc: RestoreCommandSetting): {disable?: string; restartBeforePromote: boolean; restore?: string} {
  if (rc.value === '') return {restartBeforePromote: false}
  const reload = major >= 14 ? '\nSELECT pg_catalog.pg_reload_conf();' : ''
  return {
    disable: `ALTER SYSTEM SET restore_command = '';${reload}`,
    restartBeforePromote: major < 14,
    restore: `${rc.fromAutoConf ? `ALTER SYSTEM SET restore_command = ${sqlLiteral(rc.value)};` : 'ALTER SYSTEM RESET restore_command;'}\nSELECT pg_catalog.pg_reload_conf();`,
  }
}

/** Time putting restore_command back always gets, even when the step is out of time. */
const RESTORE_GRACE_MS = 2000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitUntil(what: string, deadline: Deadline, check: (timeoutMs: number) => Promise<boolean>): Promise<void> {
  for (;;) {
    try {
      if (await check(deadline.budget(`checking ${what}`))) return
    } catch (error) {
      if (!(error instanceof PghaError)) throw error // a failed query: the server may be mid-restart
    }
    if (deadline.left() <= 100) throw new StepFailedError(`timed out waiting until ${what}`, 'check the server log; raise postgres.stepTimeout if the server is just slow')
    await sleep(Math.min(100, deadline.left()))
  }
}

/**
 * Promote a running standby. Already a primary → nothing to do. Refuses (SafetyRefusal) unless
 * the guard allows it or force. Bounded by postgres.stepTimeout; every change is recorded
 * (and skipped) under --dry-run.
 */
export async function ensurePromoted(ctx: SystemContext, cfg: Config, opts: EnsurePromotedOptions): Promise<StepOutcome> {
  const started = Date.now()
  // One deadline for the whole step. The guard's calls have bounds of their own (fence.timeout,
  // arping) and count against it.
  const deadline = stepDeadline(cfg.postgres.stepTimeout)
  const role = await detectRole(ctx, cfg, {deadline})
  if (!role.running) throw new StepFailedError('PostgreSQL is not running; promotion needs a running standby', 'start it first (pgha start-db)')
  if (!role.answering) {
    throw new StepFailedError(
      `PostgreSQL runs${role.pid ? ` (PID ${role.pid})` : ''} but is not answering (${role.queryError ?? 'no answer'}); nothing was promoted`,
      'the server may be frozen or overloaded: check it (ps, the server log) before promoting',
    )
  }
  if (role.role === 'primary') return {changed: false, summary: 'already primary (not in recovery); nothing to promote', role: 'primary'}

  let guardWhy: string
  if (opts.force) {
    guardWhy = 'forced (--force): safety guard skipped'
    ctx.log.warn('promoting WITHOUT the fence/VIP-M safety check (--force)')
  } else {
    const g = await opts.guard()
    if (!g.allowed) {
      throw new SafetyRefusal(`refusing to promote: ${g.why}`, 'fence the peer first (pgha fence-peer), or pass --force if you know the old primary is down')
    }
    guardWhy = g.why
  }

  const rc = parseRestoreCommand((await psqlQuery(ctx, cfg, RESTORE_COMMAND_QUERY, {timeoutMs: deadline.budget('reading restore_command')}))[0])
  const plan = restoreCommandSteps(role.pgMajor, rc)
  let restoreNeeded = false
  let failure: unknown
  try {
    if (plan.disable) {
      await psqlChange(ctx, cfg, plan.disable, 'disable restore_command so a dead archive cannot stall the end of recovery', {timeoutMs: deadline.budget('disabling restore_command')})
      restoreNeeded = true
      if (plan.restartBeforePromote) {
        const r = await pgCtlChange(ctx, cfg, 'restart', `restart to apply restore_command = '' (PostgreSQL ${role.pgMajor} < 14)`, {mode: 'fast', timeoutMs: deadline.budget('pg_ctl restart')})
        if (r.exitCode !== 0 || r.timedOut) throw new StepFailedError(`restart before promotion failed: ${describeFailure(r)}`, 'check the server log')
      } else if (!ctx.dryRun) {
        await waitUntil('restore_command is reloaded', deadline, async (timeoutMs) => (await psqlQuery(ctx, cfg, "SELECT current_setting('restore_command') = '';", {timeoutMs}))[0]?.[0] === 't')
      }
    }
    const r = await pgCtlChange(ctx, cfg, 'promote', 'promote the standby and wait until it leaves recovery', {timeoutMs: deadline.budget('pg_ctl promote')})
    if (!ctx.dryRun) {
      if (r.exitCode !== 0 || r.timedOut) throw new StepFailedError(`pg_ctl promote failed: ${describeFailure(r)}`, 'check the server log')
      await waitUntil('the server is writable (pg_is_in_recovery() = false)', deadline, async (timeoutMs) => (await psqlQuery(ctx, cfg, 'SELECT pg_is_in_recovery();', {timeoutMs}))[0]?.[0] === 'f')
    }
  } catch (error) {
    failure = error
  }
  if (restoreNeeded && plan.restore) {
    try {
      // Losing the value is worse than overrunning: at least RESTORE_GRACE_MS for this one.
      await psqlChange(ctx, cfg, plan.restore, 'put restore_command back as it was', {timeoutMs: Math.max(deadline.left(), RESTORE_GRACE_MS)})
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
  return {changed: true, summary: `promoted to primary in ${Date.now() - started} ms (${guardWhy}${note})`, role: 'primary', durationMs: Date.now() - started, guard: guardWhy}
}

import type {Config} from '../config/schema.js'
import {SafetyRefusal, StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {localEndpoint, pgErrorLine, withPgClient} from '../system/pg.js'
import {psqlChange, psqlQuery} from '../system/pgctl.js'
import {ensurePromoted, type EnsurePromotedOptions, RESTORE_COMMAND_QUERY, parseRestoreCommand, restoreCommandSteps} from './promote.js'
import type {StepOutcome} from './types.js'

/**
 * The watch loop's promotion: the same checks and order as ensurePromoted, but the reads and
 * the promotion itself go through ONE connection as the heartbeat role (init grants it
 * EXECUTE on pg_promote) instead of a runuser+psql process per query — several seconds on a
 * loaded host. psql is used only for ALTER SYSTEM (restore_command needs a superuser), and
 * only when archive.mode is nfs.
 * If the heartbeat role cannot connect or lacks the grant, it falls back to ensurePromoted.
 */
export async function ensurePromotedFast(ctx: SystemContext, cfg: Config, opts: EnsurePromotedOptions): Promise<StepOutcome> {
  if (ctx.dryRun) return ensurePromoted(ctx, cfg, opts)
  const started = Date.now()
  const waitSeconds = Math.max(1, Math.floor(cfg.postgres.stepTimeout / 1000))
  let state: {inRecovery: boolean; restoreCommand: string; canPromote: boolean; major: number}
  try {
    state = await withPgClient(cfg, localEndpoint(cfg), {timeoutMs: 2000}, async (c) => {
      const r = await c.query<{rec: boolean; rc: string; can: boolean; ver: number}>(
        `SELECT pg_catalog.pg_is_in_recovery() AS rec, pg_catalog.current_setting('restore_command') AS rc,
                pg_catalog.current_setting('server_version_num')::int AS ver,
                pg_catalog.has_function_privilege('pg_catalog.pg_promote(boolean, integer)', 'EXECUTE') AS can`,
      )
      return {inRecovery: r.rows[0].rec, restoreCommand: r.rows[0].rc, canPromote: r.rows[0].can, major: Math.floor(r.rows[0].ver / 10000)}
    })
  } catch (error) {
    ctx.log.warn(`fast promotion unavailable (${pgErrorLine(error)}); promoting through psql`)
    return ensurePromoted(ctx, cfg, opts)
  }
  if (!state.inRecovery) return {changed: false, summary: 'already primary (not in recovery); nothing to promote', role: 'primary'}
  if (state.major < 14 && state.restoreCommand !== '') return ensurePromoted(ctx, cfg, opts) // needs a restart first
  if (!state.canPromote) {
    ctx.log.warn(`role ${cfg.postgres.heartbeat.user} may not execute pg_promote (run pgha init); promoting through psql`)
    return ensurePromoted(ctx, cfg, opts)
  }

  let guardWhy = 'forced (--force): safety guard skipped'
  if (!opts.force) {
    const g = await opts.guard()
    if (!g.allowed) throw new SafetyRefusal(`refusing to promote: ${g.why}`, 'fence the peer first (pgha fence-peer), or pass --force if you know the old primary is down')
    guardWhy = g.why
  }

  // restore_command off during promotion, so a dead NFS peer archive cannot stall the end of
  // recovery. A bind-mounted or no archive is local and cannot hang, so
  // the watch loop skips the two reloads there and moves VIP-M about a second sooner.
  let restore: string | undefined
  if (state.restoreCommand !== '' && cfg.archive.mode === 'nfs') {
    const plan = restoreCommandSteps(state.major, parseRestoreCommand((await psqlQuery(ctx, cfg, RESTORE_COMMAND_QUERY))[0]))
    if (plan.disable) {
      await psqlChange(ctx, cfg, plan.disable, 'disable restore_command so a dead archive cannot stall the end of recovery')
      restore = plan.restore
    }
  }
  let failure: unknown
  try {
    const promoted = await withPgClient(cfg, localEndpoint(cfg), {timeoutMs: cfg.postgres.stepTimeout}, async (c) => {
      const r = await c.query<{ok: boolean}>('SELECT pg_catalog.pg_promote(true, $1) AS ok', [waitSeconds])
      return r.rows[0].ok
    })
    if (!promoted) throw new StepFailedError(`pg_promote did not finish within ${waitSeconds} s`, 'check the server log; raise postgres.stepTimeout if the server is just slow')
  } catch (error) {
    failure = error instanceof StepFailedError ? error : new StepFailedError(`pg_promote failed: ${pgErrorLine(error)}`, 'check the server log')
  }
  if (restore) {
    try {
      await psqlChange(ctx, cfg, restore, 'put restore_command back as it was')
    } catch (error) {
      if (!failure) throw error
      ctx.log.error(`could not restore restore_command: ${(error as Error).message}`)
    }
  }
  if (failure) throw failure
  const ms = Date.now() - started
  return {changed: true, summary: `promoted to primary in ${ms} ms with pg_promote (${guardWhy})`, role: 'primary', durationMs: ms, guard: guardWhy}
}

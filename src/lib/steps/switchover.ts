import type {Config} from '../config/schema.js'
import {StepFailedError, UsageError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {type PgEndpoint, withPgClient} from '../system/pg.js'
import {detectRole} from './detect-role.js'
import {formatPlan, type SwitchoverSide, switchoverPlan} from './switchover-plan.js'
import type {StepOutcome} from './types.js'
import {demoteHalf} from './switchover-demote.js'
import {HalfRun, type SwitchoverOptions, type SwitchoverOutcome} from './switchover-half.js'
import {promoteHalf} from './switchover-promote.js'
export {type SwitchoverOptions, type SwitchoverOutcome} from './switchover-half.js'
export {SWITCHOVER_DAD_MS, type SwitchoverNetwork, vipNetwork} from './switchover-network.js'
import {HalfLockBusy, heldBy, lockHalf} from './switchover-lock.js'

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
    return side === 'demote' ? await demoteHalf(run, plan) : await promoteHalf(run, plan)
  } finally {
    await run.close()
    unlock()
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

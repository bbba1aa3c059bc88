/** Before pg_rewind: read the control file, and finish crash recovery of a target that lost power. */
import {join} from 'node:path'
import type {Config} from '../config/schema.js'
import {StepFailedError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {readServerMajor} from '../system/pgctl.js'
import {type ControlData, readControlData, singleUserRecoveryArgv} from '../system/rewind.js'
import {exists, mustChange} from './rejoin-files.js'

export async function mustReadControl(ctx: SystemContext, cfg: Config, timeoutMs: number): Promise<ControlData> {
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
export async function crashRecoverSingleUser(ctx: SystemContext, cfg: Config, control: ControlData, timeoutMs: number): Promise<void> {
  ctx.log.info(`data directory was not shut down cleanly (state "${control.state}"): running crash recovery in single-user mode first`)
  for (const f of ['standby.signal', 'recovery.signal']) {
    const p = join(cfg.postgres.datadir, f)
    if (exists(p)) await mustChange(ctx, ['rm', '-f', p], cfg, 10_000, `remove ${f} so single-user crash recovery can run`)
  }
  const argv = singleUserRecoveryArgv(cfg, await readServerMajor(ctx, cfg))
  const r = await ctx.change(
    argv,
    {timeoutMs, asUser: cfg.postgres.osUser, input: '', env: {LC_MESSAGES: 'C'}},
    'finish crash recovery and shut down cleanly (pg_rewind needs a clean target)',
  )
  if (r.exitCode !== 0)
    throw new StepFailedError(
      `single-user crash recovery failed: ${describeFailure(r)}`,
      'start and stop the server by hand once, then retry rejoin',
    )
}

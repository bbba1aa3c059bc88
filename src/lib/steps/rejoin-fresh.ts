/** Rejoin's last phase (start and wait for streaming) and the empty-data-directory path (full copy). */
import type {Config} from '../config/schema.js'
import {formatDuration} from '../config/units.js'
import {StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {pgCtlChange} from '../system/pgctl.js'
import type {SourceServer} from '../system/rewind.js'
import {ensureDbRunning} from './db.js'
import {waitUntilStreaming} from './rejoin-probe.js'
import {copyIntoEmpty, writeStandbyConfig} from './rejoin-files.js'
import type {RejoinOutcome} from './rejoin-types.js'

/** Start as a standby and wait until pg_stat_wal_receiver says streaming (skipped under --dry-run). */
export async function startAndStream(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  deadline: number,
  sleep: (ms: number) => Promise<void>,
  timeoutMs?: number,
): Promise<void> {
  if (ctx.dryRun) {
    await pgCtlChange(ctx, cfg, 'start', 'start PostgreSQL as a standby')
    return
  }
  await ensureDbRunning(ctx, cfg)
  const streaming = await waitUntilStreaming(ctx, cfg, src, deadline, sleep)
  if (!streaming.ok) {
    throw new StepFailedError(
      `rejoined data directory started but is not streaming from ${src.host}:${src.port} within ${formatDuration(timeoutMs ?? 1_800_000)} (receiver: ${streaming.last?.receiverStatus ?? streaming.lastError ?? 'none'})`,
      'check the server log and that the replication user can connect (pg_hba.conf, passfile)',
    )
  }
}

export interface Run {
  started: number
  deadline: number
  left: () => number
  sleep: (ms: number) => Promise<void>
  phase: (name: string) => void
  phases: RejoinOutcome['phases']
}

/** A missing or empty data directory: full copy straight into it, this host's port/socket, start. */
export async function finishFresh(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  sourceBytes: number | undefined,
  r: Run,
): Promise<RejoinOutcome> {
  const why = `${cfg.postgres.datadir} is missing or empty: a full copy is the only way`
  ctx.log.info(`rejoin by pg_basebackup: ${why}`)
  await copyIntoEmpty(ctx, cfg, src, sourceBytes, r.left)
  r.phase('basebackup')
  await writeStandbyConfig(ctx, cfg, src, new Map(), true)
  await startAndStream(ctx, cfg, src, r.deadline, r.sleep)
  r.phase('start+stream')
  if (ctx.dryRun)
    return {
      changed: false,
      summary: `would copy ${src.host}:${src.port} into the empty ${cfg.postgres.datadir} and start it as a standby`,
      method: 'basebackup',
      why,
      phases: r.phases,
    }
  const total = Date.now() - r.started
  return {
    changed: true,
    summary: `built a standby streaming from ${src.host}:${src.port} by pg_basebackup into the empty ${cfg.postgres.datadir} in ${(total / 1000).toFixed(1)} s`,
    method: 'basebackup',
    why,
    phases: r.phases,
    durationMs: total,
  }
}

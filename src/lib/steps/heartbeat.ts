import type {Config} from '../config/schema.js'
import type {SystemContext} from '../system/exec.js'
import {describeEndpoint, hostOf, localEndpoint, type PgEndpoint, pgErrorLine, sqlStateOf, withPgClient} from '../system/pg.js'
import {HEARTBEAT_CALL_SQL, heartbeatFromRow, type HeartbeatResult, type HeartbeatRow, type HeartbeatTarget} from '../sql/heartbeat.js'

export {HEARTBEAT_TARGETS, type HeartbeatResult, type HeartbeatTarget} from '../sql/heartbeat.js'

/** Pure: where a target lives and which standby address the primary should report lag for. */
export function heartbeatEndpoint(cfg: Config, target: HeartbeatTarget): {endpoint: PgEndpoint; peerAddr: string | null} {
  const port = cfg.postgres.port
  switch (target) {
    case 'local':
      return {endpoint: localEndpoint(cfg), peerAddr: cfg.peer.address}
    case 'peer':
      return {endpoint: {kind: 'tcp', host: cfg.peer.address, port}, peerAddr: cfg.node.address}
    // Through a VIP we cannot know which host answers: report the worst standby's lag.
    case 'vip-primary':
      return {endpoint: {kind: 'tcp', host: hostOf(cfg.network.vipPrimary), port}, peerAddr: null}
    case 'vip-standby':
      return {endpoint: {kind: 'tcp', host: hostOf(cfg.network.vipStandby), port}, peerAddr: null}
  }
}

/**
 * The keepalive: on a primary writes the heartbeat row (and reports the standby's
 * lag), on a standby reads the replicated row's age. Never throws on a failed probe: the
 * result says ok:false and why, so the watch loop can treat it as an observation.
 */
export async function heartbeat(
  ctx: SystemContext,
  cfg: Config,
  target: HeartbeatTarget,
  opts: {timeoutMs?: number} = {},
): Promise<HeartbeatResult> {
  const {endpoint, peerAddr} = heartbeatEndpoint(cfg, target)
  return heartbeatAt(ctx, cfg, endpoint, {...opts, peerAddr, target})
}

/** The same probe against any endpoint (the lab and tests use it with explicit ports). */
export async function heartbeatAt(
  ctx: SystemContext,
  cfg: Config,
  endpoint: PgEndpoint,
  opts: {timeoutMs?: number; peerAddr?: string | null; target?: HeartbeatTarget | 'custom'} = {},
): Promise<HeartbeatResult> {
  const timeoutMs = opts.timeoutMs ?? cfg.timing.probeTimeout
  const address = describeEndpoint(endpoint)
  const target = opts.target ?? 'custom'
  const started = performance.now()
  const latency = () => Math.round(performance.now() - started)
  const params = [opts.peerAddr ?? null, cfg.node.name]
  const shown = HEARTBEAT_CALL_SQL.replace('$1', opts.peerAddr ? `'${opts.peerAddr}'` : 'NULL').replace('$2', `'${cfg.node.name}'`)
  // Under --dry-run the call is recorded and run inside a rolled-back transaction: the probe
  // still tells the truth, and nothing is written.
  const real = ctx.sqlChange(
    `${cfg.postgres.heartbeat.database}@${address}`,
    shown + ';',
    'heartbeat: write the row on a primary, read it on a standby',
  )
  try {
    const row = await withPgClient(cfg, endpoint, {timeoutMs}, async (c) => {
      if (!real) await c.query('BEGIN')
      const r = await c.query(HEARTBEAT_CALL_SQL, params)
      if (!real) await c.query('ROLLBACK')
      return r.rows[0] as HeartbeatRow | undefined
    })
    return heartbeatFromRow(row, {target, address, latencyMs: latency(), rolledBack: !real})
  } catch (error) {
    return {ok: false, target, address, latencyMs: latency(), error: pgErrorLine(error), ...sqlStateOf(error)}
  }
}

import type {Config} from '../config/schema.js'
import {SafetyRefusal, StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {pgErrorLine, withPgClient} from '../system/pg.js'
import {psqlQuery} from '../system/pgctl.js'
import type {SourceServer} from '../system/rewind.js'

/** Read-only probes rejoin (and switchover) decide on. Every one is bounded. */

export interface LocalReplication {
  inRecovery: boolean
  /** pg_stat_wal_receiver.status ('streaming', 'waiting', ...) or undefined without a receiver. */
  receiverStatus?: string
  senderHost?: string
  senderPort?: number
  receivedTli?: number
}

const LOCAL_REPLICATION_SQL = `SELECT pg_is_in_recovery(),
  (SELECT status FROM pg_stat_wal_receiver),
  (SELECT sender_host FROM pg_stat_wal_receiver),
  (SELECT sender_port FROM pg_stat_wal_receiver),
  (SELECT received_tli FROM pg_stat_wal_receiver);`

/** The running local server's recovery and WAL receiver state (psql as osUser over the socket). */
export async function localReplication(ctx: SystemContext, cfg: Config, timeoutMs: number): Promise<LocalReplication> {
  const [row] = await psqlQuery(ctx, cfg, LOCAL_REPLICATION_SQL, {timeoutMs})
  return {
    inRecovery: row?.[0] === 't',
    receiverStatus: row?.[1] || undefined,
    senderHost: row?.[2] || undefined,
    senderPort: row?.[3] ? Number(row[3]) : undefined,
    receivedTli: row?.[4] ? Number(row[4]) : undefined,
  }
}

/** Pure: is this a standby streaming from exactly `src`? */
export function isStreamingFrom(r: LocalReplication, src: SourceServer): boolean {
  return r.inRecovery && r.receiverStatus === 'streaming' && r.senderHost === src.host && r.senderPort === src.port
}

export interface SourceFacts {
  inRecovery: boolean
  systemIdentifier: string
  postmasterStart: string
  /** Sum of database sizes: what a full copy needs (undefined when not readable). */
  totalBytes?: number
}

const SOURCE_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
  pg_postmaster_start_time()::text AS started,
  (SELECT sum(pg_database_size(oid))::bigint FROM pg_database WHERE datallowconn) AS total`

/** What the server at `src` is, asked as the heartbeat user (pg_monitor). */
export async function sourceFacts(cfg: Config, src: SourceServer, timeoutMs: number): Promise<SourceFacts> {
  try {
    const rows = await withPgClient(
      cfg,
      {kind: 'tcp', host: src.host, port: src.port},
      {timeoutMs},
      async (c) => (await c.query(SOURCE_SQL)).rows,
    )
    const r = rows[0] as {in_recovery: boolean; sysid: string; started: string; total: string | null}
    return {
      inRecovery: r.in_recovery,
      systemIdentifier: r.sysid,
      postmasterStart: r.started,
      totalBytes: r.total === null ? undefined : Number(r.total),
    }
  } catch (error) {
    throw new StepFailedError(
      `cannot reach the new primary at ${src.host}:${src.port}: ${pgErrorLine(error)}`,
      'is the peer primary up and VIP-M claimed? (pgha status); nothing was changed',
    )
  }
}

/** The local server's identity, to refuse rejoining from ourselves (VIP-M on this host). */
export async function localIdentity(
  ctx: SystemContext,
  cfg: Config,
  timeoutMs: number,
): Promise<{systemIdentifier: string; postmasterStart: string}> {
  const [row] = await psqlQuery(
    ctx,
    cfg,
    'SELECT (SELECT system_identifier::text FROM pg_control_system()), pg_postmaster_start_time()::text;',
    {timeoutMs},
  )
  return {systemIdentifier: row?.[0] ?? '', postmasterStart: row?.[1] ?? ''}
}

/** Refusals shared by rejoin: the source must be another, writable server of the same cluster. */
export function checkSource(
  cfg: Config,
  src: SourceServer,
  facts: SourceFacts,
  local: {systemIdentifier: string; postmasterStart?: string},
  method: 'auto' | 'rewind' | 'basebackup',
): void {
  const where = `${src.host}:${src.port}`
  if (facts.inRecovery) {
    throw new SafetyRefusal(
      `the server at ${where} is a standby, not a writable primary; refusing to copy from it`,
      'promote the peer first (or wait for its watch loop to), then rejoin',
    )
  }
  if (local.postmasterStart && facts.postmasterStart === local.postmasterStart && facts.systemIdentifier === local.systemIdentifier) {
    throw new SafetyRefusal(
      `${where} is this host's own server: this host is the primary, there is nothing to rejoin`,
      'run rejoin on the other host',
    )
  }
  if (local.systemIdentifier && facts.systemIdentifier !== local.systemIdentifier && method !== 'basebackup') {
    throw new SafetyRefusal(
      `the server at ${where} belongs to another cluster (system identifier ${facts.systemIdentifier}, local ${local.systemIdentifier}); pg_rewind cannot work`,
      `check ${cfg.network.vipPrimary}; to replace this data directory with a copy anyway use --method basebackup (the old one is kept aside)`,
    )
  }
}

/** Poll until the local server is a standby streaming from `src`; false when the deadline passes. */
export async function waitUntilStreaming(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  deadline: number,
  sleep: (ms: number) => Promise<void>,
): Promise<{ok: boolean; last?: LocalReplication; lastError?: string}> {
  let last: LocalReplication | undefined
  let lastError: string | undefined
  while (Date.now() < deadline) {
    try {
      last = await localReplication(ctx, cfg, Math.max(1000, Math.min(5000, deadline - Date.now())))
      lastError = undefined
      if (isStreamingFrom(last, src)) return {ok: true, last}
    } catch (error) {
      lastError = (error as Error).message // still starting up: "the database system is starting up"
    }
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())))
  }
  return {ok: false, last, lastError}
}

const TIMELINES_SQL = `SELECT (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_tli,
  ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS current_tli`

/**
 * Right after a promotion the new primary's control file still names the old timeline until
 * its first checkpoint completes, and pg_rewind reads the timeline from there: it would say
 * "no rewind required" for a diverged target. So: CHECKPOINT on the source (the heartbeat
 * role may do it with pg_checkpoint, PG 15+), else wait for the spread checkpoint, bounded.
 */
export async function ensureSourceCheckpointed(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  deadline: number,
  sleep: (ms: number) => Promise<void>,
): Promise<string> {
  const endpoint = {kind: 'tcp' as const, host: src.host, port: src.port}
  const read = async () => {
    const rows = await withPgClient(cfg, endpoint, {timeoutMs: 10_000}, async (c) => (await c.query(TIMELINES_SQL)).rows)
    return rows[0] as {checkpoint_tli: number; current_tli: number}
  }
  let tl = await read()
  if (tl.checkpoint_tli >= tl.current_tli) return `source checkpoint is on its current timeline ${tl.current_tli}`
  if (
    !ctx.sqlChange(
      `${src.host}:${src.port}`,
      'CHECKPOINT',
      `the new primary has not checkpointed since promotion (timeline ${tl.checkpoint_tli} in pg_control, ${tl.current_tli} current); pg_rewind reads pg_control`,
    )
  ) {
    return 'would checkpoint the source first'
  }
  try {
    await withPgClient(cfg, endpoint, {timeoutMs: Math.max(10_000, Math.min(120_000, deadline - Date.now()))}, (c) => c.query('CHECKPOINT'))
  } catch (error) {
    ctx.log.warn(
      `cannot CHECKPOINT the new primary as ${cfg.postgres.heartbeat.user} (${pgErrorLine(error)}); waiting for its own checkpoint (GRANT pg_checkpoint TO ${cfg.postgres.heartbeat.user} makes this instant)`,
    )
  }
  while (Date.now() < deadline) {
    tl = await read()
    if (tl.checkpoint_tli >= tl.current_tli) return `source checkpointed on timeline ${tl.current_tli}`
    await sleep(500)
  }
  throw new StepFailedError(
    `the new primary at ${src.host}:${src.port} has not checkpointed since promotion (pg_control timeline ${tl.checkpoint_tli} < ${tl.current_tli}); pg_rewind would miss the divergence`,
    'run CHECKPOINT on the new primary and retry rejoin',
  )
}

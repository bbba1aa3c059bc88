import type pg from 'pg'
import type {Config} from '../config/schema.js'
import {SafetyRefusal, StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {closeClient, localEndpoint, openClient, type PgEndpoint, withPgClient} from '../system/pg.js'
import {psqlQuery} from '../system/pgctl.js'
import {lastRecordIsShutdownCheckpoint, lsnToBigInt, parseWalDump, walDumpArgv, type WalRecord} from '../system/rewind.js'
import {readClusterState} from './pause.js'
import {formatMarker, newMarker, parseMarker, readySessionName, type SwitchoverMarker, type SwitchoverPhase} from './switchover-plan.js'

/** SQL-level pieces of the switchover protocol; each bounded. */

const Q = 5000

/**
 * Write the marker on the primary unless one is there; join a matching one (same from/to,
 * not stale) so either half may start first. Atomic: UPDATE … WHERE switchover IS NULL.
 */
export async function claimMarker(
  ctx: SystemContext,
  cfg: Config,
  primary: PgEndpoint,
  from: string,
  to: string,
  ttlMs: number,
  now = new Date(),
): Promise<{marker: SwitchoverMarker; created: boolean}> {
  const fresh = newMarker(from, to, now, ttlMs)
  if (
    !ctx.sqlChange(
      `${from} (primary)`,
      `UPDATE pgha.cluster_state SET switchover = '${formatMarker(fresh)}' WHERE id = 1 AND switchover IS NULL`,
      'switchover marker: both watch loops observe only',
    )
  ) {
    return {marker: fresh, created: false}
  }
  const rows = await withPgClient(
    cfg,
    primary,
    {timeoutMs: Q},
    async (c) =>
      (
        await c.query(
          'UPDATE pgha.cluster_state SET switchover = $1, updated_at = now() WHERE id = 1 AND switchover IS NULL RETURNING switchover',
          [formatMarker(fresh)],
        )
      ).rows,
  )
  if (rows.length === 1) return {marker: fresh, created: true}
  const existing = (await readClusterState(cfg, primary, Q)).switchover
  const m = parseMarker(existing)
  if (!m)
    throw new SafetyRefusal(
      `an unreadable switchover marker is set (${String(existing).slice(0, 80)})`,
      'clear it with pgha switchover --abort, then retry',
    )
  if (Date.parse(m.expiresAt) < now.getTime())
    throw new SafetyRefusal(
      `a stale switchover marker ${m.id} (${m.from} → ${m.to}, expired ${m.expiresAt}) is set`,
      'check both hosts, then clear it with pgha switchover --abort',
    )
  if (m.from !== from || m.to !== to)
    throw new SafetyRefusal(
      `another switchover ${m.id} (${m.from} → ${m.to}) is in progress`,
      'let it finish, or clear it with pgha switchover --abort',
    )
  return {marker: m, created: false}
}

/** Update the marker's phase, or clear it (phase null), only if it is still `id`'s. */
export async function setMarkerPhase(
  ctx: SystemContext,
  cfg: Config,
  primary: PgEndpoint,
  m: SwitchoverMarker,
  phase: SwitchoverPhase | null,
): Promise<boolean> {
  const value = phase === null ? null : formatMarker({...m, phase})
  if (
    !ctx.sqlChange(
      'primary',
      phase === null ? 'UPDATE pgha.cluster_state SET switchover = NULL' : `UPDATE pgha.cluster_state SET switchover = '${value}'`,
      phase === null ? 'switchover over: watch loops act again' : `switchover phase ${phase}`,
    )
  )
    return true
  const rows = await withPgClient(
    cfg,
    primary,
    {timeoutMs: Q},
    async (c) =>
      (
        await c.query(
          "UPDATE pgha.cluster_state SET switchover = $1, updated_at = now() WHERE id = 1 AND switchover::jsonb->>'id' = $2 RETURNING id",
          [value, m.id],
        )
      ).rows,
  )
  return rows.length === 1
}

/** The promote half's "I am here and waiting" session: visible to the other host in pg_stat_activity. */
export async function openReadySession(cfg: Config, id: string): Promise<pg.Client> {
  return openClient(cfg, localEndpoint(cfg), {timeoutMs: Q, applicationName: readySessionName(id)})
}

export async function closeReadySession(client: pg.Client | undefined): Promise<void> {
  if (client) await closeClient(client)
}

/** Is the peer's promote half waiting (its ready session exists)? undefined when the peer cannot be asked. */
export async function peerReady(cfg: Config, peer: PgEndpoint, id: string): Promise<boolean | undefined> {
  try {
    const rows = await withPgClient(
      cfg,
      peer,
      {timeoutMs: Q},
      async (c) =>
        (
          await c.query('SELECT count(*)::int AS n, pg_is_in_recovery() AS rec FROM pg_stat_activity WHERE application_name = $1', [
            readySessionName(id),
          ])
        ).rows,
    )
    return rows[0].n > 0
  } catch {
    return undefined
  }
}

/** Is the server at `ep` up, and in recovery? undefined when unreachable. */
export async function inRecoveryAt(cfg: Config, ep: PgEndpoint, timeoutMs = Q): Promise<{inRecovery: boolean} | undefined> {
  try {
    const rows = await withPgClient(cfg, ep, {timeoutMs}, async (c) => (await c.query('SELECT pg_is_in_recovery() AS r')).rows)
    return {inRecovery: rows[0].r}
  } catch {
    return undefined
  }
}

/** On the primary: the standby `peerName`/`peerAddress` streams, and how far behind it replays. */
export async function standbyLagBytes(ctx: SystemContext, cfg: Config): Promise<number | undefined> {
  const rows = await psqlQuery(
    ctx,
    cfg,
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint FROM pg_stat_replication
    WHERE state = 'streaming' AND (application_name = '${cfg.peer.name.replace(/'/g, "''")}' OR host(client_addr) = '${cfg.peer.address}')
    ORDER BY 1 LIMIT 1;`,
    {timeoutMs: Q},
  )
  return rows[0]?.[0] !== undefined && rows[0][0] !== '' ? Number(rows[0][0]) : undefined
}

/** On the new primary: does the old primary stream from us? */
export async function peerStreams(ctx: SystemContext, cfg: Config): Promise<boolean> {
  const rows = await psqlQuery(
    ctx,
    cfg,
    `SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name = '${cfg.peer.name.replace(/'/g, "''")}';`,
    {timeoutMs: Q},
  )
  return Number(rows[0]?.[0] ?? 0) > 0
}

export interface StandbyWal {
  receiverStatus?: string
  receivedTli?: number
  receiveLsn?: string
  replayLsn?: string
}

/** On the standby: WAL receiver state and the received / replayed positions. */
export async function standbyWal(ctx: SystemContext, cfg: Config): Promise<StandbyWal> {
  const [r] = await psqlQuery(
    ctx,
    cfg,
    `SELECT (SELECT status FROM pg_stat_wal_receiver), (SELECT received_tli FROM pg_stat_wal_receiver),
    pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn();`,
    {timeoutMs: Q},
  )
  return {
    receiverStatus: r?.[0] || undefined,
    receivedTli: r?.[1] ? Number(r[1]) : undefined,
    receiveLsn: r?.[2] || undefined,
    replayLsn: r?.[3] || undefined,
  }
}

/**
 * The zero-loss proof, from the standby's files alone: the last WAL record received from the
 * old primary is its CHECKPOINT_SHUTDOWN (a cleanly stopping primary writes nothing after it,
 * and its walsenders ship it before exiting), so every commit it acknowledged is here.
 */
export async function verifyShutdownCheckpointReceived(
  ctx: SystemContext,
  cfg: Config,
  tli: number,
  fromLsn: string,
  receiveLsn: string,
): Promise<WalRecord> {
  const r = await ctx.probe(walDumpArgv(cfg, tli, fromLsn), {timeoutMs: 30_000, asUser: cfg.postgres.osUser, env: {LC_ALL: 'C'}})
  const records = parseWalDump(r.stdout)
  const shutdown = lastRecordIsShutdownCheckpoint(records)
  const last = records.at(-1)
  if (!shutdown) {
    throw new SafetyRefusal(
      `refusing to promote: the last WAL record received from the old primary is ${last ? `${last.rmgr} ${last.desc.slice(0, 40)} at ${last.lsn}` : 'unreadable'}, not its shutdown checkpoint, so it may hold writes this standby lacks`,
      `the old primary did not stop cleanly; start it again (it is still the primary) and retry${r.stderr ? ` (pg_waldump: ${r.stderr.split('\n')[0]})` : ''}`,
    )
  }
  if (lsnToBigInt(shutdown.lsn) >= lsnToBigInt(receiveLsn)) {
    throw new StepFailedError(
      `shutdown checkpoint at ${shutdown.lsn} is not below the received position ${receiveLsn}`,
      'inconsistent WAL; check the standby log',
    )
  }
  return shutdown
}

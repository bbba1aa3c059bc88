/**
 * The primary's view of synchronous replication, one query per tick on the local connection
 * the heartbeat already keeps open: is synchronous_standby_names naming the peer, and is the
 * peer confirming WAL? StallTracker turns successive samples into "no flush progress while
 * WAL was pending for N ms" — a busy, healthy standby's flush position moves every tick, so it
 * never accrues; a stopped walreceiver or a missing replication connection does.
 */
import type {Config} from '../config/schema.js'
import {namesPeer} from '../steps/sync-replication.js'
import type {SyncObservation} from '../core/types.js'

/** $1 = the peer's application_name. One row even without a walsender (LEFT JOIN). */
export const SYNC_PROBE_SQL = `SELECT pg_catalog.current_setting('synchronous_standby_names') AS names,
       r.state, r.flush_lsn::text AS flush,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.flush_lsn)::float8 AS pending
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT s.state, s.flush_lsn FROM pg_catalog.pg_stat_replication s
                      WHERE s.application_name = $1 ORDER BY s.flush_lsn DESC NULLS LAST LIMIT 1) AS r ON true`

export interface SyncRow {
  names: string
  state: string | null
  flush: string | null
  pending: number | null
}

/** One sample of the peer's walsender. */
export interface FlushSample {
  present: boolean
  flush?: string
  pendingBytes?: number
}

/** Pure, apart from its own memory: successive samples → how long the peer has made no progress. */
export class StallTracker {
  private flush?: string
  private since?: number

  /** Milliseconds without flush progress while WAL was pending (or without a walsender). */
  sample(s: FlushSample, now: number): number {
    const progressing = s.present && ((s.pendingBytes ?? 0) <= 0 || s.flush !== this.flush)
    this.flush = s.present ? s.flush : undefined
    if (progressing || this.since === undefined) this.since = now
    return progressing ? 0 : now - this.since
  }

  reset(): void {
    this.flush = undefined
    this.since = undefined
  }
}

/** Pure: the query's row (or its failure) → the observation. */
export function syncObservation(cfg: Config, row: SyncRow | undefined, stalledMs: number): SyncObservation {
  if (!row) return {armed: 'unknown', standbyNames: '', peerState: 'unknown', stalledMs: 0}
  const present = row.state !== null
  return {
    armed: namesPeer(row.names, cfg.peer.name) ? 'yes' : 'no',
    standbyNames: row.names,
    peerState: present ? String(row.state) : 'absent',
    ...(present && row.pending !== null ? {pendingBytes: Math.max(0, Math.round(row.pending))} : {}),
    stalledMs,
  }
}

/** Pure: the row → the tracker's sample. */
export const flushSample = (row: SyncRow): FlushSample =>
  row.state === null ? {present: false} : {present: true, flush: row.flush ?? undefined, pendingBytes: row.pending ?? undefined}

/**
 * Reads where the local server's WAL is (LSNs, timeline) for /metrics and the health JSON,
 * beside the watch loop and on its own connection: the loop never waits for it and it never
 * changes anything. Each reading is bounded by timing.probeTimeout; a failure drops the
 * connection and the next reading connects anew.
 */
import pg from 'pg'
import type {Config} from '../config/schema.js'
import type {WalPosition} from '../core/health.js'
import {clientConfig, closeClient, localEndpoint} from './pg.js'

// Functions every role may call. The timeline: a primary's from its current WAL file name;
// a standby's from its WAL receiver (received_tli), else from the last checkpoint.
const WAL_POSITION_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text END AS location,
  pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::text AS replayed,
  pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::text AS received,
  CASE WHEN pg_is_in_recovery()
    THEN (SELECT received_tli FROM pg_stat_wal_receiver)
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline`

interface WalRow {
  in_recovery: boolean
  location: string | null
  replayed: string | null
  received: string | null
  timeline: number | null
}

/** Pure: a row → WalPosition (LSN differences arrive as numeric text). */
function walFromRow(row: WalRow, at: number): WalPosition {
  const n = (v: string | null) => (v === null ? undefined : Number(v))
  return {
    at,
    inRecovery: row.in_recovery,
    location: row.in_recovery ? n(row.replayed) : n(row.location),
    replayed: n(row.replayed),
    received: n(row.received),
    timeline: row.timeline === null ? undefined : Number(row.timeline),
  }
}

export class WalPositionReader {
  private client?: pg.Client
  private timer?: NodeJS.Timeout
  private busy = false
  last?: WalPosition

  constructor(
    private readonly cfg: Config,
    private readonly now: () => number = Date.now,
  ) {}

  /** Read every `everyMs` until stop(); readings never overlap. */
  start(everyMs: number): void {
    const tick = () => {
      void this.read().finally(() => {
        if (!this.timer) return
        this.timer = setTimeout(tick, everyMs)
        this.timer.unref()
      })
    }
    this.timer = setTimeout(tick, 0)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.drop()
  }

  async read(): Promise<WalPosition | undefined> {
    if (this.busy) return this.last
    this.busy = true
    const timeoutMs = Math.max(200, this.cfg.timing.probeTimeout)
    try {
      if (!this.client) {
        const c = new pg.Client(clientConfig(this.cfg, localEndpoint(this.cfg), {timeoutMs}))
        c.on('error', () => this.drop(c))
        try {
          await c.connect()
        } catch (error) {
          void closeClient(c, 100)
          throw error
        }
        this.client = c
      }
      const r = await this.client.query<WalRow>({text: WAL_POSITION_SQL, query_timeout: timeoutMs} as pg.QueryConfig)
      this.last = r.rows[0] ? walFromRow(r.rows[0], this.now()) : undefined
    } catch {
      // The server is down or restarting: no position (the loop reports why).
      this.last = undefined
      this.drop()
    } finally {
      this.busy = false
    }
    return this.last
  }

  private drop(c = this.client): void {
    if (!c) return
    if (this.client === c) this.client = undefined
    void closeClient(c, 200)
  }
}

import type {Config} from '../config/schema.js'
import {PghaError, StepFailedError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {localEndpoint, pgErrorLine, withPgClient} from '../system/pg.js'
import {pgCtlChange, psqlQuery} from '../system/pgctl.js'
import type {Deadline} from './deadline.js'

/**
 * The two ways the promotion step reaches the local server. Both read the same state and both
 * promote and wait until the server is writable, inside the deadline they are given:
 *  - psql: runuser + psql as the OS superuser, `pg_ctl promote -w` (what `pgha promote` and
 *    switchover use; needs no grant);
 *  - heartbeat: one connection as the heartbeat role, `pg_promote(false)`, then
 *    pg_is_in_recovery() every PROMOTE_POLL_MS (the watch loop: no process per query, which
 *    costs seconds on a loaded host; init grants EXECUTE on pg_promote).
 */

export interface RestoreCommandSetting {
  value: string
  /** Set by ALTER SYSTEM (postgresql.auto.conf), so it is put back the same way; else RESET. */
  fromAutoConf: boolean
}

export interface ServerState {
  inRecovery: boolean
  major: number
  restoreCommand: RestoreCommandSetting
  /** The connected role may execute pg_promote (always true through psql). */
  canPgPromote: boolean
}

export interface ServerAccess {
  readonly name: 'psql' | 'heartbeat'
  /** Throws StepFailedError when the server does not answer within timeoutMs. */
  state(timeoutMs: number): Promise<ServerState>
  /** Promote and wait until pg_is_in_recovery() is false, within the step's deadline. */
  promote(deadline: Deadline): Promise<void>
}

/**
 * restore_command travels hex-encoded: psql's unaligned output splits on tabs and newlines,
 * and a value holding either must come back exactly (else promote would RESET it).
 */
export const SERVER_STATE_SQL = `SELECT pg_catalog.pg_is_in_recovery(),
  pg_catalog.current_setting('server_version_num')::int / 10000,
  pg_catalog.encode(pg_catalog.convert_to(setting, 'UTF8'), 'hex'),
  COALESCE(sourcefile, '') LIKE '%postgresql.auto.conf'
FROM pg_catalog.pg_settings WHERE name = 'restore_command';`

/** Pure: hex (as SERVER_STATE_SQL sends it) → the exact text. */
export function decodeHexText(hex: string | undefined): string {
  const h = (hex ?? '').trim()
  if (!/^(?:[0-9a-f]{2})*$/i.test(h))
    throw new StepFailedError(`unexpected answer from PostgreSQL: ${JSON.stringify(h.slice(0, 40))} is not hex`, 'report this as a bug')
  return Buffer.from(h, 'hex').toString('utf8')
}

/** Pure: one row of SERVER_STATE_SQL (as psql prints it: t/f, text) → ServerState. */
export function parseServerState(row: string[] | undefined): ServerState {
  if (!row || row.length < 4) throw new StepFailedError('the server returned no state row', 'check the server log')
  return {
    inRecovery: row[0] === 't',
    major: Number(row[1]),
    restoreCommand: {value: decodeHexText(row[2]), fromAutoConf: row[3] === 't'},
    canPgPromote: true,
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** How often the heartbeat path asks pg_is_in_recovery() after signalling the promotion. */
export const PROMOTE_POLL_MS = 10

/** Poll `check` every 100 ms until true or out of time; a failing query counts as "not yet". */
export async function waitUntil(what: string, deadline: Deadline, check: (timeoutMs: number) => Promise<boolean>): Promise<void> {
  for (;;) {
    try {
      if (await check(deadline.budget(`checking ${what}`, 5000))) return
    } catch (error) {
      if (!(error instanceof PghaError)) throw error // a failed query: the server may be mid-restart
    }
    if (deadline.left() <= 100)
      throw new StepFailedError(
        `timed out waiting until ${what}`,
        'check the server log; raise postgres.stepTimeout if the server is just slow',
      )
    await sleep(Math.min(100, deadline.left()))
  }
}

export function psqlAccess(ctx: SystemContext, cfg: Config): ServerAccess {
  return {
    name: 'psql',
    async state(timeoutMs) {
      return parseServerState((await psqlQuery(ctx, cfg, SERVER_STATE_SQL, {timeoutMs}))[0])
    },
    async promote(deadline) {
      const r = await pgCtlChange(ctx, cfg, 'promote', 'promote the standby and wait until it leaves recovery', {
        timeoutMs: deadline.budget('pg_ctl promote'),
      })
      if (ctx.dryRun) return
      if (r.exitCode !== 0 || r.timedOut) throw new StepFailedError(`pg_ctl promote failed: ${describeFailure(r)}`, 'check the server log')
      await waitUntil('the server is writable (pg_is_in_recovery() = false)', deadline, async (timeoutMs) => {
        return (await psqlQuery(ctx, cfg, 'SELECT pg_is_in_recovery();', {timeoutMs}))[0]?.[0] === 'f'
      })
    },
  }
}

export function heartbeatAccess(cfg: Config): ServerAccess {
  return {
    name: 'heartbeat',
    async state(timeoutMs) {
      try {
        return await withPgClient(cfg, localEndpoint(cfg), {timeoutMs}, async (c) => {
          const r = await c.query<{rec: boolean; major: number; rc: string; auto: boolean; can: boolean}>(
            `SELECT pg_catalog.pg_is_in_recovery() AS rec, pg_catalog.current_setting('server_version_num')::int / 10000 AS major,
                    setting AS rc, COALESCE(sourcefile, '') LIKE '%postgresql.auto.conf' AS auto,
                    pg_catalog.has_function_privilege('pg_catalog.pg_promote(boolean, integer)', 'EXECUTE') AS can
             FROM pg_catalog.pg_settings WHERE name = 'restore_command'`,
          )
          const row = r.rows[0]
          return {inRecovery: row.rec, major: row.major, restoreCommand: {value: row.rc, fromAutoConf: row.auto}, canPgPromote: row.can}
        })
      } catch (error) {
        throw new StepFailedError(`the heartbeat connection to the local server failed: ${pgErrorLine(error)}`)
      }
    },
    async promote(deadline) {
      const timeoutMs = deadline.budget('pg_promote')
      let state: 'signal-failed' | 'promoted' | 'still-in-recovery'
      try {
        state = await withPgClient(cfg, localEndpoint(cfg), {timeoutMs}, async (c) => {
          // pg_promote(wait => true) looks only every 100 ms; this connection looks every
          // PROMOTE_POLL_MS, so the failover does not wait for a clock it does not need.
          if (!(await c.query<{ok: boolean}>('SELECT pg_catalog.pg_promote(false) AS ok')).rows[0].ok) return 'signal-failed'
          const until = Date.now() + Math.max(0, timeoutMs - 100) // before withPgClient's own bound: the clearer message
          for (;;) {
            if (!(await c.query<{rec: boolean}>('SELECT pg_catalog.pg_is_in_recovery() AS rec')).rows[0].rec) return 'promoted'
            if (Date.now() + PROMOTE_POLL_MS >= until) return 'still-in-recovery'
            await sleep(PROMOTE_POLL_MS)
          }
        })
      } catch (error) {
        throw new StepFailedError(`pg_promote failed: ${pgErrorLine(error)}`, 'check the server log')
      }
      if (state === 'signal-failed') throw new StepFailedError('pg_promote could not signal the postmaster', 'check the server log')
      if (state === 'still-in-recovery')
        throw new StepFailedError(
          `the server was still in recovery at the end of the step's ${timeoutMs} ms for pg_promote`,
          'check the server log; raise postgres.stepTimeout if the server is just slow',
        )
    },
  }
}

import type {Config} from '../config/schema.js'
import {PghaError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {listDataDir, pgControldata, pgCtlStatus, psqlQuery, readServerMajor} from '../system/pgctl.js'
import {Deadline, stepDeadline} from './deadline.js'
import type {StepOutcome} from './types.js'

export type DbRole = 'primary' | 'standby'

export interface RoleDetection extends StepOutcome {
  role: DbRole
  running: boolean
  /** Human lines saying what the role was decided from. */
  evidence: string[]
  /** True when the standby marker is recovery.conf (PostgreSQL ≤ 11). */
  legacy?: boolean
  /** Major version from PG_VERSION. */
  pgMajor: number
  pid?: number
  /**
   * A running server answered pg_is_in_recovery(). false: it runs but did not answer in time
   * (frozen, overloaded), so `role` is only what its files say.
   */
  answering: boolean
  /** Why a running server did not answer. */
  queryError?: string
}

/** Bound of detect-role on its own: postgres.stepTimeout, at most 10 s (it only reads). */
const DETECT_ROLE_MAX_MS = 10_000
/** Kept back from the query for pg_controldata (evidence only) so the whole stays in bound. */
const CONTROLDATA_RESERVE_MS = 500

/** Pure: the role a stopped (or unqueryable) data directory will come up in, from its files. */
export function roleFromFiles(files: string[], pgMajor: number): {role: DbRole; evidence: string[]; legacy?: boolean} {
  const has = (f: string) => files.includes(f)
  if (has('standby.signal')) return {role: 'standby', evidence: ['standby.signal present: starts as a streaming standby']}
  if (has('recovery.signal'))
    return {role: 'standby', evidence: ['recovery.signal present: starts in targeted/archive recovery (not writable until recovery ends)']}
  if (has('recovery.conf')) {
    return pgMajor <= 11
      ? {role: 'standby', legacy: true, evidence: [`recovery.conf present: legacy standby configuration (PostgreSQL ${pgMajor} ≤ 11)`]}
      : {
          role: 'standby',
          legacy: true,
          evidence: [
            `recovery.conf present but PostgreSQL ${pgMajor} refuses it (legacy, ≤ 11 only): move its settings to postgresql.auto.conf and create standby.signal`,
          ],
        }
  }
  return {role: 'primary', evidence: ['no standby.signal, recovery.signal or recovery.conf: starts as a primary']}
}

/**
 * Primary or standby, with the evidence. A running server's pg_is_in_recovery() is the truth;
 * files decide when it is stopped (or cannot be queried). Read-only.
 */
export async function detectRole(ctx: SystemContext, cfg: Config, opts: {deadline?: Deadline} = {}): Promise<RoleDetection> {
  const deadline = opts.deadline ?? stepDeadline(Math.min(cfg.postgres.stepTimeout, DETECT_ROLE_MAX_MS))
  const pgMajor = await readServerMajor(ctx, cfg)
  const status = await pgCtlStatus(ctx, cfg, {timeoutMs: deadline.budget('pg_ctl status', 10_000)})
  const files = await listDataDir(ctx, cfg, {timeoutMs: deadline.budget('listing the data directory', 10_000)})
  const fromFiles = roleFromFiles(files, pgMajor)
  const evidence = [status.detail]
  let queryError: string | undefined

  if (status.running) {
    try {
      const timeoutMs = Math.max(100, deadline.budget('asking pg_is_in_recovery()') - CONTROLDATA_RESERVE_MS)
      const rows = await psqlQuery(ctx, cfg, 'SELECT pg_is_in_recovery();', {timeoutMs})
      const inRecovery = rows[0]?.[0] === 't'
      const role: DbRole = inRecovery ? 'standby' : 'primary'
      evidence.push(`pg_is_in_recovery() = ${inRecovery}`)
      if (fromFiles.role !== role) evidence.push(`note: files say ${fromFiles.role} (${fromFiles.evidence[0]})`)
      return outcome(role, true, evidence, fromFiles.legacy, pgMajor, status.pid)
    } catch (error) {
      if (!(error instanceof PghaError)) throw error
      queryError = error.message
      evidence.push(`running, but the server is not answering (${error.message}); the role below is only what its files say`)
    }
  }
  evidence.push(...fromFiles.evidence)
  try {
    const state = (await pgControldata(ctx, cfg, {timeoutMs: deadline.budget('pg_controldata')}))['Database cluster state']
    if (state) evidence.push(`pg_controldata: cluster state "${state}"`)
  } catch {
    // Evidence only; the files above decide.
  }
  return outcome(fromFiles.role, status.running, evidence, fromFiles.legacy, pgMajor, status.pid, queryError)
}

function outcome(
  role: DbRole,
  running: boolean,
  evidence: string[],
  legacy: boolean | undefined,
  pgMajor: number,
  pid?: number,
  queryError?: string,
): RoleDetection {
  const state = !running ? 'stopped' : queryError === undefined ? 'running' : 'running but not answering; role from its files'
  const summary = `${role} (${state}, PostgreSQL ${pgMajor}${legacy ? ', legacy recovery.conf' : ''})`
  const answering = running && queryError === undefined
  return {
    changed: false,
    summary,
    role,
    running,
    answering,
    evidence,
    ...(legacy ? {legacy} : {}),
    pgMajor,
    ...(pid ? {pid} : {}),
    ...(queryError ? {queryError} : {}),
  }
}

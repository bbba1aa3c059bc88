import type {Config} from '../config/schema.js'
import {PghaError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {listDataDir, pgControldata, pgCtlStatus, psqlQuery, readServerMajor} from '../system/pgctl.js'
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
}

/** Pure: the role a stopped (or unqueryable) data directory will come up in, from its files. */
export function roleFromFiles(files: string[], pgMajor: number): {role: DbRole; evidence: string[]; legacy?: boolean} {
  const has = (f: string) => files.includes(f)
  if (has('standby.signal')) return {role: 'standby', evidence: ['standby.signal present: starts as a streaming standby']}
  if (has('recovery.signal')) return {role: 'standby', evidence: ['recovery.signal present: starts in targeted/archive recovery (not writable until recovery ends)']}
  if (has('recovery.conf')) {
    return pgMajor <= 11
      ? {role: 'standby', legacy: true, evidence: [`recovery.conf present: legacy standby configuration (PostgreSQL ${pgMajor} ≤ 11)`]}
      : {role: 'standby', legacy: true, evidence: [`recovery.conf present but PostgreSQL ${pgMajor} refuses it (legacy, ≤ 11 only): move its settings to postgresql.auto.conf and create standby.signal`]}
  }
  return {role: 'primary', evidence: ['no standby.signal, recovery.signal or recovery.conf: starts as a primary']}
}

/**
 * Primary or standby, with the evidence. A running server's pg_is_in_recovery() is the truth;
 * files decide when it is stopped (or cannot be queried). Read-only.
 */
export async function detectRole(ctx: SystemContext, cfg: Config): Promise<RoleDetection> {
  const pgMajor = await readServerMajor(ctx, cfg)
  const status = await pgCtlStatus(ctx, cfg)
  const files = await listDataDir(ctx, cfg)
  const fromFiles = roleFromFiles(files, pgMajor)
  const evidence = [status.detail]

  if (status.running) {
    try {
      const rows = await psqlQuery(ctx, cfg, 'SELECT pg_is_in_recovery();', {timeoutMs: Math.min(cfg.postgres.stepTimeout, 10_000)})
      const inRecovery = rows[0]?.[0] === 't'
      const role: DbRole = inRecovery ? 'standby' : 'primary'
      evidence.push(`pg_is_in_recovery() = ${inRecovery}`)
      if (fromFiles.role !== role) evidence.push(`note: files say ${fromFiles.role} (${fromFiles.evidence[0]})`)
      return outcome(role, true, evidence, fromFiles.legacy, pgMajor, status.pid)
    } catch (error) {
      if (!(error instanceof PghaError)) throw error
      evidence.push(`running, but the query failed (${error.message}); deciding from files`)
    }
  }
  evidence.push(...fromFiles.evidence)
  try {
    const state = (await pgControldata(ctx, cfg))['Database cluster state']
    if (state) evidence.push(`pg_controldata: cluster state "${state}"`)
  } catch {
    // Evidence only; the files above decide.
  }
  return outcome(fromFiles.role, status.running, evidence, fromFiles.legacy, pgMajor, status.pid)
}

function outcome(role: DbRole, running: boolean, evidence: string[], legacy: boolean | undefined, pgMajor: number, pid?: number): RoleDetection {
  const summary = `${role} (${running ? 'running' : 'stopped'}, PostgreSQL ${pgMajor}${legacy ? ', legacy recovery.conf' : ''})`
  return {changed: false, summary, role, running, evidence, ...(legacy ? {legacy} : {}), pgMajor, ...(pid ? {pid} : {})}
}

/**
 * Synchronous replication, armed and degraded idempotently (ALTER SYSTEM + pg_reload_conf,
 * only when the value differs).
 *  - arm: synchronous_standby_names = the peer's application_name (its node name, which rejoin
 *    and the lab put in primary_conninfo), synchronous_commit = on. Every commit then waits
 *    until the standby flushed it.
 *  - degrade: synchronous_standby_names = '' releases the waiting commits. Only behind proof
 *    that the standby cannot hold acknowledged commits the primary would lose track of: a fence
 *    verified this tick, a BMC that says power off now, the node's own fresh promotion, or a
 *    DBA's explicit `pgha degrade --yes`. Without proof the step refuses (exit 3).
 * The heartbeat role does it over one connection when init granted ALTER SYSTEM on the two
 * parameters (PostgreSQL 15+); otherwise psql as the OS user (superuser).
 */
import type pg from 'pg'
import type {Config} from '../config/schema.js'
import {SafetyRefusal, StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {localEndpoint, pgErrorLine, withPgClient} from '../system/pg.js'
import {psqlChange, psqlQuery, sqlLiteral} from '../system/pgctl.js'
import type {StepOutcome} from './types.js'

/** Why a degrade is allowed; anything else is refused. */
export type DegradeProof =
  | {kind: 'fence-verified'; detail: string}
  | {kind: 'power-off'; detail: string}
  | {kind: 'new-primary'; detail: string}
  | {kind: 'manual'; detail: string}

export interface SyncSettings {
  standbyNames: string
  commit: string
}

const SYNC_SETTINGS_SQL =
  "SELECT pg_catalog.current_setting('synchronous_standby_names') AS names, pg_catalog.current_setting('synchronous_commit') AS commit"

/** Pure: the synchronous_standby_names value naming the peer (double-quoted: names may hold '-' or '.'). */
export function armedStandbyNames(cfg: Config): string {
  return `"${cfg.peer.name.replace(/"/g, '')}"`
}

/** Pure: the SQL that sets the wanted values (empty when nothing differs). */
export function syncChangeSql(have: SyncSettings, want: Partial<SyncSettings>): string[] {
  const sql: string[] = []
  if (want.standbyNames !== undefined && have.standbyNames !== want.standbyNames)
    sql.push(`ALTER SYSTEM SET synchronous_standby_names = ${sqlLiteral(want.standbyNames)}`)
  if (want.commit !== undefined && have.commit !== want.commit) sql.push(`ALTER SYSTEM SET synchronous_commit = ${sqlLiteral(want.commit)}`)
  if (sql.length > 0) sql.push('SELECT pg_catalog.pg_reload_conf()')
  return sql
}

/** Pure: is the peer named in synchronous_standby_names (plain or quoted, alone or in a list)? */
export function namesPeer(standbyNames: string, peerName: string): boolean {
  const list = standbyNames.replace(/^\s*(FIRST|ANY)\s+\d+\s*\(|^\s*\d+\s*\(|\)\s*$/gi, '')
  return list
    .split(',')
    .map((n) => n.trim().replace(/^"(.*)"$/, '$1'))
    .some((n) => n === peerName || n === '*')
}

async function readSettings(c: pg.Client): Promise<SyncSettings> {
  const r = await c.query<{names: string; commit: string}>(SYNC_SETTINGS_SQL)
  return {standbyNames: r.rows[0].names, commit: r.rows[0].commit}
}

const isPermission = (e: unknown) => (e as {code?: string}).code === '42501'

/**
 * Apply `want` on the local server. Returns the settings before, and whether it changed them.
 * Waits (bounded) until this session sees the new value, so "done" means the server took it.
 */
async function applySync(
  ctx: SystemContext,
  cfg: Config,
  want: Partial<SyncSettings>,
  why: string,
  mayChange: (have: SyncSettings) => void = () => undefined,
): Promise<{before: SyncSettings; changed: boolean; planned?: boolean}> {
  const timeoutMs = cfg.replication.sqlTimeout
  let before: SyncSettings | undefined
  try {
    return await withPgClient(cfg, localEndpoint(cfg), {timeoutMs}, async (c) => {
      before = await readSettings(c)
      const sql = syncChangeSql(before, want)
      if (sql.length === 0) return {before, changed: false}
      mayChange(before)
      if (!ctx.sqlChange(`${cfg.postgres.heartbeat.database}@local`, sql.join(';\n') + ';', why))
        return {before, changed: false, planned: true}
      for (const s of sql) await c.query(s)
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const now = await readSettings(c)
        if (syncChangeSql(now, want).length === 0) return {before, changed: true}
        if (Date.now() > deadline)
          throw new StepFailedError(
            `the server did not take the new synchronous replication settings within ${timeoutMs} ms (${why})`,
            'check the server log for a configuration error',
          )
        await new Promise((r) => setTimeout(r, 20))
      }
    })
  } catch (error) {
    if (error instanceof StepFailedError || error instanceof SafetyRefusal) throw error
    if (!isPermission(error))
      throw new StepFailedError(
        `cannot ${why}: ${pgErrorLine(error)}`,
        'is the local PostgreSQL running and reachable as the heartbeat role?',
      )
  }
  // No ALTER SYSTEM grant (PostgreSQL < 15, or init not re-run): as the OS user through psql.
  const row = (await psqlQuery(ctx, cfg, SYNC_SETTINGS_SQL + ';', {timeoutMs}))[0]
  before = {standbyNames: row?.[0] ?? '', commit: row?.[1] ?? ''}
  const sql = syncChangeSql(before, want)
  if (sql.length === 0) return {before, changed: false}
  mayChange(before)
  const r = await psqlChange(ctx, cfg, sql.join(';\n') + ';', why, {timeoutMs})
  return {before, changed: r !== undefined, planned: r === undefined}
}

/** Arm: commits wait for the peer's flush. A no-op in async mode. */
export async function ensureSyncArmed(ctx: SystemContext, cfg: Config): Promise<StepOutcome> {
  if (cfg.replication.mode !== 'sync') return {changed: false, summary: 'replication.mode is async: synchronous replication not armed'}
  const names = armedStandbyNames(cfg)
  const r = await applySync(ctx, cfg, {standbyNames: names, commit: 'on'}, `arm synchronous replication with ${cfg.peer.name}`)
  if (!r.changed)
    return {
      changed: false,
      summary: r.planned
        ? `would arm synchronous replication: synchronous_standby_names = ${names}`
        : `synchronous replication already armed with ${cfg.peer.name}`,
    }
  return {
    changed: true,
    summary: `synchronous replication re-armed: commits now wait for ${cfg.peer.name} (synchronous_standby_names was '${r.before.standbyNames}')`,
  }
}

/**
 * replication.mode async: clear a synchronous_standby_names that still names the peer (left from
 * sync mode), so commits stop waiting as configured. No fence needed: in async mode a promotion
 * never claims zero loss. A value naming other standbys only is the DBA's and is left alone.
 */
export async function ensureAsyncDisarmed(ctx: SystemContext, cfg: Config): Promise<StepOutcome> {
  if (cfg.replication.mode !== 'async') return {changed: false, summary: 'replication.mode is sync: left armed'}
  const peerNamed = (have: SyncSettings) => {
    if (!namesPeer(have.standbyNames, cfg.peer.name))
      throw new StepFailedError(
        `synchronous_standby_names '${have.standbyNames}' does not name ${cfg.peer.name}: not clearing a value pgha did not set`,
        "clear it by hand if commits should not wait (ALTER SYSTEM SET synchronous_standby_names = '')",
      )
  }
  const r = await applySync(ctx, cfg, {standbyNames: ''}, 'clear synchronous_standby_names (replication.mode async)', peerNamed)
  if (!r.changed)
    return {
      changed: false,
      summary: r.planned ? "would run ALTER SYSTEM SET synchronous_standby_names = ''" : 'synchronous_standby_names is already empty',
    }
  return {
    changed: true,
    summary: `asynchronous: synchronous_standby_names '${r.before.standbyNames}' cleared, commits no longer wait for ${cfg.peer.name}`,
  }
}

/** Degrade: commits stop waiting for a standby. Refuses without a proof (when there is anything to clear). */
export async function ensureSyncDegraded(ctx: SystemContext, cfg: Config, proof: DegradeProof | undefined): Promise<StepOutcome> {
  const refuse = (have: SyncSettings) => {
    if (proof) return
    throw new SafetyRefusal(
      `refusing to clear synchronous_standby_names '${have.standbyNames}': ${cfg.peer.name}'s power-off is not verified, so commits keep waiting for it`,
      'fence it (pgha fence-peer), or, if you know it is down, run pgha degrade --yes',
    )
  }
  const r = await applySync(ctx, cfg, {standbyNames: ''}, `degrade synchronous replication (${proof?.detail ?? 'no proof'})`, refuse)
  if (!r.changed)
    return {
      changed: false,
      summary: r.planned
        ? `would degrade: ALTER SYSTEM SET synchronous_standby_names = '' (${proof?.detail})`
        : 'synchronous replication is not armed (synchronous_standby_names is empty): nothing to release',
    }
  return {
    changed: true,
    summary: `degraded to asynchronous: synchronous_standby_names '${r.before.standbyNames}' cleared, waiting commits released (${proof?.detail})`,
  }
}

import type {Config} from '../config/schema.js'
import {StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {describeEndpoint, localEndpoint, type PgEndpoint, pgErrorLine, withPgClient} from '../system/pg.js'
import {CLUSTER_STATE_SQL, type ClusterState, clusterStateFromRow} from '../sql/heartbeat.js'
import type {StepOutcome} from './types.js'

/**
 * Maintenance flags in pgha.cluster_state (the single row `pgha init` creates). They are
 * written on the primary and replicate, so both watch loops read the same answer from their
 * own database: paused → observe and report, never act; switchover ≠ null → a planned
 * switchover owns the roles, also observe only.
 */

export type {ClusterState} from '../sql/heartbeat.js'

/** Reads the row on any server (a standby reads its replicated copy). */
export async function readClusterState(cfg: Config, endpoint: PgEndpoint, timeoutMs: number): Promise<ClusterState> {
  const state = await withPgClient(cfg, endpoint, {timeoutMs}, async (c) => clusterStateFromRow((await c.query(CLUSTER_STATE_SQL)).rows[0]))
  if (!state) throw new StepFailedError('pgha.cluster_state has no row', 'run pgha init on the primary')
  return state
}

export interface Candidate {
  label: string
  endpoint: PgEndpoint
}

/** Where the primary may be: this host's server first, then the peer's address. */
export function primaryCandidates(cfg: Config): Candidate[] {
  return [
    {label: `local (${cfg.node.name})`, endpoint: localEndpoint(cfg)},
    {label: `peer (${cfg.peer.name} at ${cfg.peer.address})`, endpoint: {kind: 'tcp', host: cfg.peer.address, port: cfg.postgres.port}},
  ]
}

/** The first candidate that is a writable primary; one clear error naming every attempt otherwise. */
export async function findWritablePrimary(cfg: Config, candidates: Candidate[], timeoutMs: number): Promise<Candidate> {
  const tried: string[] = []
  for (const c of candidates) {
    try {
      const rows = await withPgClient(cfg, c.endpoint, {timeoutMs}, async (cl) => (await cl.query('SELECT pg_is_in_recovery() AS r')).rows)
      if (rows[0]?.r === false) return c
      tried.push(`${c.label}: a standby`)
    } catch (error) {
      tried.push(`${c.label}: ${pgErrorLine(error)}`)
    }
  }
  throw new StepFailedError(
    `no writable primary reachable (${tried.join('; ')})`,
    'the flag lives on the primary and replicates; start the primary first',
  )
}

export interface PauseOptions {
  /** Where to look for the primary (tests pass explicit endpoints). */
  candidates?: Candidate[]
  timeoutMs?: number
}

/**
 * Set (pause) or clear (resume) cluster_state.paused on the primary. Idempotent: a flag that
 * already has the wanted value → changed:false. Under --dry-run the UPDATE is only planned.
 */
export async function ensurePaused(ctx: SystemContext, cfg: Config, paused: boolean, opts: PauseOptions = {}): Promise<StepOutcome> {
  const timeoutMs = opts.timeoutMs ?? Math.max(2000, cfg.timing.probeTimeout * 5)
  const primary = await findWritablePrimary(cfg, opts.candidates ?? primaryCandidates(cfg), timeoutMs)
  const where = describeEndpoint(primary.endpoint)
  const before = await readClusterState(cfg, primary.endpoint, timeoutMs)
  const word = paused ? 'paused' : 'resumed'
  const base = {paused, primary: primary.label, switchover: before.switchover}
  if (before.paused === paused)
    return {
      changed: false,
      summary: `cluster already ${paused ? 'paused' : 'not paused'} (flag on the primary, ${primary.label}); nothing to do`,
      ...base,
    }
  const sql = 'UPDATE pgha.cluster_state SET paused = $1, updated_at = now() WHERE id = 1'
  if (
    !ctx.sqlChange(
      where,
      sql.replace('$1', String(paused)),
      paused ? 'maintenance: both watch loops observe but do not act' : 'end maintenance: watch loops act again',
    )
  ) {
    return {changed: false, summary: `would mark the cluster ${word} on the primary (${primary.label})`, ...base}
  }
  await withPgClient(cfg, primary.endpoint, {timeoutMs}, (c) => c.query(sql, [paused]))
  return {
    changed: true,
    summary: paused
      ? `cluster paused (flag set on the primary, ${primary.label}; it replicates): watch loops observe and report but do not act until pgha resume`
      : `cluster resumed (flag cleared on the primary, ${primary.label}): watch loops act again`,
    ...base,
  }
}

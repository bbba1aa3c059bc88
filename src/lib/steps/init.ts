import type {Config} from '../config/schema.js'
import {PghaError, StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {psqlChange, psqlQuery} from '../system/pgctl.js'
import {
  clusterProbeSql,
  createDatabaseSql,
  type HeartbeatNames,
  passwordSql,
  passwordStdinPrefix,
  roleSql,
  schemaProbeSql,
  schemaSql,
} from './init-sql.js'
import {parseRoleGuard, roleGuardClusterSql, roleGuardDatabaseSql, roleGuardRefusal} from './init-role-guard.js'
import type {StepOutcome} from './types.js'

export interface EnsureInitOptions {
  /** Set the heartbeat role's password (sent on psql's stdin; never shown or logged). */
  password?: string
}

interface InitState {
  database: boolean
  role: boolean
  schema: boolean
  inRecovery: boolean
}

async function probeState(ctx: SystemContext, cfg: Config, n: HeartbeatNames): Promise<InitState> {
  let row: string[]
  try {
    row = (await psqlQuery(ctx, cfg, clusterProbeSql(n), {database: 'postgres'}))[0] ?? []
  } catch (error) {
    if (error instanceof PghaError) {
      throw new StepFailedError(
        `cannot reach PostgreSQL to initialize: ${error.message}`,
        'start it first (pgha start-db) and run init on the primary',
      )
    }
    throw error
  }
  const [database, role, inRecovery] = row.map((v) => v === 't')
  await refuseForeignRole(ctx, cfg, n, database)
  const schema = database ? (await psqlQuery(ctx, cfg, schemaProbeSql(n), {database: n.database}))[0]?.[0] === 't' : false
  return {database, role, schema, inRecovery}
}

/** Throws (exit 2) when heartbeat.user names a role init would have to weaken or take over. */
async function refuseForeignRole(ctx: SystemContext, cfg: Config, n: HeartbeatNames, databaseExists: boolean): Promise<void> {
  const clusterRow = (await psqlQuery(ctx, cfg, roleGuardClusterSql(n), {database: 'postgres'}))[0]
  const databaseRow =
    clusterRow && databaseExists ? (await psqlQuery(ctx, cfg, roleGuardDatabaseSql(n), {database: n.database}))[0] : undefined
  const refusal = roleGuardRefusal(n.user, parseRoleGuard(clusterRow, databaseRow))
  if (refusal) throw refusal
}

/**
 * The heartbeat database, a non-superuser role (pg_monitor, EXECUTE on pg_promote, owner of
 * schema pgha), the guarded single-row tables pgha.heartbeat and pgha.cluster_state, and the
 * heartbeat function. Idempotent: probes first and does nothing when all is current.
 */
export async function ensureInit(ctx: SystemContext, cfg: Config, opts: EnsureInitOptions = {}): Promise<StepOutcome> {
  const n: HeartbeatNames = {database: cfg.postgres.heartbeat.database, user: cfg.postgres.heartbeat.user}
  const state = await probeState(ctx, cfg, n)
  const complete = state.database && state.role && state.schema
  const where = `database ${n.database}, role ${n.user}`

  if (state.inRecovery) {
    if (complete && opts.password === undefined) {
      return {changed: false, summary: `already initialized (${where}; replicated from the primary)`, ...state}
    }
    throw new StepFailedError(
      'this server is a standby (read-only): init must run on the primary',
      'run pgha init on the primary; it replicates here',
    )
  }
  if (complete && opts.password === undefined) return {changed: false, summary: `already initialized (${where})`, ...state}

  const done: string[] = []
  if (!state.role) {
    await psqlChange(ctx, cfg, roleSql(n), `create non-superuser role ${n.user} with pg_monitor and EXECUTE on pg_promote`)
    done.push(`role ${n.user}`)
  }
  if (opts.password !== undefined) {
    await psqlChange(ctx, cfg, passwordSql(n), `set the password of role ${n.user} (value sent on stdin, not shown)`, {
      stdinPrefix: passwordStdinPrefix(opts.password),
    })
    done.push(`password of ${n.user}`)
  }
  if (!state.database) {
    await psqlChange(ctx, cfg, createDatabaseSql(n), `create the heartbeat database ${n.database}`)
    done.push(`database ${n.database}`)
  }
  if (!state.schema) {
    await psqlChange(ctx, cfg, schemaSql(n), 'create schema pgha, guarded tables heartbeat and cluster_state, and the heartbeat function', {
      database: n.database,
    })
    done.push('schema pgha')
  }
  if (ctx.dryRun) return {changed: false, summary: `would create or update: ${done.join(', ')}`, ...state}
  return {changed: true, summary: `initialized ${done.join(', ')}`, ...state}
}

import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Config} from '../config/schema.js'
import {StepFailedError} from '../errors.js'
import {describeFailure, type RunResult, type SystemContext} from './exec.js'

/**
 * pg_ctl, psql and pg_controldata: pure argv builders (unit-tested) and thin runners that go
 * through ctx.probe / ctx.change as postgres.osUser with timeouts from postgres.stepTimeout.
 * SQL always travels on psql's stdin, never in argv.
 */

export type PgSettings = Config['postgres']
export type PgCtlAction = 'start' | 'stop' | 'restart' | 'status' | 'promote'
export type StopMode = 'smart' | 'fast' | 'immediate'

/**
 * Taken off pg_ctl's own -t (inside the caller's timeout, not on top of it) so pg_ctl reports
 * its timeout before we kill it, and the whole call still ends within the timeout given.
 */
export const PGCTL_SLACK_MS = 1000

export function binary(pgs: Pick<PgSettings, 'bindir'>, name: string): string {
  return join(pgs.bindir, name)
}

export function serverLogFile(pgs: Pick<PgSettings, 'datadir' | 'logFile'>): string {
  return pgs.logFile ?? join(pgs.datadir, 'pgha-server.log')
}

/** Pure: quote for /bin/sh (pg_ctl hands -o to a shell). */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/** Pure: a SQL string literal. */
export function sqlLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/** Pure: a SQL identifier (always quoted, so case and odd characters survive). */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`
}

/** Pure: pg_ctl argv. -w -t on everything that waits; start/restart log to a file so no pipe stays open. */
export function pgCtlArgv(pgs: PgSettings, action: PgCtlAction, opts: {timeoutMs?: number; mode?: StopMode} = {}): string[] {
  const argv = [binary(pgs, 'pg_ctl'), action, '-D', pgs.datadir]
  if (action === 'status') return argv
  const secs = Math.max(1, Math.ceil((opts.timeoutMs ?? pgs.stepTimeout) / 1000))
  argv.push('-w', '-t', String(secs))
  if (action === 'stop' || action === 'restart') argv.push('-m', opts.mode ?? 'fast')
  if (action === 'start' || action === 'restart') {
    argv.push('-l', serverLogFile(pgs))
    if (pgs.configFile) argv.push('-o', `-c config_file=${shQuote(pgs.configFile)}`)
  }
  return argv
}

/** Pure: psql as the OS user over the local socket; SQL comes on stdin; unaligned, tuples only. */
export function psqlArgv(pgs: PgSettings, database: string): string[] {
  return [
    binary(pgs, 'psql'),
    '-X',
    '-q',
    '-A',
    '-t',
    '-v',
    'ON_ERROR_STOP=1',
    '-F',
    '\t',
    '-h',
    pgs.socketDir,
    '-p',
    String(pgs.port),
    '-d',
    database,
  ]
}

/** Pure: environment for psql: bounded connect and statements, C messages. */
export function psqlEnv(timeoutMs: number): Record<string, string> {
  return {
    PGCONNECT_TIMEOUT: String(Math.max(2, Math.ceil(timeoutMs / 1000))),
    PGOPTIONS: `-c statement_timeout=${timeoutMs} -c client_min_messages=warning`,
    PGAPPNAME: 'pgha',
    LC_MESSAGES: 'C',
  }
}

export function pgControldataArgv(pgs: PgSettings): string[] {
  return [binary(pgs, 'pg_controldata'), '-D', pgs.datadir]
}

/** Pure: "Key:   value" lines of pg_controldata → map. */
export function parseControldata(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line)
    if (m) out[m[1].trim()] = m[2].trim()
  }
  return out
}

/** Pure: psql -A -t -F tab output → rows of fields. */
export function parsePsqlRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'))
}

/** Pure: pg_ctl status exit code → running? (0 running, 3 not running, 4 no usable data dir). */
export function interpretStatus(r: Pick<RunResult, 'exitCode' | 'stdout' | 'stderr' | 'timedOut'>): {
  running: boolean
  pid?: number
  detail: string
} {
  if (r.exitCode === 0) {
    const pid = /PID:\s*(\d+)/.exec(r.stdout)?.[1]
    return {running: true, pid: pid ? Number(pid) : undefined, detail: `pg_ctl status: server is running${pid ? ` (PID ${pid})` : ''}`}
  }
  if (r.exitCode === 3) return {running: false, detail: 'pg_ctl status: no server running'}
  const why = r.timedOut ? 'timed out' : (r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.exitCode}`
  return {running: false, detail: `pg_ctl status failed: ${why}`}
}

/** Pure: one line for a failed psql/pg_ctl run, preferring the ERROR/FATAL line over CONTEXT/HINT. */
export function pgFailure(r: RunResult): string {
  const lines = (r.stderr || r.stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const key = lines.find((l) => /\b(ERROR|FATAL|PANIC):/.test(l))
  if (!key || r.timedOut) return describeFailure(r)
  return `${r.argv.join(' ')} exited ${r.exitCode}: ${key.replace(/^psql:[^ ]*:\d+: /, '')}`
}

// ---------------------------------------------------------------------------------------------
// Runners

const asOsUser = (cfg: Config) => ({asUser: cfg.postgres.osUser})

export async function pgCtlStatus(
  ctx: SystemContext,
  cfg: Config,
  opts: {timeoutMs?: number} = {},
): Promise<{running: boolean; pid?: number; detail: string; exitCode: number}> {
  const r = await ctx.probe(pgCtlArgv(cfg.postgres, 'status'), {
    ...asOsUser(cfg),
    timeoutMs: opts.timeoutMs ?? 10_000,
    env: {LC_MESSAGES: 'C'},
  })
  if (r.exitCode !== 0 && r.exitCode !== 3) {
    throw new StepFailedError(
      `cannot tell whether PostgreSQL runs: ${describeFailure(r)}`,
      `check postgres.datadir (${cfg.postgres.datadir}) and postgres.osUser (${cfg.postgres.osUser})`,
    )
  }
  return {...interpretStatus(r), exitCode: r.exitCode}
}

/** A mutating pg_ctl action (start/stop/restart/promote), recorded under --dry-run. */
export function pgCtlChange(
  ctx: SystemContext,
  cfg: Config,
  action: Exclude<PgCtlAction, 'status'>,
  why: string,
  opts: {timeoutMs?: number; mode?: StopMode} = {},
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? cfg.postgres.stepTimeout
  const waitMs = Math.max(1000, timeoutMs - PGCTL_SLACK_MS)
  return ctx.change(
    pgCtlArgv(cfg.postgres, action, {...opts, timeoutMs: waitMs}),
    {...asOsUser(cfg), timeoutMs, env: {LC_MESSAGES: 'C'}},
    why,
  )
}

/** Read-only SQL via psql (runs under --dry-run too). Throws StepFailedError on failure. */
export async function psqlQuery(
  ctx: SystemContext,
  cfg: Config,
  sql: string,
  opts: {database?: string; timeoutMs?: number} = {},
): Promise<string[][]> {
  const timeoutMs = opts.timeoutMs ?? Math.min(cfg.postgres.stepTimeout, 15_000)
  const r = await ctx.probe(psqlArgv(cfg.postgres, opts.database ?? 'postgres'), {
    ...asOsUser(cfg),
    timeoutMs,
    input: sql,
    env: psqlEnv(timeoutMs),
  })
  if (r.exitCode !== 0 || r.timedOut)
    throw new StepFailedError(
      `query failed: ${pgFailure(r)}`,
      'is PostgreSQL running and reachable on postgres.socketDir/port as postgres.osUser?',
    )
  return parsePsqlRows(r.stdout)
}

/**
 * Mutating SQL via psql: recorded in the plan (and skipped) under --dry-run. `stdinPrefix` is sent
 * before the SQL but never shown or logged (e.g. `\set pw '...'` for a password).
 */
export async function psqlChange(
  ctx: SystemContext,
  cfg: Config,
  sql: string,
  why: string,
  opts: {database?: string; timeoutMs?: number; stdinPrefix?: string} = {},
): Promise<RunResult | undefined> {
  const database = opts.database ?? 'postgres'
  if (!ctx.sqlChange(database, sql, why)) return undefined
  const timeoutMs = opts.timeoutMs ?? cfg.postgres.stepTimeout
  const r = await ctx.exec.run(psqlArgv(cfg.postgres, database), {
    ...asOsUser(cfg),
    timeoutMs,
    input: (opts.stdinPrefix ?? '') + sql + '\n',
    env: psqlEnv(timeoutMs),
  })
  if (r.exitCode !== 0 || r.timedOut)
    throw new StepFailedError(`SQL failed (${why}): ${pgFailure(r)}`, 'see the PostgreSQL error above; nothing after this statement ran')
  return r
}

/** File names in the data directory (read directly when we may, else `ls` as the OS user). */
export async function listDataDir(ctx: SystemContext, cfg: Config, opts: {timeoutMs?: number} = {}): Promise<string[]> {
  try {
    return readdirSync(cfg.postgres.datadir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new StepFailedError(
        `data directory ${cfg.postgres.datadir} does not exist`,
        'fix postgres.datadir or create the cluster (initdb / pg_basebackup)',
      )
    if (code !== 'EACCES' && code !== 'EPERM') throw error
  }
  const r = await ctx.probe(['ls', '-1A', cfg.postgres.datadir], {...asOsUser(cfg), timeoutMs: opts.timeoutMs ?? 10_000})
  if (r.exitCode !== 0)
    throw new StepFailedError(`cannot list ${cfg.postgres.datadir}: ${describeFailure(r)}`, 'run pgha as root or as postgres.osUser')
  return r.stdout.split('\n').filter(Boolean)
}

async function readDataFile(ctx: SystemContext, cfg: Config, name: string): Promise<string> {
  const path = join(cfg.postgres.datadir, name)
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new StepFailedError(
        `${path} does not exist: ${cfg.postgres.datadir} is not a PostgreSQL data directory`,
        'fix postgres.datadir',
      )
    if (code !== 'EACCES' && code !== 'EPERM') throw error
  }
  const r = await ctx.probe(['cat', path], {...asOsUser(cfg), timeoutMs: 10_000})
  if (r.exitCode !== 0) throw new StepFailedError(`cannot read ${path}: ${describeFailure(r)}`, 'run pgha as root or as postgres.osUser')
  return r.stdout
}

/** Pure: "15\n" → 15; "9.6" → 9. */
export function parsePgVersionFile(text: string): number {
  const major = Number.parseInt(text.trim(), 10)
  if (!Number.isFinite(major))
    throw new StepFailedError(`PG_VERSION holds ${JSON.stringify(text.trim())}, not a version`, 'fix postgres.datadir')
  return major
}

/** Major version of the data directory (PG_VERSION). */
export async function readServerMajor(ctx: SystemContext, cfg: Config): Promise<number> {
  return parsePgVersionFile(await readDataFile(ctx, cfg, 'PG_VERSION'))
}

export async function pgControldata(ctx: SystemContext, cfg: Config, opts: {timeoutMs?: number} = {}): Promise<Record<string, string>> {
  const r = await ctx.probe(pgControldataArgv(cfg.postgres), {...asOsUser(cfg), timeoutMs: opts.timeoutMs ?? 10_000, env: {LC_ALL: 'C'}})
  if (r.exitCode !== 0)
    throw new StepFailedError(`pg_controldata failed: ${describeFailure(r)}`, 'check postgres.bindir and postgres.datadir')
  return parseControldata(r.stdout)
}

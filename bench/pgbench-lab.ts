/**
 * Shared by bench/sync.ts, bench/soak.ts and bench/loss.ts: pgbench from the gateway namespace
 * through VIP-M, a query on a lab host's PostgreSQL, and switching the lab between sync and
 * async replication (both hosts' configs, watch restarted, checked on the primary).
 */
import {execFile} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import type {Drill, Roles} from '../src/lib/lab/drill.js'
import {sleep} from '../src/lib/lab/host.js'
import {readManifest} from '../src/lib/lab/lab.js'
import {type LabLayout, type LabNode, LOAD_DB, LOAD_USER, PG_PORT, VIP_PRIMARY} from '../src/lib/lab/layout.js'
import {nsArgv} from '../src/lib/lab/netns.js'
import {latencySummary, type LatencySummary} from '../src/lib/lab/pgbench-log.js'
import {readSecretFile} from '../src/lib/lab/secrets.js'
import {applyOverrides, steady} from './bench-lab.js'

export function run(argv: string[], env: Record<string, string>, timeoutMs: number, cwd?: string): Promise<{code: number; out: string}> {
  return new Promise((done) => {
    execFile(
      argv[0],
      argv.slice(1),
      {timeout: timeoutMs, killSignal: 'SIGKILL', env: {...process.env, ...env}, cwd, maxBuffer: 64 * 1024 * 1024},
      (err, stdout, stderr) => {
        done({
          code: err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0,
          out: String(stdout) + String(stderr),
        })
      },
    )
  })
}

const pgbenchPath = (lab: LabLayout) => join(readManifest(lab)?.bindir ?? '/usr/lib/postgresql/15/bin', 'pgbench')
const env = (lab: LabLayout) => ({PGPASSWORD: readSecretFile(lab.loadPassfile) ?? '', PGCONNECT_TIMEOUT: '5'})
const conn = ['-h', VIP_PRIMARY, '-p', String(PG_PORT), '-U', LOAD_USER]

/** pgbench -i through VIP-M (scale 10: 1 M rows in pgbench_accounts). */
export async function pgbenchInit(lab: LabLayout, scale = 10): Promise<void> {
  const r = await run(nsArgv(lab.gatewayNetns, [pgbenchPath(lab), '-i', '-s', String(scale), '-q', ...conn, LOAD_DB]), env(lab), 300_000)
  if (r.code !== 0) throw new Error(`pgbench -i failed: ${r.out.trim().split('\n').at(-1)}`)
}

export interface PgbenchRun {
  code: number
  out: string
  tps?: number
  /** From the per-transaction logs, when `log` was asked for. */
  latency?: LatencySummary
}

/** pgbench -c clients -j threads -T seconds through VIP-M, with per-transaction logs when `log`. */
export async function pgbench(
  lab: LabLayout,
  o: {clients: number; threads: number; seconds: number; log?: boolean; progress?: number},
): Promise<PgbenchRun> {
  const dir = o.log ? mkdtempSync(join(tmpdir(), 'pgha-pgbench-')) : undefined
  try {
    const argv = [pgbenchPath(lab), '-c', String(o.clients), '-j', String(o.threads), '-T', String(o.seconds)]
    if (o.progress) argv.push('-P', String(o.progress))
    if (dir) argv.push('-l', '--log-prefix', join(dir, 'tx'))
    const r = await run(nsArgv(lab.gatewayNetns, [...argv, ...conn, LOAD_DB]), env(lab), o.seconds * 1000 + 120_000, dir)
    const tps = Number(/tps = ([\d.]+)/.exec(r.out)?.[1])
    const latency = dir ? latencySummary(readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'))) : undefined
    return {...r, tps: Number.isFinite(tps) ? tps : undefined, latency}
  } finally {
    if (dir) rmSync(dir, {recursive: true, force: true})
  }
}

/** One query as the load user over a host's socket (null: no answer). */
export async function hostQuery<T extends pg.QueryResultRow>(lab: LabLayout, node: LabNode, sql: string): Promise<T[] | null> {
  const c = new pg.Client({
    host: lab.hosts[node].socketDir,
    port: PG_PORT,
    user: LOAD_USER,
    database: LOAD_DB,
    password: readSecretFile(lab.loadPassfile),
    connectionTimeoutMillis: 2000,
    query_timeout: 5000,
  })
  c.on('error', () => {})
  try {
    await c.connect()
    return (await c.query<T>(sql)).rows
  } catch {
    return null
  } finally {
    c.end().catch(() => {})
  }
}

/** synchronous_standby_names on the primary ('' = async or degraded). */
export async function syncNames(lab: LabLayout, primary: LabNode): Promise<string | null> {
  const rows = await hostQuery<{synchronous_standby_names: string}>(lab, primary, 'SHOW synchronous_standby_names')
  return rows ? rows[0].synchronous_standby_names : null
}

/**
 * Both hosts to replication.mode `mode`, watch restarted, back to the steady pair, and the
 * primary really in that mode: synchronous_standby_names set (sync) or empty (async).
 */
export async function useMode(lab: LabLayout, d: Drill, mode: 'sync' | 'async'): Promise<Roles> {
  await applyOverrides(lab, {'replication.mode': mode})
  const roles = await steady(lab, d)
  // The watch arms sync (primary.arm-sync) or clears what sync mode left (primary.async-disarm).
  for (let i = 0; i < 300; i++) {
    const names = await syncNames(lab, roles.primary)
    if (names !== null && (mode === 'sync') === (names !== '')) return roles
    await sleep(100)
  }
  throw new Error(`the primary ${roles.primary} did not switch to ${mode} replication within 30 s`)
}

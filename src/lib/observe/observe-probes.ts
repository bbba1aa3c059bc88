/**
 * The probes and pure mappings observe() is built from: each bounded, none throws.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Config} from '../config/schema.js'
import type {HeartbeatResult} from '../sql/heartbeat.js'
import type {SystemContext} from '../system/exec.js'
import {pgCtlStatus} from '../system/pgctl.js'
import type {DataDirKind, DbProbe, Heartbeat, Probe} from '../core/types.js'

/** Time a process probe (arping) gets past its own deadline before we stop waiting for it. */
export const PROCESS_GRACE_MS = 300
/** node-postgres may take connect + query time; the probe as a whole still ends here. */
export const PG_GRACE_MS = 150

/** Resolve to `fallback` when `p` has not settled within `ms` (or rejects). */
export function bounded<T>(p: Promise<T>, ms: number, fallback: (why: string) => T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(fallback(`no answer within ${ms} ms`)), Math.max(1, ms))
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        resolve(fallback(String((e as Error)?.message ?? e).split('\n')[0]))
      },
    )
  })
}

// ── pure mappings (unit-tested) ───────────────────────────────────────────────────────

/**
 * SQLSTATEs with which a live PostgreSQL refuses the heartbeat while it is not ready: it
 * answered, so it is alive ('starting' / 'rejected', see Heartbeat). Anything else is 'failed'.
 */
const NOT_READY_SQLSTATES: Readonly<Record<string, 'starting' | 'rejected'>> = {
  '57P03': 'starting', // cannot_connect_now: starting up, in recovery, not yet accepting connections
  '28000': 'rejected', // invalid_authorization_specification: role does not exist, no pg_hba entry
  '28P01': 'rejected', // invalid_password
  '3D000': 'rejected', // invalid_catalog_name: database does not exist (yet)
  '3F000': 'rejected', // invalid_schema_name: schema pgha not replayed yet
  '42883': 'rejected', // undefined_function: pgha.heartbeat() not replayed yet
  '42P01': 'rejected', // undefined_table
}

/** A failed heartbeat that ran into its timeout is 'timeout' (a hung database with an open port is down). */
export function heartbeatState(r: HeartbeatResult, timeoutMs: number): Heartbeat {
  if (r.ok) return 'ok'
  const notReady = r.sqlState ? NOT_READY_SQLSTATES[r.sqlState] : undefined
  if (notReady) return notReady
  if (/timeout|timed out|time out|canceling statement/i.test(r.error ?? '') || r.latencyMs >= timeoutMs) return 'timeout'
  return 'failed'
}

export function toDbProbe(r: HeartbeatResult, port: Probe, timeoutMs: number): DbProbe {
  const heartbeat = heartbeatState(r, timeoutMs)
  const probe: DbProbe = {
    // PostgreSQL answered (ok, or a not-ready refusal): the port is open whatever the TCP probe said.
    port: heartbeat === 'ok' || heartbeat === 'starting' || heartbeat === 'rejected' ? 'yes' : port,
    heartbeat,
    inRecovery: heartbeat !== 'ok' ? 'unknown' : r.role === 'standby' ? 'yes' : 'no',
  }
  if ((heartbeat === 'starting' || heartbeat === 'rejected') && r.error) probe.answer = r.error
  if (heartbeat === 'ok' && r.role === 'standby') {
    if (r.ageMs !== undefined) probe.heartbeatAgeMs = r.ageMs
    if (r.lagBytes !== undefined && r.lagBytes !== null) probe.lagBytes = r.lagBytes
    if (r.syncWith !== undefined) probe.syncWith = r.syncWith
  }
  return probe
}

/** The data directory's files → what it would start as (standby.signal, recovery.signal, recovery.conf → standby). */
export function dataDirKindFromFiles(files: string[] | undefined): DataDirKind {
  if (files === undefined) return 'unknown'
  if (!files.includes('PG_VERSION')) return 'missing'
  return ['standby.signal', 'recovery.signal', 'recovery.conf'].some((f) => files.includes(f)) ? 'standby' : 'primary'
}

/** Is `ip` on `iface` (or one of its labels, eth0:pgm)? From os.networkInterfaces(), no process. */
export function heldOn(ifaces: NodeJS.Dict<Array<{address: string; family: string | number}>>, iface: string, ip: string): boolean {
  for (const [name, list] of Object.entries(ifaces)) {
    if (name !== iface && !name.startsWith(`${iface}:`)) continue
    if ((list ?? []).some((a) => a.address === ip)) return true
  }
  return false
}

/** arping -D verdict → answeredElsewhere. */
export function arpAnswer(state: 'free' | 'taken' | 'unknown'): Probe {
  return state === 'taken' ? 'yes' : state === 'free' ? 'no' : 'unknown'
}

export {portProbe} from '../system/port-probe.js'

// ── I/O probes ────────────────────────────────────────────────────────────────────────

/** Is the postmaster alive? postmaster.pid + /proc (no process); pg_ctl status only when we may not read the file. */
export async function postmasterRunning(ctx: SystemContext, cfg: Config): Promise<Probe> {
  let text: string
  try {
    text = readFileSync(join(cfg.postgres.datadir, 'postmaster.pid'), 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'no'
    const s = await bounded(pgCtlStatus(ctx, cfg), cfg.timing.probeTimeout + PROCESS_GRACE_MS, () => undefined)
    return s === undefined ? 'unknown' : s.running ? 'yes' : 'no'
  }
  const pid = Number(text.split('\n')[0])
  if (!Number.isInteger(pid) || pid <= 0) return 'unknown'
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    // A stale file whose pid now belongs to something else is not a running server.
    return comm === 'postgres' || comm === 'postmaster' ? 'yes' : 'no'
  } catch {
    return existsSync(`/proc/${pid}`) ? 'unknown' : 'no'
  }
}

export function readDataDirKind(cfg: Config): DataDirKind {
  try {
    return dataDirKindFromFiles(readdirSync(cfg.postgres.datadir))
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unknown'
  }
}

/**
 * observe(): one read-only Observations snapshot per tick (the I/O half of `pgha watch`;
 * decide() is the pure half). Every probe runs in parallel and is bounded by
 * timing.probeTimeout; a probe that times out or fails is an observation ('unknown',
 * 'timeout'), never an exception. Cheap on purpose: VIPs held come from getifaddrs and the
 * archive from /proc/self/mountinfo (no process), PostgreSQL through node-postgres; only
 * arping is a process.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'
import {Socket} from 'node:net'
import type {Config} from '../config/schema.js'
import {archiveState, clusterFlags, type ClusterFlags} from './observe-flags.js'
import type {SystemContext} from '../system/exec.js'
import {arpDuplicateCheck, arpReachable} from '../system/net.js'
import {hostOf, localEndpoint, type PgEndpoint} from '../system/pg.js'
import {pgCtlStatus} from '../system/pgctl.js'
import {heartbeatAt, heartbeatEndpoint, type HeartbeatResult, type HeartbeatTarget} from '../steps/heartbeat.js'
import type {DataDirKind, DbProbe, Heartbeat, LocalDb, Observations, Probe, TickOutcome, VipState} from './types.js'

export type {ClusterFlags} from './observe-flags.js'

/** Time a process probe (arping) gets past its own deadline before we stop waiting for it. */
const PROCESS_GRACE_MS = 300
/** node-postgres may take connect + query time; the probe as a whole still ends here. */
const PG_GRACE_MS = 150

/** What observe() carries from one tick to the next. */
export interface ObserveMemory {
  /** What the loop did with the previous decision (handed to decide via Observations.previous). */
  previous?: TickOutcome
  /** The last cluster flags read, the fallback when no database can be asked. */
  flags?: ClusterFlags
}

export interface ObserveResult {
  obs: Observations
  /** Where paused/switchover came from, and other things worth a log field. */
  flags: ClusterFlags
  notes: string[]
  /** Wall time of the whole observation and of each probe (ms). */
  ms: number
  probeMs: Record<string, number>
}

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

/** A failed heartbeat that ran into its timeout is 'timeout' (a hung database with an open port is down). */
export function heartbeatState(r: HeartbeatResult, timeoutMs: number): Heartbeat {
  if (r.ok) return 'ok'
  if (/timeout|timed out|time out|canceling statement/i.test(r.error ?? '') || r.latencyMs >= timeoutMs) return 'timeout'
  return 'failed'
}

export function toDbProbe(r: HeartbeatResult, port: Probe, timeoutMs: number): DbProbe {
  const heartbeat = heartbeatState(r, timeoutMs)
  const probe: DbProbe = {
    port: heartbeat === 'ok' ? 'yes' : port,
    heartbeat,
    inRecovery: heartbeat !== 'ok' ? 'unknown' : r.role === 'standby' ? 'yes' : 'no',
  }
  if (heartbeat === 'ok' && r.role === 'standby') {
    if (r.ageMs !== undefined) probe.heartbeatAgeMs = r.ageMs
    if (r.lagBytes !== undefined && r.lagBytes !== null) probe.lagBytes = r.lagBytes
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

/** A TCP connect answer → port probe ('unknown' when nobody answered within the bound). */
export function portAnswer(detail: {open: boolean; refused: boolean}): Probe {
  return detail.open ? 'yes' : detail.refused ? 'no' : 'unknown'
}

// ── I/O probes ────────────────────────────────────────────────────────────────────────

/** TCP (or Unix socket) connect; always resolves. 'no' when refused / no route, 'unknown' on silence. */
export function portProbe(endpoint: PgEndpoint, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let done = false
    const finish = (p: Probe) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(p)
    }
    const timer = setTimeout(() => finish('unknown'), Math.max(1, timeoutMs))
    socket.once('connect', () => finish('yes'))
    socket.once('error', (e: NodeJS.ErrnoException) => finish(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(e.code ?? '') ? 'no' : 'unknown'))
    try {
      if (endpoint.kind === 'socket') socket.connect({path: join(endpoint.dir, `.s.PGSQL.${endpoint.port}`)})
      else socket.connect({host: endpoint.host, port: endpoint.port})
    } catch {
      finish('unknown')
    }
  })
}

async function dbProbe(ctx: SystemContext, cfg: Config, target: HeartbeatTarget, probeMs: Record<string, number>): Promise<DbProbe> {
  const t = cfg.timing.probeTimeout
  const {endpoint, peerAddr} = heartbeatEndpoint(cfg, target)
  const started = performance.now()
  const failed = (why: string): HeartbeatResult => ({ok: false, target, address: '', latencyMs: t, error: `timeout: ${why}`})
  const [hb, port] = await Promise.all([
    bounded(heartbeatAt(ctx, cfg, endpoint, {timeoutMs: t, peerAddr, target}), t + PG_GRACE_MS, failed),
    bounded(portProbe(endpoint, t), t + PG_GRACE_MS, () => 'unknown' as Probe),
  ])
  probeMs[target] = Math.round(performance.now() - started)
  return toDbProbe(hb, port, t)
}

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

async function localProbe(ctx: SystemContext, cfg: Config, probeMs: Record<string, number>): Promise<LocalDb> {
  const [db, running] = await Promise.all([dbProbe(ctx, cfg, 'local', probeMs), postmasterRunning(ctx, cfg)])
  return {...db, running: db.heartbeat === 'ok' ? 'yes' : running, dataDir: readDataDirKind(cfg)}
}

async function vipProbe(ctx: SystemContext, cfg: Config, which: 'primary' | 'standby', probeMs: Record<string, number>): Promise<VipState> {
  const ip = hostOf(which === 'primary' ? cfg.network.vipPrimary : cfg.network.vipStandby)
  const t = cfg.timing.probeTimeout
  const started = performance.now()
  const arp = await bounded(arpDuplicateCheck(ctx, cfg.network.interface, ip, t), Math.max(1000, t) + PROCESS_GRACE_MS, (why) => ({state: 'unknown' as const, detail: why}))
  probeMs[`arp-${which}`] = Math.round(performance.now() - started)
  // Read after the ARP probe so a VIP claimed meanwhile by this host is seen as ours.
  return {heldLocally: heldOn(networkInterfaces(), cfg.network.interface, ip) ? 'yes' : 'no', answeredElsewhere: arpAnswer(arp.state)}
}

async function gatewayProbe(ctx: SystemContext, cfg: Config, probeMs: Record<string, number>): Promise<Probe> {
  const t = cfg.timing.probeTimeout
  const started = performance.now()
  const r = await bounded(arpReachable(ctx, cfg.network.interface, cfg.network.gateway, t), Math.max(1000, t) + PROCESS_GRACE_MS, (why) => ({reachable: false, detail: `cannot probe: ${why}`}))
  probeMs.gateway = Math.round(performance.now() - started)
  if (r.reachable) return 'yes'
  return /cannot probe/.test(r.detail) ? 'unknown' : 'no'
}

/** One snapshot. Never throws for a failed probe. */
export async function observe(ctx: SystemContext, cfg: Config, memory: ObserveMemory = {}): Promise<ObserveResult> {
  const started = performance.now()
  const probeMs: Record<string, number> = {}
  const notes: string[] = []
  const peerEndpoint: PgEndpoint = {kind: 'tcp', host: cfg.peer.address, port: cfg.postgres.port}
  const [gateway, local, vipPrimary, vipStandby, viaVipPrimary, viaVipStandby, peer, flags] = await Promise.all([
    gatewayProbe(ctx, cfg, probeMs),
    localProbe(ctx, cfg, probeMs),
    vipProbe(ctx, cfg, 'primary', probeMs),
    vipProbe(ctx, cfg, 'standby', probeMs),
    dbProbe(ctx, cfg, 'vip-primary', probeMs),
    dbProbe(ctx, cfg, 'vip-standby', probeMs),
    dbProbe(ctx, cfg, 'peer', probeMs),
    clusterFlags(cfg, [localEndpoint(cfg), peerEndpoint], memory.flags, Date.now()),
  ])
  if (flags.source !== 'local') notes.push(flags.note)
  const obs: Observations = {
    gateway,
    paused: flags.paused,
    switchover: flags.switchover,
    local,
    vipPrimary,
    vipStandby,
    viaVipPrimary,
    viaVipStandby,
    peer,
    archive: archiveState(cfg),
    ...(memory.previous ? {previous: memory.previous} : {}),
  }
  return {obs, flags, notes, ms: Math.round(performance.now() - started), probeMs}
}

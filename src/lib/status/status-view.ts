/**
 * `pgha status`: both nodes at a glance. Gathering is bounded and parallel (this node's
 * server, the peer's server by its address, both VIPs by ARP, state.json); rendering is pure.
 */
import {networkInterfaces} from 'node:os'
import type {Config} from '../config/schema.js'
import {formatBytes, formatDuration} from '../config/units.js'
import type {SystemContext} from '../system/exec.js'
import {arpDuplicateCheck} from '../system/net.js'
import {interfaceState, missingInterfaceError} from '../system/net-device.js'
import {hostOf, localEndpoint} from '../system/pg.js'
import {nodeFacts, type NodeFacts, peerReplication} from './read-node.js'
import {bounded, heldOn} from '../observe/observe.js'
import {watchLiveness} from './watch-liveness.js'
import {clusterSyncView, type SyncView} from './sync-view.js'
import {readStateFile, type StateFileRead, type Transition, type WatchState, watchProcessRuns} from '../loop/watch-state.js'

export type VipHolder = 'this node' | 'another host' | 'nobody' | 'unknown'

export interface NodeStatus {
  name: string
  address: string
  /** The role as seen from outside: database state + VIPs held. */
  role: string
  db: string
  vips: string[]
  heartbeatAge?: string
  lag?: string
  facts: NodeFacts
}

export interface ClusterStatus {
  cluster: string
  from: string
  at: string
  nodes: NodeStatus[]
  vips: {primary: VipHolder; standby: VipHolder}
  replication: string
  /** Replication mode state: sync, degraded, waiting, async or unknown. */
  sync: SyncView
  watch: {alive: boolean; state: string; updatedAgeMs?: number; role?: string; since?: string; lastReason?: string; pid?: number}
  lastTransition?: Transition
  flags: string
  /** Configuration problems that make parts of this view unknown (e.g. a missing network.interface). */
  problems?: string[]
}

/** Pure: the role a host shows from outside. */
export function observedRole(f: NodeFacts, vips: string[]): string {
  if (!f.reachable) return vips.length > 0 ? `unreachable (holds ${vips.join(', ')})` : 'unreachable'
  const m = vips.includes('VIP-M')
  const s = vips.includes('VIP-S')
  if (f.inRecovery) return s && !m ? 'standby' : `standby database${m ? ' holding VIP-M (!)' : ''}${!s ? ' without VIP-S' : ''}`
  if (m && s) return 'primary_standby'
  if (m) return 'primary'
  return 'writable without VIP-M'
}

function dbLine(f: NodeFacts): string {
  if (!f.reachable) return `no answer (${f.error})`
  if (!f.inRecovery) return `primary, ${f.replication?.length ?? 0} standby connection${f.replication?.length === 1 ? '' : 's'}`
  return `standby, WAL receiver ${f.receiver?.status ?? 'not running'}${f.receiver?.senderHost ? ` from ${f.receiver.senderHost}` : ''}`
}

const secs = (s: number | null | undefined) => (s === null || s === undefined ? '?' : `${s.toFixed(2)} s`)

export async function gatherStatus(ctx: SystemContext, cfg: Config): Promise<ClusterStatus> {
  const t = Math.max(2000, cfg.timing.probeTimeout * 2)
  const iface = cfg.network.interface
  const arp = (cidr: string) =>
    bounded(arpDuplicateCheck(ctx, iface, hostOf(cidr), Math.max(1000, cfg.timing.probeTimeout)), t + 1500, () => ({
      state: 'unknown' as const,
      detail: 'timeout',
    }))
  const [me, peer, arpM, arpS, device] = await Promise.all([
    nodeFacts(cfg, localEndpoint(cfg), t),
    nodeFacts(cfg, {kind: 'tcp', host: cfg.peer.address, port: cfg.postgres.port}, t),
    arp(cfg.network.vipPrimary),
    arp(cfg.network.vipStandby),
    bounded(interfaceState(ctx, iface, cfg.timing.probeTimeout), t + 1500, () => 'unknown' as const),
  ])
  const problems = device === 'no' ? [missingInterfaceError(iface).oneLine()] : []
  const ifaces = networkInterfaces()
  const holder = (cidr: string, a: {state: string}): VipHolder =>
    heldOn(ifaces, iface, hostOf(cidr)) ? 'this node' : a.state === 'taken' ? 'another host' : a.state === 'free' ? 'nobody' : 'unknown'
  const vips = {primary: holder(cfg.network.vipPrimary, arpM), standby: holder(cfg.network.vipStandby, arpS)}
  const held = (who: VipHolder) => [...(vips.primary === who ? ['VIP-M'] : []), ...(vips.standby === who ? ['VIP-S'] : [])]
  const read = readStateFile(cfg.stateDir)
  const state = read.kind === 'ok' ? read.state : undefined
  return {
    cluster: cfg.cluster,
    from: cfg.node.name,
    at: new Date().toISOString(),
    nodes: [
      nodeStatus(cfg.node.name, cfg.node.address, me, held('this node')),
      nodeStatus(cfg.peer.name, cfg.peer.address, peer, held('another host')),
    ],
    vips,
    replication: replicationLine(cfg, me, peer),
    sync: clusterSyncView(cfg, me, peer),
    watch: watchLine(cfg, read),
    ...(state?.lastTransition ? {lastTransition: state.lastTransition} : {}),
    flags: flagsLine(me, peer, state),
    ...(problems.length > 0 ? {problems} : {}),
  }
}

function nodeStatus(name: string, address: string, f: NodeFacts, vips: string[]): NodeStatus {
  const hb = f.heartbeat
  return {
    name,
    address,
    role: observedRole(f, vips),
    db: dbLine(f),
    vips,
    facts: f,
    ...(hb?.ageMs !== null && hb?.ageMs !== undefined ? {heartbeatAge: formatDuration(Math.round(hb.ageMs))} : {}),
    ...(f.inRecovery && hb
      ? {lag: `${hb.lagBytes === null ? '?' : formatBytes(hb.lagBytes)} (as the primary last wrote), replay delay ${secs(f.replayDelayS)}`}
      : {}),
  }
}

function replicationLine(cfg: Config, me: NodeFacts, peer: NodeFacts): string {
  const [p, pName, sName, sAddr] =
    me.reachable && me.inRecovery === false
      ? [me, cfg.node.name, cfg.peer.name, cfg.peer.address]
      : [peer, cfg.peer.name, cfg.node.name, cfg.node.address]
  if (!p.reachable || p.inRecovery !== false) return 'no writable primary answers'
  const r = peerReplication(p, sAddr)
  if (!r) return `${pName} (primary) has no standby streaming from it${(p.replication?.length ?? 0) > 0 ? ` from ${sAddr}` : ''}`
  return `${pName} → ${sName} ${r.state} (${r.syncState}), lag ${r.lagBytes === null ? '?' : formatBytes(r.lagBytes)}, replay lag ${secs(r.lagSeconds ?? 0)}`
}

/** Pure: is the loop alive (state.json fresh and its process runs)? */
export function watchLine(cfg: Config, read: StateFileRead, now = Date.now(), pidRuns = watchProcessRuns): ClusterStatus['watch'] {
  const live = watchLiveness(read, cfg.node.name, Math.max(10_000, 5 * cfg.timing.interval), now, pidRuns)
  const s = live.state
  if (!s) return {alive: false, state: live.line}
  return {
    alive: live.alive,
    state: live.line,
    updatedAgeMs: live.ageMs,
    role: s.role,
    since: s.since,
    lastReason: s.lastTick.reason,
    pid: s.pid,
  }
}

function flagsLine(me: NodeFacts, peer: NodeFacts, state: WatchState | undefined): string {
  const f = me.flags ?? peer.flags
  if (f) return `${f.paused ? 'PAUSED (maintenance: watch loops observe only)' : 'not paused'}; ${f.switchover}`
  if (state)
    return `${state.flags.paused ? 'PAUSED' : 'not paused'}; ${state.flags.switchover ? (state.flags.switchoverText ?? 'switchover in progress') : 'no switchover'} (as watch last read them; no database answered now)`
  return 'unknown (no database answered)'
}

/** Pure: the table for humans. */
export function renderStatus(s: ClusterStatus): string[] {
  const rows = s.nodes.map((n, i) => [
    `${n.name}${i === 0 ? '*' : ''}`,
    n.address,
    n.role,
    n.vips.join(',') || '-',
    n.heartbeatAge ?? '-',
    n.db,
  ])
  const head = ['NODE', 'ADDRESS', 'ROLE', 'VIPS', 'HEARTBEAT AGE', 'DATABASE']
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ')
  const out = [
    `cluster ${s.cluster}, seen from ${s.from} (*) at ${s.at}`,
    ...(s.problems ?? []).map((p) => `PROBLEM: ${p}`),
    line(head),
    ...rows.map(line),
  ]
  for (const n of s.nodes) if (n.lag) out.push(`${n.name} lag: ${n.lag}`)
  out.push(`VIP-M: ${s.vips.primary}; VIP-S: ${s.vips.standby}${s.problems ? ' (see PROBLEM above)' : ''}`)
  out.push(`replication: ${s.replication}`)
  out.push(`synchronous: ${s.sync.text}`)
  out.push(`watch on ${s.from}: ${s.watch.state}${s.watch.role ? `; role ${s.watch.role} since ${s.watch.since}` : ''}`)
  if (s.watch.lastReason) out.push(`  last tick: ${s.watch.lastReason}`)
  if (s.lastTransition)
    out.push(
      `last transition: ${s.lastTransition.from} → ${s.lastTransition.to} at ${s.lastTransition.at} (${s.lastTransition.rule}): ${s.lastTransition.reason}`,
    )
  out.push(`flags: ${s.flags}`)
  return out
}

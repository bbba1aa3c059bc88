/**
 * The replication mode state for `pgha status` and `pgha check lag`, from what a database said
 * (read-node.ts). Pure.
 *  - sync: synchronous_standby_names names the standby and it streams as sync: commits wait
 *    for its flush.
 *  - degraded: replication.mode sync, but synchronous_standby_names is empty: commits do not
 *    wait (the standby was fenced, or is back and not re-armed yet).
 *  - waiting: synchronous_standby_names names a standby that does not stream as sync: commits
 *    block until it does or it is fenced.
 *  - async: replication.mode async.
 *  - unknown: no primary answered.
 * On a standby the state comes from the replicated heartbeat row (as of its write).
 */
import type {Config} from '../config/schema.js'
import {namesPeer} from '../steps/sync-replication.js'
import {type NodeFacts, peerReplication, type ReplicationRow} from './read-node.js'

export type SyncState = 'sync' | 'degraded' | 'waiting' | 'async' | 'unknown'

export interface SyncView {
  state: SyncState
  /** One line for humans: what it means for commits, and why. */
  text: string
  /** The primary's synchronous_standby_names, when it was read. */
  standbyNames?: string
  /** Since when the primary's heartbeat row has said so (ISO), when the row tells. */
  since?: string
}

const since = (iso: string | null | undefined) => (iso ? ` since ${iso}` : '')

/**
 * Pure: the state as the primary sees it. `row` is the standby's pg_stat_replication row (if
 * any), `standby` its node name.
 */
export function primarySyncView(cfg: Config, f: NodeFacts, standby: string, row: ReplicationRow | undefined): SyncView {
  const names = f.syncStandbyNames
  if (!f.reachable || f.inRecovery !== false || names === undefined)
    return {state: 'unknown', text: 'unknown: no primary answered with its synchronous_standby_names'}
  const hb = f.heartbeat
  const streamingSync = row?.state === 'streaming' && (row.syncState === 'sync' || row.syncState === 'quorum')
  if (cfg.replication.mode === 'async')
    return names.trim() === ''
      ? {state: 'async', text: 'async (replication.mode async): commits do not wait for the standby', standbyNames: names}
      : {
          state: streamingSync ? 'sync' : 'waiting',
          text: `replication.mode is async, but synchronous_standby_names is '${names}' (set by hand?): ${streamingSync ? `commits wait for ${standby}` : 'commits wait for a standby that is not streaming as sync'}`,
          standbyNames: names,
        }
  if (names.trim() === '') {
    const when = hb?.syncWith === null ? hb.syncSince : undefined
    const why =
      row?.state === 'streaming'
        ? `${standby} streams but is not re-armed yet (the watch re-arms once it has caught up)`
        : `${standby} is not streaming (fenced or away); the watch re-arms when it streams and has caught up`
    return {
      state: 'degraded',
      text: `degraded${since(when)}: synchronous_standby_names is empty, commits do not wait for ${standby}; ${why}`,
      standbyNames: names,
      ...(when ? {since: when} : {}),
    }
  }
  if (namesPeer(names, standby) && streamingSync) {
    const when = hb?.syncWith === standby ? hb.syncSince : undefined
    return {
      state: 'sync',
      text: `sync${since(when)}: commits wait for ${standby}'s flush (synchronous_standby_names ${names})`,
      standbyNames: names,
      ...(when ? {since: when} : {}),
    }
  }
  const what = !namesPeer(names, standby)
    ? `synchronous_standby_names '${names}' does not name ${standby}`
    : row
      ? `${standby} is ${row.state} (${row.syncState}), not streaming as sync`
      : `${standby} has no replication connection`
  return {
    state: 'waiting',
    text: `waiting: ${what}; commits block until it streams as sync or the watch fences it and degrades`,
    standbyNames: names,
  }
}

/** Pure: the state as a standby's replicated heartbeat row tells it. */
export function standbySyncView(cfg: Config, f: NodeFacts): SyncView {
  if (cfg.replication.mode === 'async') return {state: 'async', text: 'async (replication.mode async): commits do not wait for the standby'}
  const hb = f.heartbeat
  if (!f.reachable || !hb || hb.syncWith === undefined)
    return {state: 'unknown', text: 'unknown: the heartbeat row does not say (no row, or pgha init not re-run since sync replication)'}
  const me = cfg.node.name
  if (hb.syncWith === me)
    return {
      state: 'sync',
      text: `sync${since(hb.syncSince)}: the primary's last heartbeat row says it was synchronous with ${me}`,
      ...(hb.syncSince ? {since: hb.syncSince} : {}),
    }
  return {
    state: 'degraded',
    text: `degraded${since(hb.syncSince)}: the primary's last heartbeat row says it was ${hb.syncWith ? `synchronous with ${hb.syncWith}, not ${me}` : 'not synchronous with any standby'}; a promotion here could lose commits`,
    ...(hb.syncSince ? {since: hb.syncSince} : {}),
  }
}

/** Pure: the standby's walsender row on a primary: by application_name, else by address. */
export function standbyRow(f: NodeFacts, standby: string, address: string): ReplicationRow | undefined {
  return f.replication?.find((r) => r.applicationName === standby) ?? peerReplication(f, address)
}

/** Pure: the pair's state for `pgha status`: from whichever node answers as primary, else from this standby's row. */
export function clusterSyncView(cfg: Config, me: NodeFacts, peer: NodeFacts): SyncView {
  const primary = (f: NodeFacts) => f.reachable && f.inRecovery === false
  if (primary(me)) return primarySyncView(cfg, me, cfg.peer.name, standbyRow(me, cfg.peer.name, cfg.peer.address))
  if (primary(peer)) return primarySyncView(cfg, peer, cfg.node.name, standbyRow(peer, cfg.node.name, cfg.node.address))
  if (me.reachable && me.inRecovery) return standbySyncView(cfg, me)
  return {state: 'unknown', text: 'unknown: no primary answered'}
}

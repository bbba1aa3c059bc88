/**
 * The cluster-wide flags (pgha.cluster_state: paused, switchover) and the archive mount, as
 * observe() reads them. The flags are written on the primary and replicate, so the local
 * database normally answers; when it cannot, the peer's does, then the last known value.
 */
import type {Config} from '../config/schema.js'
import type {ClusterState} from '../sql/heartbeat.js'
import {type SwitchoverMarker, switchoverStatus} from '../steps/switchover-plan.js'
import {pgErrorLine} from '../system/pg.js'
import {mountAt, normalizeMountpoint, parseMountinfo, readMountinfo} from '../system/mount.js'
import type {Observations} from '../core/types.js'

export interface ClusterFlags {
  paused: boolean
  switchover: boolean
  /** The marker's description ("switchover so-… node1 → node2 (requested)"), when one is set. */
  switchoverText?: string
  /** The marker itself, when one is set and readable (the watch runs this host's half from it). */
  marker?: SwitchoverMarker
  /** Which database answered: the local one, the peer's, or none (last known / default). */
  source: 'local' | 'peer' | 'last-known' | 'default'
  /** One sentence about where the flags came from when it was not the local database. */
  note: string
  /** When the flags were last read from a database (ms epoch). */
  readAt?: number
}

/** A database that can be asked for pgha.cluster_state (the local one first, then the peer's). */
export interface FlagSource {
  source: 'local' | 'peer'
  where: string
  read: (timeoutMs: number) => Promise<ClusterState>
}

/**
 * Ask each source in order; the first answer wins. Nobody answers → the last known flags
 * (`last`), else not paused — and the note says so. Never throws.
 */
export async function clusterFlags(
  cfg: Config,
  sources: FlagSource[],
  last: ClusterFlags | undefined,
  now: number,
  localSkipped?: string,
): Promise<ClusterFlags> {
  const t = cfg.timing.probeTimeout
  const errors: string[] = localSkipped ? [localSkipped] : []
  for (const src of sources) {
    try {
      const st = await withDeadline(src.read(t), t + 150)
      const so = switchoverStatus(st.switchover, new Date(now))
      return {
        paused: st.paused,
        switchover: so.active,
        ...(so.active ? {switchoverText: so.text} : {}),
        ...(so.marker ? {marker: so.marker} : {}),
        source: src.source,
        note:
          src.source === 'local'
            ? 'flags read from the local database'
            : `flags read from the peer's database at ${src.where} (the local database did not answer: ${errors[0]})`,
        readAt: now,
      }
    } catch (error) {
      errors.push(pgErrorLine(error))
    }
  }
  if (last?.readAt !== undefined) {
    return {
      ...last,
      source: 'last-known',
      note: `no database answered for pgha.cluster_state (${errors.join('; ') || 'none reachable'}): using the flags last read ${Math.round((now - last.readAt) / 1000)} s ago`,
    }
  }
  return {
    paused: false,
    switchover: false,
    source: 'default',
    note: `no database answered for pgha.cluster_state (${errors.join('; ') || 'none reachable'}) and none was read before: assuming not paused, no switchover`,
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: no answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** archive.mountpoint from /proc/self/mountinfo (never stats the mount: a dead NFS peer cannot hang us). */
export function archiveState(cfg: Config, mountinfo?: string): Observations['archive'] {
  if (cfg.archive.mode === 'none') return 'not_configured'
  try {
    const entries = mountinfo === undefined ? readMountinfo() : parseMountinfo(mountinfo)
    return mountAt(entries, normalizeMountpoint(cfg.archive.mountpoint)) ? 'mounted' : 'not_mounted'
  } catch {
    return 'unknown'
  }
}

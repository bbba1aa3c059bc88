import {readFileSync} from 'node:fs'
import YAML from 'yaml'
import {LAB_NODES, type LabLayout} from './layout.js'
import type {LoadOptions} from './load.js'

/** The heavy-load lab runs: many connections writing as fast as commits return. */

export interface HeavyLoad {
  connections: number
}

export const HEAVY_CONNECTIONS = 8

/**
 * As fast as each commit returns; a 3 s client timeout (long enough for a standby fence and
 * degrade, short enough that a dead primary costs one attempt per connection); no
 * statement_timeout, which would turn a commit waiting for the standby into a reported success.
 */
export function heavyLoadOptions(h: HeavyLoad): LoadOptions {
  return {intervalMs: 0, connections: h.connections, queryTimeoutMs: 3000, statementTimeoutMs: 0}
}

/** replication.mode of the lab hosts' configs (the shipped default, sync, when unset); async if either says so. */
export function replicationMode(lab: LabLayout): 'sync' | 'async' {
  for (const n of LAB_NODES) {
    try {
      const doc = YAML.parse(readFileSync(lab.hosts[n].configFile, 'utf8')) as {replication?: {mode?: string}} | null
      if (doc?.replication?.mode === 'async') return 'async'
    } catch {
      // no config yet: the lab writes it with the default
    }
  }
  return 'sync'
}

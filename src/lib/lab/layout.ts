import {join} from 'node:path'
import {UsageError} from '../errors.js'

/**
 * Where everything of one lab lives: names, addresses, ports and paths. Pure, so the
 * commands, the chassis program, the drill and the tests all agree on one layout.
 *
 *   gateway namespace  <name>-gw   bridge + 192.0.2.1, BMCs 192.0.2.201/.202 udp 623,
 *                                  the load client
 *   host node1         <name>-node1  eth0 192.0.2.11  (+ VIP-M 192.0.2.100 / VIP-S .101)
 *   host node2         <name>-node2  eth0 192.0.2.12
 *   <dir>/lab.json                  what `lab up` built (pids are in per-host files)
 *   <dir>/<node>/                   one host: config, data, sockets, logs, archive, BMC
 */

export const LAB_NODES = ['node1', 'node2'] as const
export type LabNode = (typeof LAB_NODES)[number]

export const LAB_GATEWAY = '192.0.2.1'
export const VIP_PRIMARY = '192.0.2.100'
export const VIP_STANDBY = '192.0.2.101'
export const LAB_PREFIX_LEN = 24
export const PG_PORT = 5432
export const BMC_PORT = 623
export const BMC_USER = 'admin'
export const LOAD_DB = 'labload'
export const LOAD_USER = 'labload'
export const DEFAULT_LAB_NAME = 'pghalab'
const DEFAULT_LAB_ROOT = '/var/lib/pgha-lab'
/** Lab-only shortening of timing.startupDelay (shipped default 45 s), so cold-start drills stay short. */
export const LAB_STARTUP_DELAY = '10s'

const NODE_INDEX: Record<LabNode, number> = {node1: 1, node2: 2}

export interface HostLayout {
  node: LabNode
  peer: LabNode
  /** Network namespace of the host. */
  netns: string
  address: string
  /** The host's BMC (fences THIS host): address + port on the gateway namespace. */
  bmcAddress: string
  bmcPort: number
  dir: string
  configFile: string
  /** postgresql.conf of this host, outside the data directory (Debian keeps it in /etc/postgresql): pg_rewind and pg_basebackup copy data directories between hosts, never this file. */
  pgConf: string
  /** Owned by postgres: the data directory and its rebuilds live here. */
  pgHome: string
  datadir: string
  socketDir: string
  /** WAL this host archives (archive_command writes here). */
  archiveDir: string
  /** Where the peer's archive is bind-mounted inside this host (archive.mode bind). */
  peerArchiveMount: string
  stateDir: string
  logDir: string
  pgLog: string
  watchLog: string
  initLog: string
  initScript: string
  /** "PID STARTTIME" of the `unshare` process that is this host's power (written by the chassis program). */
  powerFile: string
  /** Present while the host should run `pgha watch` at boot (like an enabled systemd unit). */
  watchEnabledFile: string
  /** Present while the host should start PostgreSQL itself at boot (bootstrap, no watch). */
  postgresEnabledFile: string
  passfile: string
  fencePasswordFile: string
  /** The BMC's files: lan.conf, emu.cmds, ipmi_sim state, pid and log. */
  bmcDir: string
  /** The chassis program's dir for this host (start, stop, host.pid, chassis.log). */
  powerDir: string
  startScript: string
  stopScript: string
  /** This BMC's admin password (the PEER's fence.password holds the same secret). */
  bmcPasswordFile: string
}

export interface LabLayout {
  name: string
  dir: string
  gatewayNetns: string
  /** Prefix handed to netns.ts: every namespace, bridge and veth name starts with it. */
  prefix: string
  manifest: string
  gwDir: string
  loadLog: string
  loadPidFile: string
  loadPassfile: string
  hosts: Record<LabNode, HostLayout>
}

/** Names end up in interface names (15 chars max): keep them short and plain. */
export function checkLabName(name: string): string {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(name)) {
    throw new UsageError(
      `lab name ${JSON.stringify(name)} is not usable`,
      'use 1-10 lower-case letters or digits, starting with a letter (default pghalab)',
    )
  }
  return name
}

export function labLayout(name: string = DEFAULT_LAB_NAME, dir?: string): LabLayout {
  checkLabName(name)
  const root = dir ?? join(DEFAULT_LAB_ROOT, name)
  if (!root.startsWith('/')) throw new UsageError(`lab dir ${JSON.stringify(root)} is not an absolute path`, 'pass --dir /absolute/path')
  const gwDir = join(root, 'gateway')
  const host = (node: LabNode): HostLayout => {
    const i = NODE_INDEX[node]
    const d = join(root, node)
    const logDir = join(d, 'log')
    return {
      node,
      peer: node === 'node1' ? 'node2' : 'node1',
      netns: `${name}-${node}`,
      address: `192.0.2.${10 + i}`,
      bmcAddress: `192.0.2.${200 + i}`,
      bmcPort: BMC_PORT,
      dir: d,
      configFile: join(d, 'pgha.yaml'),
      pgConf: join(d, 'postgresql.conf'),
      // Like /var/lib/postgresql/15/main: the parent belongs to postgres too, so a rebuild
      // (pg_basebackup into a sibling directory) can create its new data directory there.
      pgHome: join(d, 'pgsql'),
      datadir: join(d, 'pgsql', 'data'),
      socketDir: join(d, 'run'),
      archiveDir: join(d, 'archive'),
      peerArchiveMount: join(d, 'peer_archive'),
      stateDir: join(d, 'state'),
      logDir,
      pgLog: join(logDir, 'postgresql.log'),
      watchLog: join(logDir, 'watch.log'),
      initLog: join(logDir, 'host.log'),
      initScript: join(d, 'host-init.sh'),
      powerFile: join(d, 'power', 'host.pid'),
      watchEnabledFile: join(d, 'watch.enabled'),
      postgresEnabledFile: join(d, 'postgres.enabled'),
      passfile: join(d, 'pgpass'),
      fencePasswordFile: join(d, 'fence.password'),
      bmcDir: join(d, 'bmc'),
      powerDir: join(d, 'power'),
      startScript: join(d, 'power', 'start'),
      stopScript: join(d, 'power', 'stop'),
      bmcPasswordFile: join(d, 'bmc', 'password'),
    }
  }
  return {
    name,
    dir: root,
    gatewayNetns: `${name}-gw`,
    prefix: name,
    manifest: join(root, 'lab.json'),
    gwDir,
    loadLog: join(gwDir, 'load.jsonl'),
    loadPidFile: join(gwDir, 'load.pid'),
    loadPassfile: join(gwDir, 'load.pgpass'),
    hosts: {node1: host('node1'), node2: host('node2')},
  }
}

export function parseNode(s: string): LabNode {
  if ((LAB_NODES as readonly string[]).includes(s)) return s as LabNode
  throw new UsageError(`unknown lab host ${JSON.stringify(s)}`, `use ${LAB_NODES.join(' or ')}`)
}

import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {StepFailedError} from '../errors.js'
import {describeFailure, realExec, type RunResult} from '../system/exec.js'
import {labBmcRuns, startLabBmc, stopLabBmc} from './bmcs.js'
import {hostConfigYaml, PG_BINDIR} from './host-config.js'
import {hostInitScript, hostStartScript, hostStopScript} from './host-scripts.js'
import {hostPids, inHostArgv, pghaArgv, powerOffDirect, powerOnDirect, powerState, sleep, waitForInit} from './host.js'
import {type LabLayout, LAB_NODES, type LabNode, LOAD_DB, LOAD_USER, PG_PORT} from './layout.js'
import {stopLoad} from './load.js'
import {createLabNetwork, destroyLabNetwork} from './netns.js'
import {createStandby, initPrimary, nodeMajor, nodePsql, nodeSettings, pgNode, type PgNode, prepareDir} from './pgcluster.js'
import {preflight} from './preflight.js'
import {rewindGrantsSql} from '../system/rewind.js'
import {heartbeatPasswordFile, HEARTBEAT_USER, REPLICATION_USER, writeLabSecrets} from './secrets.js'

/**
 * `lab up` / `lab down`: build and remove the whole lab. Up is idempotent (an up lab is left
 * alone; a half-built one is removed and rebuilt); down never fails on what is already gone.
 */

export const MARKER = '.pgha-lab'

export interface LabManifest {
  version: 1
  name: string
  dir: string
  createdAt: string
  bindir: string
  /** pgha watch runs in the hosts (false: it was not available, hosts run PostgreSQL only). */
  watch: boolean
}

export type Say = (line: string) => void

export function readManifest(lab: LabLayout): LabManifest | undefined {
  try {
    return JSON.parse(readFileSync(lab.manifest, 'utf8')) as LabManifest
  } catch {
    return undefined
  }
}

/** Is `pgha watch` part of this checkout (it lands separately)? */
export function watchAvailable(): boolean {
  return existsSync(join(dirname(pghaArgv()[1]), '..', 'dist', 'src', 'commands', 'watch.js'))
}

export interface LabHealth {
  manifest: boolean
  network: boolean
  hosts: Record<LabNode, boolean>
  bmcs: Record<LabNode, boolean>
  problems: string[]
}

/** Read-only: which parts of the lab exist and run. */
export function labHealth(lab: LabLayout): LabHealth {
  const problems: string[] = []
  const manifest = readManifest(lab) !== undefined
  if (!manifest) problems.push(`no ${lab.manifest}`)
  const nsExists = (ns: string) => existsSync(`/var/run/netns/${ns}`) || existsSync(`/run/netns/${ns}`)
  const network = [lab.gatewayNetns, ...LAB_NODES.map((n) => lab.hosts[n].netns)].every(nsExists)
  if (!network) problems.push('lab namespaces missing')
  const hosts = {node1: powerState(lab.hosts.node1).on, node2: powerState(lab.hosts.node2).on}
  const bmcs = {node1: labBmcRuns(lab, 'node1'), node2: labBmcRuns(lab, 'node2')}
  for (const n of LAB_NODES) {
    if (!hosts[n]) problems.push(`${n} is powered off`)
    if (!bmcs[n]) problems.push(`BMC of ${n} is down`)
  }
  return {manifest, network, hosts, bmcs, problems}
}

/** A lab exists at all (anything to clean up). */
export function labExists(lab: LabLayout): boolean {
  return existsSync(lab.dir) || existsSync(`/run/netns/${lab.gatewayNetns}`) || existsSync(`/var/run/netns/${lab.gatewayNetns}`)
}

/** The harness view of a host's PostgreSQL; commands run inside the host (nsenter) when `inside`. */
export function labPgNode(lab: LabLayout, node: LabNode, bindir = PG_BINDIR, inside = true): PgNode {
  const h = lab.hosts[node]
  return pgNode({name: node, bindir, dataDir: h.datadir, port: PG_PORT, listen: '*', socketDir: h.socketDir, logFile: h.pgLog, wrap: inside ? inHostArgv(h, []) : []})
}

/** `pgha ARGS --config <host config>` run inside a lab host. */
export async function pghaInHost(lab: LabLayout, node: LabNode, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  const h = lab.hosts[node]
  return realExec.run(inHostArgv(h, [...pghaArgv(), ...args, '--config', h.configFile]), {timeoutMs})
}

async function mustPgha(lab: LabLayout, node: LabNode, args: string[], timeoutMs?: number): Promise<RunResult> {
  const r = await pghaInHost(lab, node, args, timeoutMs)
  if (r.exitCode !== 0) throw new StepFailedError(`lab ${node}: pgha ${args.join(' ')} failed: ${describeFailure(r)}`)
  return r
}

function writeScript(path: string, text: string): void {
  writeFileSync(path, text, {mode: 0o755})
  chmodSync(path, 0o755)
}

/**
 * The host's postgresql.conf, outside the data directory like Debian's /etc/postgresql: it
 * holds the host-specific paths (socket, archive), so a data directory copied from the peer
 * (pg_rewind, pg_basebackup) never brings the peer's paths along. Archive to the own
 * directory, restore from the peer's (mounted by pgha: archive.mode bind).
 */
function writePgConf(lab: LabLayout, node: LabNode, bindir: string): void {
  const h = lab.hosts[node]
  const pgn = labPgNode(lab, node, bindir, false)
  const extra: Record<string, string> = {
    data_directory: `'${h.datadir}'`,
    hba_file: `'${h.datadir}/pg_hba.conf'`,
    ident_file: `'${h.datadir}/pg_ident.conf'`,
    cluster_name: `'${node}'`,
    archive_mode: 'on',
    archive_command: `'test ! -f ${h.archiveDir}/%f && cp %p ${h.archiveDir}/%f'`,
    restore_command: `'cp "${h.peerArchiveMount}/%f" "%p"'`,
    wal_sender_timeout: "'5s'",
    wal_receiver_timeout: "'5s'",
  }
  writeFileSync(h.pgConf, nodeSettings(pgn, nodeMajor(pgn), extra).replace('(pgcluster.ts)', `(lab.ts) for host ${node}`), {mode: 0o644})
}

function layOutFiles(lab: LabLayout, bindir: string): void {
  mkdirSync(dirname(lab.dir), {recursive: true, mode: 0o755})
  mkdirSync(lab.dir, {recursive: true, mode: 0o755})
  chmodSync(lab.dir, 0o755)
  writeFileSync(join(lab.dir, MARKER), `${lab.name}\n`)
  mkdirSync(lab.gwDir, {recursive: true, mode: 0o700})
  for (const node of LAB_NODES) {
    const h = lab.hosts[node]
    mkdirSync(h.dir, {recursive: true, mode: 0o755})
    for (const d of [h.bmcDir, h.powerDir, h.stateDir]) mkdirSync(d, {recursive: true, mode: 0o700})
    prepareDir(h.pgHome, 'postgres', 0o700)
    prepareDir(h.logDir, 'postgres', 0o755)
    prepareDir(h.archiveDir, 'postgres', 0o700)
    prepareDir(h.peerArchiveMount, 'postgres', 0o700)
    writeFileSync(h.configFile, hostConfigYaml(lab, node, bindir), {mode: 0o644})
    writeScript(h.initScript, hostInitScript(h, {pghaArgv: pghaArgv(), bindir}))
    writeScript(h.startScript, hostStartScript(h))
    writeScript(h.stopScript, hostStopScript(h))
  }
  writeLabSecrets(lab)
}

export interface UpResult {
  changed: boolean
  summary: string
  watch: boolean
}

/** Build the lab. `say` gets one line per stage (the command prints them as progress). */
export async function labUp(lab: LabLayout, say: Say = () => {}, opts: {bindir?: string; watch?: boolean} = {}): Promise<UpResult> {
  const bindir = opts.bindir ?? PG_BINDIR
  preflight(bindir)
  const health = labHealth(lab)
  if (health.problems.length === 0) {
    const m = readManifest(lab)!
    return {changed: false, summary: `lab ${lab.name} is already up (${lab.dir}); nothing to do`, watch: m.watch}
  }
  if (labExists(lab)) {
    say(`lab ${lab.name} is half-built (${health.problems.join('; ')}): removing it first`)
    await labDown(lab, say)
  }
  const watch = opts.watch ?? watchAvailable()
  try {
    say(`files under ${lab.dir}`)
    layOutFiles(lab, bindir)
    say('network: gateway 192.0.2.1, node1 192.0.2.11, node2 192.0.2.12 (sealed in namespaces)')
    await createLabNetwork({prefix: lab.prefix, hosts: LAB_NODES.map((n) => ({name: n, address: lab.hosts[n].address}))})
    for (const node of LAB_NODES) {
      say(`BMC of ${node} on ${lab.hosts[node].bmcAddress}:${lab.hosts[node].bmcPort} (ipmi_sim)`)
      await startLabBmc(lab, node)
    }
    for (const node of LAB_NODES) {
      say(`power on ${node}`)
      await powerOnDirect(lab.hosts[node])
    }
    await buildCluster(lab, say, bindir)
    for (const node of LAB_NODES) writeFileSync(lab.hosts[node].postgresEnabledFile, '')
    if (watch) await enableWatch(lab, say)
    const manifest: LabManifest = {version: 1, name: lab.name, dir: lab.dir, createdAt: new Date().toISOString(), bindir, watch}
    writeFileSync(lab.manifest, JSON.stringify(manifest, null, 2) + '\n')
  } catch (error) {
    say(`lab up failed: ${(error as Error).message.split('\n')[0]} — removing what was built`)
    await labDown(lab, () => {})
    throw error
  }
  const how = watch ? 'pgha watch runs in both hosts' : 'pgha watch is not available yet: hosts run PostgreSQL without the HA loop'
  return {changed: true, summary: `lab ${lab.name} is up: node1 primary (VIP-M 192.0.2.100), node2 standby (VIP-S 192.0.2.101); ${how}`, watch}
}

async function buildCluster(lab: LabLayout, say: Say, bindir: string): Promise<void> {
  const primary = labPgNode(lab, 'node1', bindir)
  const replicationPassword = passwordFromPgpass(lab.hosts.node1.passfile, REPLICATION_USER)
  say('node1: initdb, start PostgreSQL (primary, pgha start-db)')
  await initPrimary(primary, {networks: ['192.0.2.0/24'], replicationUser: REPLICATION_USER, replicationPassword, heartbeatUser: HEARTBEAT_USER}, {start: false})
  writePgConf(lab, 'node1', bindir)
  // The lab's application user may write through the VIPs.
  const hba = join(lab.hosts.node1.datadir, 'pg_hba.conf')
  writeFileSync(hba, readFileSync(hba, 'utf8') + `host  ${LOAD_DB} ${LOAD_USER} 192.0.2.0/24 scram-sha-256\n`)
  await mustPgha(lab, 'node1', ['start-db'])
  await nodePsql(primary, `SET log_statement = 'none';\nCREATE ROLE ${REPLICATION_USER} LOGIN REPLICATION PASSWORD '${replicationPassword.replace(/'/g, "''")}';\n`)
  const loadPassword = passwordFromPgpass(lab.hosts.node1.passfile, LOAD_USER).replace(/'/g, "''")
  await nodePsql(primary, `SET log_statement = 'none';\nCREATE ROLE ${LOAD_USER} LOGIN PASSWORD '${loadPassword}';\nCREATE DATABASE ${LOAD_DB} OWNER ${LOAD_USER};\nSELECT pg_reload_conf();\n`)
  await nodePsql(primary, `CREATE TABLE lab_writes (run text NOT NULL, n integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run, n));\nALTER TABLE lab_writes OWNER TO ${LOAD_USER};\n`, LOAD_DB)
  say('node1: pgha init (heartbeat database, role, tables)')
  await mustPgha(lab, 'node1', ['init', '--password-file', heartbeatPasswordFile(lab)])
  // What a DBA grants for rejoin: pg_rewind's file functions to the replication role (it
  // is no superuser), and CHECKPOINT to the heartbeat role (a rewind source checkpoints at once).
  await nodePsql(primary, [...rewindGrantsSql(REPLICATION_USER), `GRANT pg_checkpoint TO ${HEARTBEAT_USER}`].join(';\n') + ';\n')
  say('node2: pg_basebackup from node1, start PostgreSQL (streaming standby, pgha start-db)')
  await createStandby(labPgNode(lab, 'node2', bindir), {host: lab.hosts.node1.address, port: PG_PORT}, {replicationUser: REPLICATION_USER, passfile: lab.hosts.node2.passfile, start: false})
  writePgConf(lab, 'node2', bindir)
  await mustPgha(lab, 'node2', ['start-db'])
  say('VIP-M 192.0.2.100 on node1, VIP-S 192.0.2.101 on node2 (pgha claim-vip)')
  await Promise.all([mustPgha(lab, 'node1', ['claim-vip', 'primary']), mustPgha(lab, 'node2', ['claim-vip', 'standby'])])
  await waitStreaming(lab, bindir, 30_000)
}

function passwordFromPgpass(file: string, user: string): string {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[3] === user)
  if (!line) throw new StepFailedError(`no password for ${user} in ${file}`)
  return line.split(':').slice(4).join(':')
}

/** Wait until node2's WAL receiver streams (bounded). */
export async function waitStreaming(lab: LabLayout, bindir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      last = (await nodePsql(labPgNode(lab, 'node2', bindir), 'SELECT status FROM pg_stat_wal_receiver;', 'postgres', 5000)).trim()
      if (last === 'streaming') return
    } catch (e) {
      last = (e as Error).message
    }
    await sleep(200)
  }
  throw new StepFailedError(`node2 is not streaming from node1 after ${timeoutMs} ms (last: ${last || 'no WAL receiver'})`, `see ${lab.hosts.node2.pgLog}`)
}

/** Like `systemctl enable --now pgha`: from now on each host runs pgha watch, also after a power cycle. */
export async function enableWatch(lab: LabLayout, say: Say): Promise<void> {
  for (const node of LAB_NODES) {
    const h = lab.hosts[node]
    rmSync(h.postgresEnabledFile, {force: true})
    writeFileSync(h.watchEnabledFile, '')
    const s = await waitForInit(h, 5000)
    say(`${node}: start pgha watch`)
    process.kill(s.initPid!, 'SIGUSR1')
  }
}

/** Remove everything of the lab; never fails because something is already gone. */
export async function labDown(lab: LabLayout, say: Say = () => {}): Promise<{removed: string[]}> {
  const removed: string[] = []
  const attempt = async (what: string, fn: () => Promise<unknown> | unknown) => {
    try {
      const r = await fn()
      if (r !== false) removed.push(what)
    } catch (e) {
      say(`lab down: ${what}: ${(e as Error).message.split('\n')[0]} (continuing)`)
    }
  }
  await attempt('load client', () => stopLoad(lab))
  for (const node of LAB_NODES) {
    await attempt(`BMC of ${node}`, () => stopLabBmc(lab, node))
    await attempt(`host ${node}`, async () => {
      const h = lab.hosts[node]
      if (!powerState(h).on) return false
      await powerOffDirect(h)
      // A chassis program that could not run (files gone) must not leave the host alive.
      const s = powerState(h)
      if (s.on && s.outerPid) process.kill(s.outerPid, 'SIGKILL')
      for (const pid of hostPids(h)) process.kill(pid, 'SIGKILL')
    })
  }
  await attempt('network namespaces', async () => (await destroyLabNetwork(lab.prefix)).namespaces.length > 0)
  await attempt(`directory ${lab.dir}`, () => {
    if (!existsSync(lab.dir)) return false
    if (!existsSync(join(lab.dir, MARKER))) {
      say(`lab down: ${lab.dir} has no ${MARKER} marker: left in place (not made by pgha lab)`)
      return false
    }
    rmSync(lab.dir, {recursive: true, force: true, maxRetries: 3})
  })
  return {removed}
}

import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {labBmcRuns, startLabBmc, stopLabBmc} from './bmcs.js'
import {hostConfigYaml, PG_BINDIR} from './host-config.js'
import {hostInitScript, hostStartScript, hostStopScript} from './host-scripts.js'
import {hostPids, pghaArgv, powerOffDirect, powerOnDirect, powerState, waitForInit} from './host.js'
import {type LabLayout, LAB_NODES, type LabNode} from './layout.js'
import {stopLoad} from './load.js'
import {createLabNetwork, destroyLabNetwork} from './netns.js'
import {prepareDir} from './pgcluster.js'
import {buildCluster, type Say} from './cluster.js'
import {preflight} from './preflight.js'
import {writeLabSecrets} from './secrets.js'

/**
 * `lab up` / `lab down`: build and remove the whole lab. Up is idempotent (an up lab is left
 * alone, except that a stopped BMC or a powered-off host is started again; a half-built one is
 * removed and rebuilt); down never fails on what is already gone.
 */

const MARKER = '.pgha-lab'

export interface LabManifest {
  version: 1
  name: string
  dir: string
  createdAt: string
  bindir: string
  /** pgha watch runs in the hosts (false: it was not available, hosts run PostgreSQL only). */
  watch: boolean
}

export type {Say} from './cluster.js'
export {labPgNode, pghaInHost, waitStreaming} from './cluster.js'

export function readManifest(lab: LabLayout): LabManifest | undefined {
  try {
    return JSON.parse(readFileSync(lab.manifest, 'utf8')) as LabManifest
  } catch {
    return undefined
  }
}

/** Is `pgha watch` part of this checkout (it lands separately)? */
function watchAvailable(): boolean {
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
function labHealth(lab: LabLayout): LabHealth {
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
function labExists(lab: LabLayout): boolean {
  return existsSync(lab.dir) || existsSync(`/run/netns/${lab.gatewayNetns}`) || existsSync(`/var/run/netns/${lab.gatewayNetns}`)
}

function writeScript(path: string, text: string): void {
  writeFileSync(path, text, {mode: 0o755})
  chmodSync(path, 0o755)
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
  const m = readManifest(lab)
  if (m && health.network) {
    // Built: a host powered off or a BMC stopped is a state of the lab (a drill, the user), not damage.
    const done: string[] = []
    for (const node of LAB_NODES) {
      if (!health.bmcs[node]) {
        await startLabBmc(lab, node)
        done.push(`started the BMC of ${node}`)
      }
      if (!health.hosts[node]) {
        await powerOnDirect(lab.hosts[node])
        done.push(`powered on ${node}`)
      }
    }
    if (done.length > 0) return {changed: true, summary: `lab ${lab.name} was up: ${done.join(', ')}`, watch: m.watch}
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
  return {
    changed: true,
    summary: `lab ${lab.name} is up: node1 primary (VIP-M 192.0.2.100), node2 standby (VIP-S 192.0.2.101); ${how}`,
    watch,
  }
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

import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {realExec} from '../system/exec.js'
import {labBmcRuns} from './bmcs.js'
import {bridgePort, linkIsUp} from './faults.js'
import {observedRole, type HostRole} from './figures.js'
import {pghaArgv} from './host.js'
import {pghaInHost, readManifest} from './lab.js'
import {LAB_NODES, type LabLayout, type LabNode} from './layout.js'
import {loadRunning} from './load.js'
import {nsArgv} from './netns.js'
import {Sampler} from './sampler.js'
import {parseWatchLog} from './timeline.js'

/** `lab status`: the lab's parts as seen from outside, plus pgha's own view from inside a host. */

export interface LabHostStatus {
  power: 'on' | 'off'
  bmc: 'up' | 'down'
  link: 'connected' | 'isolated' | 'unknown'
  role: HostRole
  vips: string[]
  watch: boolean
  lastWatchLine?: string
}

export interface LabStatus {
  name: string
  dir: string
  up: boolean
  hosts: Record<LabNode, LabHostStatus>
  load?: string
  /** `pgha status --json` run inside a powered-on host, when that command exists. */
  pghaStatus?: unknown
  pghaStatusFrom?: LabNode
}

function statusCommandAvailable(): boolean {
  return existsSync(join(dirname(pghaArgv()[1]), '..', 'dist', 'src', 'commands', 'status.js'))
}

function lastWatchLine(file: string): string | undefined {
  try {
    const l = parseWatchLog(readFileSync(file, 'utf8')).at(-1)
    return l ? `${new Date(l.t).toISOString().slice(11, 19)} ${l.role ? `(${l.role}) ` : ''}${l.reason}` : undefined
  } catch {
    return undefined
  }
}

export async function labStatus(lab: LabLayout, opts: {json?: boolean} = {}): Promise<LabStatus> {
  const sampler = new Sampler(lab, 100, 3000) // one look: wait for slow answers
  const s = await sampler.sampleOnce()
  await sampler.stop()
  const hosts = {} as Record<LabNode, LabHostStatus>
  for (const n of LAB_NODES) {
    const h = s.hosts[n]
    const link = await realExec.run(nsArgv(lab.gatewayNetns, ['ip', '-o', 'link', 'show', bridgePort(lab, n)]), {timeoutMs: 3000})
    hosts[n] = {
      power: h.on ? 'on' : 'off',
      bmc: labBmcRuns(lab, n) ? 'up' : 'down',
      link: link.exitCode !== 0 ? 'unknown' : linkIsUp(link.stdout) ? 'connected' : 'isolated',
      role: observedRole(h),
      vips: [...(h.vipM ? ['VIP-M'] : []), ...(h.vipS ? ['VIP-S'] : [])],
      watch: h.watch,
      lastWatchLine: lastWatchLine(lab.hosts[n].watchLog),
    }
  }
  const st: LabStatus = {name: lab.name, dir: lab.dir, up: readManifest(lab) !== undefined, hosts, load: loadRunning(lab)?.run}
  const from = LAB_NODES.find((n) => hosts[n].power === 'on')
  if (from && statusCommandAvailable()) {
    const r = await pghaInHost(lab, from, ['status', ...(opts.json === false ? [] : ['--json'])], 20_000).catch(() => undefined)
    if (r) {
      if (opts.json === false) {
        st.pghaStatus = (r.stdout + (r.exitCode !== 0 ? r.stderr : '')).trimEnd()
      } else {
        try {
          st.pghaStatus = JSON.parse(r.stdout)
        } catch {
          st.pghaStatus = {error: (r.stderr || r.stdout).split('\n')[0]}
        }
      }
      st.pghaStatusFrom = from
    }
  }
  return st
}

export function renderLabStatus(st: LabStatus): string[] {
  const out = [`lab ${st.name} (${st.dir})${st.load ? `, load run ${st.load} going` : ''}`]
  out.push(
    `  ${'host'.padEnd(6)} ${'power'.padEnd(5)} ${'bmc'.padEnd(4)} ${'link'.padEnd(9)} ${'observed role'.padEnd(22)} ${'VIPs'.padEnd(12)} watch`,
  )
  for (const n of LAB_NODES) {
    const h = st.hosts[n]
    out.push(
      `  ${n.padEnd(6)} ${h.power.padEnd(5)} ${h.bmc.padEnd(4)} ${h.link.padEnd(9)} ${h.role.padEnd(22)} ${(h.vips.join(',') || '-').padEnd(12)} ${h.watch ? 'running' : 'not running'}`,
    )
  }
  for (const n of LAB_NODES) if (st.hosts[n].lastWatchLine) out.push(`  ${n} watch: ${st.hosts[n].lastWatchLine}`)
  return out
}

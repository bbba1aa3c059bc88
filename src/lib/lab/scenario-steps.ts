import {ipmiPower} from './bmcs.js'
import type {Drill, Roles} from './drill.js'
import {countWritableWithVipM, observedRole, type Sample} from './figures.js'
import type {HeavyLoad} from './heavy.js'
import {powerEventAt, sleep} from './host.js'
import type {LabNode} from './layout.js'

/**
 * What drill scenarios are made of: the scenario shape, the limits, power through the real
 * BMC, a load around the fault, and the takeover every failover scenario expects. Limits: the
 * shipped timings detect a dead primary in about (checkTimes + 1) × probeTimeout (1.5 s) and
 * fence within fence.timeout (20 s); 30 s leaves room on a loaded 2-core machine.
 */

export interface Scenario {
  name: string
  title: (r: Roles) => string
  /** failback starts where failover ended (one host off, the other primary_standby). */
  start: 'steady' | 'after-failover'
  /** Not part of a plain `lab drill` (it takes longer); run it by name. */
  onRequest?: boolean
  run(d: Drill, r: Roles): Promise<void>
}

export const FAILOVER_LIMIT_MS = 30_000
export const FAILBACK_LIMIT_MS = 120_000
export const BASELINE_MS = 2000
export const AFTER_MS = 2000

export const role = (s: Sample, n: LabNode) => observedRole(s.hosts[n])
export const off = (s: Sample, n: LabNode) => !s.hosts[n].on

/** Power through the real BMC; returns when the power really changed (the fault time). */
export async function powerViaBmc(d: Drill, node: LabNode, action: 'on' | 'off'): Promise<number> {
  const at = Date.now()
  const {power, result} = await ipmiPower(d.lab, node, action)
  const ok = result.exitCode === 0 && power === action
  d.note(`ipmitool chassis power ${action} ${node}: ${ok ? 'done' : 'FAILED'} (the command took ${result.durationMs} ms)`, 'drill', at)
  if (!ok)
    throw new Error(
      `ipmitool chassis power ${action} ${node} failed: ${result.stderr.split('\n').filter(Boolean).at(-1) ?? result.exitCode}`,
    )
  return powerEventAt(d.lab.hosts[node], action, at) ?? at
}

export async function withLoad(d: Drill, name: string, body: () => Promise<void>, heavy?: HeavyLoad): Promise<void> {
  await d.startLoad(name, heavy)
  await sleep(BASELINE_MS)
  try {
    await body()
    await sleep(AFTER_MS)
  } finally {
    await d.stopLoad()
  }
}

/** The survivor takes over: fenced old primary stays off, survivor holds both VIPs and is writable. */
export async function expectTakeover(d: Drill, survivor: LabNode, lost: LabNode, what: string): Promise<void> {
  const from = d.faultAt ?? Date.now()
  const took = await d.until(
    `${survivor} is primary_standby (writable, VIP-M and VIP-S)${what}`,
    FAILOVER_LIMIT_MS,
    (s) => role(s, survivor) === 'primary_standby' && countWritableWithVipM(s) === 1,
    {from},
  )
  d.recoveryMs = took
  const s = await d.sample()
  d.check(off(s, lost), `${lost} is powered off (fenced) at the end`)
}

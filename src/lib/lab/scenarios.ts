import {ipmiPower, startLabBmc, stopLabBmc} from './bmcs.js'
import {type Drill, describe, type Roles} from './drill.js'
import {crashDb, setFrozen, setIsolated} from './faults.js'
import {countWritableWithVipM, observedRole, type Sample} from './figures.js'
import {powerEventAt, powerOffDirect, sleep} from './host.js'
import {LAB_NODES, type LabNode} from './layout.js'

/**
 * The drill scenarios. Each starts from the steady state (roles given), injects one fault,
 * and checks what a client and an operator would check, every wait bounded. Limits: the
 * shipped timings detect a dead primary in about interval × checkTimes (3 s) and fence
 * within fence.timeout (20 s); 30 s leaves room on a loaded 2-core machine.
 */

export interface Scenario {
  name: string
  title: (r: Roles) => string
  /** failback starts where failover ended (one host off, the other primary_standby). */
  start: 'steady' | 'after-failover'
  run(d: Drill, r: Roles): Promise<void>
}

const FAILOVER_LIMIT_MS = 30_000
const FAILBACK_LIMIT_MS = 120_000
const BASELINE_MS = 2000
const AFTER_MS = 2000

const role = (s: Sample, n: LabNode) => observedRole(s.hosts[n])
const off = (s: Sample, n: LabNode) => !s.hosts[n].on

/** Power through the real BMC; returns when the power really changed (the fault time). */
async function powerViaBmc(d: Drill, node: LabNode, action: 'on' | 'off'): Promise<number> {
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

async function withLoad(d: Drill, name: string, body: () => Promise<void>): Promise<void> {
  await d.startLoad(name)
  await sleep(BASELINE_MS)
  try {
    await body()
    await sleep(AFTER_MS)
  } finally {
    await d.stopLoad()
  }
}

/** The survivor takes over: fenced old primary stays off, survivor holds both VIPs and is writable. */
async function expectTakeover(d: Drill, survivor: LabNode, lost: LabNode, what: string): Promise<void> {
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

export const SCENARIOS: Scenario[] = [
  {
    name: 'failover',
    title: (r) => `power off the primary (${r.primary}) through its BMC`,
    start: 'steady',
    run: (d, r) =>
      withLoad(d, 'failover', async () => {
        d.fault(`power cut on ${r.primary} (the primary)`, await powerViaBmc(d, r.primary, 'off'))
        await expectTakeover(d, r.standby, r.primary, '')
      }),
  },
  {
    name: 'failback',
    title: (r) => `power the old primary (${r.primary}) on again: it must return as a standby and the survivor must release VIP-S`,
    start: 'after-failover',
    run: (d, r) =>
      withLoad(d, 'failback', async () => {
        d.requireNoLoss = true
        d.fault(`power on ${r.primary} (the old primary)`, await powerViaBmc(d, r.primary, 'on'))
        const took = await d.until(
          `${r.primary} is a standby with VIP-S and ${r.standby} a primary with VIP-M only`,
          FAILBACK_LIMIT_MS,
          (s) => role(s, r.primary) === 'standby' && s.hosts[r.primary].vipS && role(s, r.standby) === 'primary',
          {from: d.faultAt},
        )
        d.recoveryMs = took
        d.recoveryLabel = 'failback to steady state'
      }),
  },
  {
    name: 'standby-loss',
    title: (r) => `power off the standby (${r.standby}): the primary takes VIP-S, writes go on`,
    start: 'steady',
    run: (d, r) =>
      withLoad(d, 'standby-loss', async () => {
        d.requireNoLoss = true
        d.fault(`power cut on ${r.standby} (the standby)`, await powerViaBmc(d, r.standby, 'off'))
        d.recoveryMs = await d.until(
          `${r.primary} is primary_standby (VIP-M and VIP-S)`,
          FAILOVER_LIMIT_MS,
          (s) => role(s, r.primary) === 'primary_standby',
          {from: d.faultAt},
        )
      }),
  },
  {
    name: 'db-crash',
    title: (r) => `kill -9 the primary's postmaster (${r.primary}); the host stays up`,
    start: 'steady',
    run: (d, r) =>
      withLoad(d, 'db-crash', async () => {
        const res = crashDb(d.lab, r.primary)
        d.fault(res.summary)
        d.recoveryMs = await d.until(
          'exactly one host writable with VIP-M again',
          FAILOVER_LIMIT_MS,
          (s) => countWritableWithVipM(s) === 1 && LAB_NODES.some((n) => s.hosts[n].writable === true && s.hosts[n].vipM),
          {from: d.faultAt},
        )
      }),
  },
  {
    name: 'isolate-primary',
    title: (r) => `cut the primary (${r.primary}) off the network; the standby must fence it before taking over`,
    start: 'steady',
    run: (d, r) =>
      withLoad(d, 'isolate-primary', async () => {
        d.fault((await setIsolated(d.lab, r.primary, true)).summary)
        await expectTakeover(d, r.standby, r.primary, ' after fencing the isolated primary')
      }),
  },
  {
    name: 'fence-broken',
    title: (r) => `the primary (${r.primary}) loses power together with its BMC: the standby must NOT promote`,
    start: 'steady',
    run: (d, r) =>
      withLoad(d, 'fence-broken', async () => {
        await stopLabBmc(d.lab, r.primary)
        d.note(`BMC of ${r.primary} stopped (fencing ${r.primary} is now impossible)`)
        const at = Date.now()
        await powerOffDirect(d.lab.hosts[r.primary])
        d.fault(`power cut on ${r.primary} (BMC down too)`, at)
        await d.never(
          `${r.standby} stays a standby and never writable while ${r.primary} cannot be fenced`,
          25_000,
          (s) => s.hosts[r.standby].writable === true || s.hosts[r.standby].vipM,
        )
        d.note(`BMC of ${r.primary} back: the standby can now confirm the power is off`)
        await startLabBmc(d.lab, r.primary)
        d.recoveryLabel = 'BMC back → standby took over'
        d.recoveryMs = await d.until(
          `${r.standby} is primary_standby once the fence succeeds`,
          FAILOVER_LIMIT_MS,
          (s) => role(s, r.standby) === 'primary_standby',
        )
      }),
  },
  {
    name: 'freeze-primary',
    title: (r) => `freeze the primary's PostgreSQL (${r.primary}, SIGSTOP): port open, no answers`,
    start: 'steady',
    run: (d, r) =>
      withLoad(d, 'freeze-primary', async () => {
        d.fault(setFrozen(d.lab, r.primary, true).summary)
        await expectTakeover(d, r.standby, r.primary, ' after fencing the hung primary')
      }),
  },
  {
    name: 'cold-start',
    title: (r) =>
      `power off the standby (${r.standby}), then the primary (${r.primary}), then both on together: the primary, which has the latest writes, must be primary again and nobody fenced`,
    start: 'steady',
    run: (d, r) =>
      withLoad(d, 'cold-start', async () => {
        d.requireNoLoss = true
        await powerViaBmc(d, r.standby, 'off')
        await powerViaBmc(d, r.primary, 'off')
        await sleep(1000)
        const at = Date.now()
        await Promise.all(LAB_NODES.map((n) => powerViaBmc(d, n, 'on')))
        d.fault('both hosts powered on together', at)
        d.recoveryLabel = 'power on → one primary'
        d.recoveryMs = await d.until('exactly one host writable with VIP-M', 90_000, (s) => countWritableWithVipM(s) === 1, {from: at})
        await d.until(
          `${r.primary} (the last one up, with the latest writes) is primary and ${r.standby} a standby with VIP-S`,
          90_000,
          (s) =>
            (role(s, r.primary) === 'primary' || role(s, r.primary) === 'primary_standby') &&
            role(s, r.standby) === 'standby' &&
            s.hosts[r.standby].vipS,
          {from: at},
        )
        await d.never(
          'both hosts stay powered on (a cold start of healthy hosts fences nobody)',
          10_000,
          (s) => off(s, r.primary) || off(s, r.standby),
        )
        const s = await d.sample()
        d.note(`after cold start: ${describe(s)}`)
      }),
  },
]

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name)

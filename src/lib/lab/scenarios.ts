import {startLabBmc, stopLabBmc} from './bmcs.js'
import {describe} from './drill.js'
import {crashDb, setFrozen, setIsolated} from './faults.js'
import {countWritableWithVipM} from './figures.js'
import {HEAVY_SCENARIOS} from './heavy-scenarios.js'
import {powerOffDirect, sleep} from './host.js'
import {LAB_NODES} from './layout.js'
import {expectTakeover, FAILBACK_LIMIT_MS, FAILOVER_LIMIT_MS, off, powerViaBmc, role, type Scenario, withLoad} from './scenario-steps.js'

export type {Scenario} from './scenario-steps.js'

/**
 * The drill scenarios. Each starts from the steady state (roles given), injects one fault,
 * and checks what a client and an operator would check, every wait bounded (the building
 * blocks and limits are in scenario-steps.ts; the heavy-load ones in heavy-scenarios.ts).
 */

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
  ...HEAVY_SCENARIOS,
]

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name)

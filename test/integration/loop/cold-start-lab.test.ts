/**
 * Cold start of both lab hosts while the standby's PostgreSQL answers but is not ready: its
 * postgresql.conf has hot_standby off, so every connection gets 57P03 "the database system is
 * not accepting connections" — what a standby still replaying WAL after a power restore says.
 * Both hosts are powered off and on through their BMCs (ipmitool → ipmi_sim) and boot
 * `pgha watch` as under systemd. node1 must start as primary with VIP-M and NOT fence the live
 * node2; only after timing.peerStartTimeout (20 s here) does it count node2 as failed and
 * fence it, saying why. Lab names hso*.
 */
import assert from 'node:assert/strict'
import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import YAML from 'yaml'
import {readWatchState} from '../../../src/lib/loop/watch-state.js'
import {ipmiPower} from '../../../src/lib/lab/bmcs.js'
import {powerState, sleep} from '../../../src/lib/lab/host.js'
import {labDown, labUp, readManifest} from '../../../src/lib/lab/lab.js'
import {labLayout, type LabNode} from '../../../src/lib/lab/layout.js'
import {vipsOn} from '../../../src/lib/lab/switchover-drill.js'
import {parseWatchLog} from '../../../src/lib/lab/timeline.js'
import {prerequisites} from '../../helpers/env.js'

const lab = labLayout(`hsoc${process.pid % 10000}`, `/tmp/pgha-it-hsoc${process.pid % 10000}`)
const COMMANDS = ['ip', 'arping', 'ipmitool', 'ipmi_sim', 'unshare', 'nsenter', 'runuser']
const BOUND_S = 20
const roleOf = (n: LabNode) => readWatchState(lab.hosts[n].stateDir)?.role
const lines = (n: LabNode, since: number) => parseWatchLog(readFileSync(lab.hosts[n].watchLog, 'utf8')).filter((l) => l.t >= since)

async function until(what: string, limitMs: number, pred: () => boolean): Promise<void> {
  const end = Date.now() + limitMs
  while (!pred()) {
    if (Date.now() > end)
      throw new Error(
        `${what}: not within ${limitMs / 1000} s (node1 ${roleOf('node1')}, node2 ${roleOf('node2')}); node1's last lines:\n${lines(
          'node1',
          0,
        )
          .slice(-5)
          .map((l) => `${l.rule} ${l.reason}`)
          .join('\n')}`,
      )
    await sleep(250)
  }
}

describe('cold start in the lab: a standby that answers 57P03 is not fenced', {timeout: 600_000}, () => {
  before(async () => {
    await labDown(lab).catch(() => undefined)
  })
  after(async () => {
    await labDown(lab).catch(() => undefined)
  })

  it('both hosts power-cycled, node2 not accepting connections: node1 primary with VIP-M, node2 left on until timing.peerStartTimeout', async (t) => {
    if (!prerequisites(t, {root: true, commands: COMMANDS})) return
    await labUp(lab)
    assert.equal(readManifest(lab)?.watch, true, 'the lab runs pgha watch in both hosts')
    await until('node1 primary and node2 standby', 90_000, () => roleOf('node1') === 'primary' && roleOf('node2') === 'standby')

    const cfgFile = lab.hosts.node1.configFile
    const doc = YAML.parse(readFileSync(cfgFile, 'utf8')) as {timing?: Record<string, unknown>}
    doc.timing = {...doc.timing, peerStartTimeout: `${BOUND_S}s`}
    writeFileSync(cfgFile, YAML.stringify(doc))
    appendFileSync(
      lab.hosts.node2.pgConf,
      '\n# cold-start-lab.test.ts: answer 57P03 like a standby still replaying WAL\nhot_standby = off\n',
    )

    for (const n of ['node2', 'node1'] as const) assert.equal((await ipmiPower(lab, n, 'off')).power, 'off')
    await until('both hosts off', 30_000, () => !powerState(lab.hosts.node1).on && !powerState(lab.hosts.node2).on)
    const bootAt = Date.now()
    for (const n of ['node1', 'node2'] as const) assert.equal((await ipmiPower(lab, n, 'on')).power, 'on')

    await until(
      'node1 primary again',
      120_000,
      () => roleOf('node1') === 'primary' && lines('node1', bootAt).some((l) => l.rule === 'starting.primary-peer-not-ready'),
    )
    const start = lines('node1', bootAt).find((l) => l.rule === 'starting.primary-peer-not-ready')!
    t.diagnostic(`node1 at startup: ${start.reason}`)
    assert.match(start.reason, /57P03.*not fencing it/)
    assert.deepEqual(vipsOn(lab, 'node1'), {m: true, s: false}, 'node1 holds VIP-M only')
    const primaryAt = Date.now()

    // Within the bound: node2 stays on, node1 waits and says for what.
    await sleep((BOUND_S / 2) * 1000)
    assert.ok(powerState(lab.hosts.node2).on, 'node2 (alive, answering 57P03) is still powered on')
    const waiting = lines('node1', primaryAt).filter((l) => l.rule === 'primary.standby-not-ready')
    assert.ok(waiting.length > 0, 'node1 logs that it waits for the not-ready standby')
    t.diagnostic(`node1 waiting: ${waiting.at(-1)!.reason}`)
    assert.match(waiting.at(-1)!.reason, /alive but not ready.*57P03.*of timing\.peerStartTimeout 20s left/)
    assert.ok(!lines('node1', bootAt).some((l) => (l.actions ?? []).includes('fencePeer')), 'no fence planned yet')

    // Past the bound it counts as failed like a silent standby: fenced, and the reason says why.
    await until('node1 fences node2 past timing.peerStartTimeout', 60_000, () =>
      lines('node1', primaryAt).some((l) => l.rule === 'primary.fence-standby'),
    )
    const fence = lines('node1', primaryAt).find((l) => l.rule === 'primary.fence-standby')!
    t.diagnostic(`node1 fencing: ${fence.reason}`)
    assert.match(fence.reason, /past timing\.peerStartTimeout 20s/)
    assert.ok(fence.t - start.t >= BOUND_S * 1000, `fenced ${fence.t - start.t} ms after starting as primary, not before the bound`)
    await until('node2 powered off by the fence', 30_000, () => !powerState(lab.hosts.node2).on)
  })
})

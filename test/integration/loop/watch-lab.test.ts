/**
 * pgha watch on real parts: two hosts as PID + network namespaces (pgha lab), real PostgreSQL
 * streaming replication, real VIPs and arping, fencing through ipmi_sim BMCs. Both hosts run
 * `pgha watch` exactly as under systemd. Scenarios in order: steady pair (watch --once
 * decisions, status, checks) → standby power-off (the primary takes VIP-S) → the standby
 * returns (VIP-S handed back) → primary power-off (the standby fences, promotes and holds both
 * VIPs). Assertions are on the loop's reason strings and on what a client would see.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {ipmiPower} from '../../../src/lib/lab/bmcs.js'
import {sleep} from '../../../src/lib/lab/host.js'
import {labDown, labUp, pghaInHost, readManifest} from '../../../src/lib/lab/lab.js'
import {labLayout, type LabNode} from '../../../src/lib/lab/layout.js'
import {parseWatchLog} from '../../../src/lib/lab/timeline.js'
import {readWatchState} from '../../../src/lib/loop/watch-state.js'
import {parse} from 'yaml'
import {validateConfig} from '../../../src/lib/config/load.js'
import {prerequisites} from '../../helpers/env.js'

const lab = labLayout(`pgtw${process.pid % 10000}`, `/tmp/pgha-it-pgtw${process.pid % 10000}`)
const COMMANDS = ['ip', 'arping', 'ipmitool', 'ipmi_sim', 'unshare', 'nsenter', 'runuser']

const roleOf = (n: LabNode) => readWatchState(lab.hosts[n].stateDir)?.role
const addrs = (n: LabNode) => {
  try {
    return execFileSync('ip', ['-n', lab.hosts[n].netns, '-4', '-o', 'addr', 'show'], {timeout: 5000}).toString()
  } catch {
    return ''
  }
}
const holds = (n: LabNode, ip: string) => new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`).test(addrs(n))
const reasons = (n: LabNode, since: number) => parseWatchLog(readFileSync(lab.hosts[n].watchLog, 'utf8')).filter((l) => l.t >= since)

async function until(what: string, limitMs: number, pred: () => boolean): Promise<number> {
  const started = Date.now()
  while (!pred()) {
    if (Date.now() - started > limitMs) {
      const tail = (n: LabNode) =>
        reasons(n, started)
          .slice(-4)
          .map((l) => `${n}: ${l.role} ${l.reason}`)
          .join('\n')
      throw new Error(
        `${what}: not within ${limitMs / 1000} s (node1 ${roleOf('node1')}, node2 ${roleOf('node2')})\n${tail('node1')}\n${tail('node2')}`,
      )
    }
    await sleep(200)
  }
  return Date.now() - started
}

async function once(n: LabNode): Promise<{rule: string; summary: string}> {
  const r = await pghaInHost(lab, n, ['watch', '--once', '--dry-run', '--json'], 60_000)
  assert.equal(r.exitCode, 0, r.stderr + r.stdout)
  return JSON.parse(r.stdout).result
}

describe('pgha watch in the lab: steady, standby loss and return, primary loss', {timeout: 420_000}, () => {
  let up = false
  before(async () => {
    await labDown(lab).catch(() => undefined)
  })
  after(async () => {
    await labDown(lab).catch(() => undefined)
  })

  it('a healthy pair: both loops settle, --once decides steady, status and checks agree', async (t) => {
    if (!prerequisites(t, {root: true, commands: COMMANDS})) return
    await labUp(lab)
    assert.equal(readManifest(lab)?.watch, true, 'the lab runs pgha watch in both hosts')
    up = true
    await until(
      'node1 primary and node2 standby in state.json',
      60_000,
      () => roleOf('node1') === 'primary' && roleOf('node2') === 'standby',
    )
    const p = await once('node1')
    assert.equal(p.rule, 'primary.steady')
    assert.match(p.summary, /^the standby answers through VIP-S \(heartbeat \S+ old, \S+ behind\)$/)
    const s = await once('node2')
    assert.equal(s.rule, 'standby.steady')
    assert.match(s.summary, /^the primary answers through VIP-M; this standby's heartbeat \S+ old, \S+ behind$/)

    const st = await pghaInHost(lab, 'node1', ['status', '--json'], 30_000)
    assert.equal(st.exitCode, 0, st.stderr)
    const status = JSON.parse(st.stdout).result
    assert.deepEqual(
      status.nodes.map((n: {name: string; role: string}) => `${n.name} ${n.role}`),
      ['node1 primary', 'node2 standby'],
    )
    assert.equal(status.vips.primary, 'this node')
    assert.equal(status.vips.standby, 'another host')
    assert.match(status.replication, /^node1 → node2 streaming/)
    assert.equal(status.watch.alive, true)

    const alive = await pghaInHost(lab, 'node2', ['check', 'alive'], 30_000)
    assert.equal(alive.exitCode, 0, alive.stdout)
    assert.match(alive.stdout, /^PGHA ALIVE OK - pgha watch alive: .* \| age=[\d.]+s;30;60;0$/m)
    for (const n of ['node1', 'node2'] as const) {
      const lag = await pghaInHost(lab, n, ['check', 'lag'], 30_000)
      assert.equal(lag.exitCode, 0, `${n}: ${lag.stdout}`)
      assert.match(lag.stdout, /^PGHA LAG OK - .* \| lag_age=[\d.]+s;400;600;0 lag_bytes=\d+B;/m)
    }
    // Another loop on the same host is refused (two loops would act at once).
    const twice = await pghaInHost(lab, 'node1', ['watch', '--once'], 30_000)
    assert.equal(twice.exitCode, 3, twice.stderr)
    assert.match(twice.stderr, /another pgha watch \(PID \d+\) runs on this host/)
  })

  /** The hosts' checkTimes as pgha reads their config (shipped default unless the lab sets one). */
  const checkTimes = () =>
    validateConfig(parse(readFileSync(lab.hosts.node1.configFile, 'utf8')), 'lab', {checkFiles: false}).timing.checkTimes

  it('standby power-off: the primary fences it and takes VIP-S (primary_standby)', async (t) => {
    if (!up) return t.skip('lab not up')
    const at = Date.now()
    const off = await ipmiPower(lab, 'node2', 'off')
    assert.equal(off.power, 'off', off.result.stderr)
    const took = await until(
      'node1 primary_standby with both VIPs',
      40_000,
      () => roleOf('node1') === 'primary_standby' && holds('node1', '192.0.2.101') && holds('node1', '192.0.2.100'),
    )
    t.diagnostic(`standby loss handled in ${(took / 1000).toFixed(1)} s`)
    const lines = reasons('node1', at)
    assert.ok(
      lines.some((l) => new RegExp(`^the standby does not answer through VIP-S .*: check 1 of ${checkTimes()}$`).test(l.reason)),
      'counts the failed checks',
    )
    assert.ok(
      lines.some(
        (l) =>
          /^the standby failed \d+ checks in a row .*: fencing it .*, then degrading to asynchronous and claiming VIP-S/.test(l.reason) &&
          l.role === 'primary_standby',
      ),
    )
    assert.equal(readWatchState(lab.hosts.node1.stateDir)?.lastTransition?.rule, 'primary.fence-standby')
  })

  it('the standby returns: it starts as a standby, the primary hands VIP-S back (primary + standby again)', async (t) => {
    if (!up) return t.skip('lab not up')
    const at = Date.now()
    const on = await ipmiPower(lab, 'node2', 'on')
    assert.equal(on.power, 'on', on.result.stderr)
    await until(
      'node1 primary, node2 standby with VIP-S',
      90_000,
      () =>
        roleOf('node1') === 'primary' && roleOf('node2') === 'standby' && holds('node2', '192.0.2.101') && !holds('node1', '192.0.2.101'),
    )
    assert.ok(
      reasons('node1', at).some((l) =>
        /^the peer is a healthy standby within lag\.releaseStandbyVip .*: releasing VIP-S to it$/.test(l.reason),
      ),
    )
  })

  it('primary power-off: the standby fences it, promotes and holds both VIPs (primary_standby)', async (t) => {
    if (!up) return t.skip('lab not up')
    const at = Date.now()
    const off = await ipmiPower(lab, 'node1', 'off')
    assert.equal(off.power, 'off', off.result.stderr)
    const took = await until(
      'node2 primary_standby with both VIPs',
      40_000,
      () => roleOf('node2') === 'primary_standby' && holds('node2', '192.0.2.100') && holds('node2', '192.0.2.101'),
    )
    t.diagnostic(`failover in ${(took / 1000).toFixed(1)} s`)
    const lines = reasons('node2', at)
    assert.ok(lines.some((l) => new RegExp(`^the primary does not answer through VIP-M .*: check 1 of ${checkTimes()}$`).test(l.reason)))
    const failover = lines.find((l) =>
      /^the primary failed \d+ checks in a row .*: fencing it .* then promoting and claiming VIP-M; (promoted with zero data loss \(synchronous\)|possible data loss: up to .*)/.test(
        l.reason,
      ),
    )
    assert.ok(failover, 'the failover line')
    t.diagnostic(`failover reason: ${failover.reason}`)
    assert.deepEqual(failover.actions, ['fencePeer', 'promote', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'])
    assert.equal(readWatchState(lab.hosts.node2.stateDir)?.lastTransition?.rule, 'standby.failover')
    await until(
      'the next tick observes node2 writable',
      10_000,
      () => readWatchState(lab.hosts.node2.stateDir)?.observations.local.inRecovery === 'no',
    )
    const power = await ipmiPower(lab, 'node1', 'status')
    assert.equal(power.power, 'off', 'the old primary stays fenced')
  })
})

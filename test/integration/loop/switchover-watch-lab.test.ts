/**
 * One-command switchover on real hosts: the lab's two namespaced hosts run `pgha watch` as
 * under systemd; `pgha switchover --yes` runs on ONE host only and the other host's watch runs
 * its half when it sees the replicated marker. A client writes through VIP-M from the gateway
 * namespace: every acknowledged write must be on the new primary. node1 → node2 from the
 * primary, then back from the (new) standby, then once more with the command on both hosts
 * (the watch's half and the DBA's must not collide). Lab names hso*.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {readWatchState} from '../../../src/lib/loop/watch-state.js'
import {sleep} from '../../../src/lib/lab/host.js'
import {labDown, labPgNode, labUp, pghaInHost, readManifest} from '../../../src/lib/lab/lab.js'
import {labLayout, type LabNode} from '../../../src/lib/lab/layout.js'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {type SwitchoverDrill, switchoverUnderLoad, vipsOn} from '../../../src/lib/lab/switchover-drill.js'
import {prerequisites} from '../../helpers/env.js'

const lab = labLayout(`hso${process.pid % 10000}`, `/tmp/pgha-it-hso${process.pid % 10000}`)
const COMMANDS = ['ip', 'arping', 'ipmitool', 'ipmi_sim', 'unshare', 'nsenter', 'runuser']
const roleOf = (n: LabNode) => readWatchState(lab.hosts[n].stateDir)?.role

async function until(what: string, limitMs: number, pred: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + limitMs
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${limitMs / 1000} s (node1 ${roleOf('node1')}, node2 ${roleOf('node2')})`)
    await sleep(200)
  }
}

async function detectRole(n: LabNode): Promise<string> {
  const r = await pghaInHost(lab, n, ['detect-role', '--json'], 30_000)
  assert.equal(r.exitCode, 0, r.stderr)
  return JSON.parse(r.stdout).result.role
}

function check(t: {diagnostic(s: string): void}, d: SwitchoverDrill): void {
  for (const {node, run} of d.results) {
    assert.equal(run.exitCode, 0, `${node}: pgha switchover exited ${run.exitCode}\n${run.stderr}\n${run.stdout}`)
  }
  t.diagnostic(
    `${d.from} → ${d.to} (${d.results.map((r) => r.node).join(' and ')}): ${d.acked} writes acknowledged, ${d.failedAttempts} failed attempts, write outage ${d.outageMs} ms`,
  )
  for (const line of d.timeline) t.diagnostic(`  ${d.results[0].node}: ${line}`)
  assert.ok(d.acked > 50, 'the client wrote before and after')
  assert.deepEqual(d.lost, [], 'every acknowledged write is on the new primary')
}

async function swapped(from: LabNode, to: LabNode): Promise<void> {
  // The halves are done; the loops re-derive their roles once the marker is cleared.
  await until(`${to} primary and ${from} standby in the watch state`, 60_000, () => roleOf(to) === 'primary' && roleOf(from) === 'standby')
  assert.deepEqual(vipsOn(lab, to), {m: true, s: false}, `VIP-M (only) on ${to}`)
  assert.deepEqual(vipsOn(lab, from), {m: false, s: true}, `VIP-S (only) on ${from}`)
  assert.equal(await detectRole(to), 'primary')
  assert.equal(await detectRole(from), 'standby')
  const marker = await nodePsql(labPgNode(lab, to), "SELECT coalesce(switchover, 'none') FROM pgha.cluster_state;", 'pgha', 15_000)
  assert.equal(marker.trim(), 'none', 'marker cleared')
}

describe('one-command switchover in the lab with pgha watch on both hosts', {timeout: 900_000}, () => {
  before(async () => {
    await labDown(lab).catch(() => undefined)
  })
  after(async () => {
    await labDown(lab).catch(() => undefined)
  })

  it("pgha switchover on one host only: the other host's watch runs its half; 0 writes lost, roles swapped, and back", async (t) => {
    if (!prerequisites(t, {root: true, commands: COMMANDS})) return
    await labUp(lab)
    assert.equal(readManifest(lab)?.watch, true, 'the lab runs pgha watch in both hosts')
    await until('node1 primary and node2 standby', 90_000, () => roleOf('node1') === 'primary' && roleOf('node2') === 'standby')

    // From the primary alone: node2's watch runs the promote half.
    const there = await switchoverUnderLoad(lab, 'node1', 'node2', 'hso-there')
    check(t, there)
    assert.equal(JSON.parse(there.results[0].run.stdout).result.side, 'demote')
    await swapped('node1', 'node2')

    // From the standby alone (node1 now): node2's watch runs the demote half.
    const back = await switchoverUnderLoad(lab, 'node2', 'node1', 'hso-back', 'to')
    check(t, back)
    assert.equal(JSON.parse(back.results[0].run.stdout).result.side, 'promote')
    await swapped('node2', 'node1')

    // On both hosts, as before watch ran halves: whichever of the DBA's command and the watch
    // takes the host's half first runs it; the other follows. Both commands exit 0.
    const both = await switchoverUnderLoad(lab, 'node1', 'node2', 'hso-both', 'both')
    check(t, both)
    await swapped('node1', 'node2')
  })
})

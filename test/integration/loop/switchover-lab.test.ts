/**
 * pgha switchover on real hosts: the lab's two PID + network namespaces, real VIPs (ip, arping),
 * archive bind-mounted from the peer, and a client writing through VIP-M from the gateway
 * namespace. Both halves run as `pgha switchover --yes` inside their host, as a DBA would.
 * The watch loops are not started here (their side of the protocol — observe only while the
 * marker is set — is tested with the watch suite).
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {after, before, describe, it} from 'node:test'
import {sleep} from '../../../src/lib/lab/host.js'
import {labDown, labPgNode, labUp, pghaInHost} from '../../../src/lib/lab/lab.js'
import {labLayout, LOAD_DB, type LabNode} from '../../../src/lib/lab/layout.js'
import {readLoadLog, startLoad, stopLoad} from '../../../src/lib/lab/load.js'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {prerequisites} from '../../helpers/env.js'

const lab = labLayout(`pgso${process.pid % 10000}`, `/tmp/pgha-it-pgso${process.pid % 10000}`)
const COMMANDS = ['ip', 'arping', 'ipmitool', 'ipmi_sim', 'unshare', 'nsenter', 'runuser']
const VIP_M = '192.0.2.100'
const VIP_S = '192.0.2.101'

const holds = (n: LabNode, ip: string) => {
  try {
    return new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`).test(
      execFileSync('ip', ['-n', lab.hosts[n].netns, '-4', '-o', 'addr', 'show'], {timeout: 5000}).toString(),
    )
  } catch {
    return false
  }
}

async function role(n: LabNode): Promise<string> {
  const r = await pghaInHost(lab, n, ['detect-role', '--json'], 30_000)
  assert.equal(r.exitCode, 0, r.stderr)
  return JSON.parse(r.stdout).result.role
}

/** Both halves at once (the primary's a little earlier), then zero loss and the swapped VIPs. */
async function switchover(t: {diagnostic(s: string): void}, from: LabNode, to: LabNode, run: string): Promise<void> {
  const load = await startLoad(lab, {run, intervalMs: 20})
  await sleep(1500)
  const first = pghaInHost(lab, from, ['switchover', '--yes', '--json'], 240_000)
  await sleep(500)
  const second = pghaInHost(lab, to, ['switchover', '--yes', '--json'], 240_000)
  const [a, b] = await Promise.all([first, second])
  await sleep(1500)
  await stopLoad(lab)
  assert.equal(a.exitCode, 0, `${from}: ${a.stderr}\n${a.stdout}`)
  assert.equal(b.exitCode, 0, `${to}: ${b.stderr}\n${b.stdout}`)
  assert.equal(JSON.parse(a.stdout).result.side, 'demote')
  assert.equal(JSON.parse(b.stdout).result.side, 'promote')

  const entries = readLoadLog(load.log)
  const acked = entries.filter((e) => e.ok).map((e) => e.n)
  let gap = 0
  const okTimes = entries.filter((e) => e.ok).map((e) => e.t)
  for (let i = 1; i < okTimes.length; i++) gap = Math.max(gap, okTimes[i] - okTimes[i - 1])
  t.diagnostic(
    `${from} → ${to}: ${acked.length} writes acknowledged through VIP-M, ${entries.length - acked.length} attempts failed, write outage ${gap} ms`,
  )
  assert.ok(acked.length > 50, 'the client wrote before and after')
  assert.ok(okTimes.at(-1)! > okTimes[0] + gap, 'writes resumed after the outage')
  const present = await nodePsql(
    labPgNode(lab, to),
    `SELECT count(*) FROM lab_writes WHERE run = '${run}' AND n = ANY('{${acked.join(',')}}'::int[]);`,
    LOAD_DB,
    30_000,
  )
  assert.equal(Number(present.trim()), acked.length, 'every acknowledged write is on the new primary')

  assert.ok(holds(to, VIP_M) && !holds(from, VIP_M), `VIP-M moved to ${to}`)
  assert.ok(holds(from, VIP_S) && !holds(to, VIP_S), `VIP-S moved to ${from}`)
  assert.equal(await role(to), 'primary')
  assert.equal(await role(from), 'standby')
  const marker = await nodePsql(labPgNode(lab, to), "SELECT coalesce(switchover, 'none') FROM pgha.cluster_state;", 'pgha', 15_000)
  assert.equal(marker.trim(), 'none', 'marker cleared')
}

describe('pgha switchover in the lab (real VIPs, archive, client through VIP-M)', {timeout: 600_000}, () => {
  before(async () => {
    await labDown(lab).catch(() => undefined)
  })
  after(async () => {
    await labDown(lab).catch(() => undefined)
  })

  it('node1 → node2 and back, each with zero acknowledged writes lost', async (t) => {
    if (!prerequisites(t, {root: true, commands: COMMANDS})) return
    await labUp(lab, () => undefined, {watch: false})
    assert.ok(holds('node1', VIP_M) && holds('node2', VIP_S))
    await switchover(t, 'node1', 'node2', 'so-there')
    await switchover(t, 'node2', 'node1', 'so-back')
  })
})

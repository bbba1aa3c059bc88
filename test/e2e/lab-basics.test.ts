import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {after, before, describe, it} from 'node:test'
import {processRuns} from '../../src/lib/lab/bmc.js'
import {hostPids, postmasterPid, powerState, sleep} from '../../src/lib/lab/host.js'
import {labPgNode, waitStreaming} from '../../src/lib/lab/lab.js'
import {nodePsql} from '../../src/lib/lab/pgcluster.js'
import {prerequisites} from '../helpers/env.js'
import {cleanup, LAB_COMMANDS, labArgs, leftovers, pgha, testLab} from './lab-harness.js'

// The lab's parts without the HA loop (--no-watch): up, idempotence, real power through
// the BMC, faults, load, down. The drill tests (lab-drill-*.test.ts) add pgha watch.
const lab = testLab('b')
const args = labArgs(lab)
const addrs = (ns: string) => execFileSync('ip', ['-n', ns, '-4', '-o', 'addr', 'show'], {timeout: 5000}).toString()

describe('pgha lab (no watch): up, power, faults, load, down', {timeout: 400_000}, () => {
  let ready = false
  before(async () => {
    await cleanup(lab)
  })
  after(async () => {
    await cleanup(lab)
  })

  it('refuses without root, and names a missing package and scripts/setup.sh (exit 2)', async (t) => {
    if (!prerequisites(t, {root: true, commands: ['runuser']})) return
    const r = await pgha(['lab', 'up', ...args], {asUser: 'nobody', timeoutMs: 30_000})
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /needs root/)
    const m = await pgha(['lab', 'up', ...args], {env: {...process.env, PATH: '/nonexistent'}, timeoutMs: 30_000})
    assert.equal(m.code, 2, m.stderr)
    assert.match(m.stderr, /needs \S+, from the Debian package \S+, which is missing — run scripts\/setup\.sh/)
    assert.deepEqual(leftovers(lab), [], 'a refused lab up changes nothing')
  })

  it('lab up builds a primary, a streaming standby and the VIPs; again is a no-op', async (t) => {
    if (!prerequisites(t, {root: true, commands: LAB_COMMANDS})) return
    const r = await pgha(['lab', 'up', '--no-watch', ...args, '--json'], {timeoutMs: 180_000})
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(JSON.parse(r.stdout).result.changed, true)
    await waitStreaming(lab, '/usr/lib/postgresql/15/bin', 20_000)
    assert.equal((await nodePsql(labPgNode(lab, 'node1'), 'SELECT pg_is_in_recovery();')).trim(), 'f')
    assert.match(addrs(lab.hosts.node1.netns), /192\.0\.2\.100\/24/)
    assert.match(addrs(lab.hosts.node2.netns), /192\.0\.2\.101\/24/)
    // (This machine's own eth0 may sit in 192.0.2.0/24 itself; the lab's addresses must not.)
    const root = execFileSync('ip', ['-4', '-o', 'addr', 'show']).toString()
    for (const a of ['1', '11', '12', '100', '101', '201', '202'])
      assert.doesNotMatch(root, new RegExp(`inet 192\\.0\\.2\\.${a}/`), `the root namespace gets no lab address (.${a})`)
    const again = await pgha(['lab', 'up', '--no-watch', ...args, '--json'], {timeoutMs: 60_000})
    assert.equal(again.code, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).result.changed, false)
    assert.match(JSON.parse(again.stdout).result.summary, /already up/)
    const st = await pgha(['lab', 'status', ...args, '--json'], {timeoutMs: 60_000})
    assert.equal(st.code, 0, st.stderr)
    const hosts = JSON.parse(st.stdout).result.hosts
    assert.equal(hosts.node1.role, 'primary')
    assert.deepEqual(hosts.node1.vips, ['VIP-M'])
    assert.equal(hosts.node2.role, 'standby')
    assert.deepEqual(hosts.node2.vips, ['VIP-S'])
    assert.equal(hosts.node2.bmc, 'up')
    ready = true
  })

  it('lab power off through the BMC kills every process of the host and darkens its NIC; on brings it back', async (t) => {
    if (!ready) return t.skip('lab up failed')
    const h = lab.hosts.node2
    const before = hostPids(h)
    assert.ok(before.length >= 5, `node2 runs init + PostgreSQL (${before.length} pids)`)
    const off = await pgha(['lab', 'power', 'node2', 'off', ...args], {timeoutMs: 30_000})
    assert.equal(off.code, 0, off.stderr)
    assert.equal(powerState(h).on, false)
    // Gone, or a zombie waiting for this machine's PID 1 to reap it: nothing runs.
    for (const pid of before) assert.equal(processRuns(pid), false, `pid ${pid} of node2 still runs`)
    assert.doesNotMatch(addrs(h.netns), /192\.0\.2\./, 'no address (VIP-S included) answers on a powered-off host')
    const st = await pgha(['lab', 'power', 'node2', 'status', ...args, '--json'], {timeoutMs: 30_000})
    assert.equal(JSON.parse(st.stdout).result.power, 'off')
    const on = await pgha(['lab', 'power', 'node2', 'on', ...args], {timeoutMs: 30_000})
    assert.equal(on.code, 0, on.stderr)
    assert.equal(powerState(h).on, true)
    await waitStreaming(lab, '/usr/lib/postgresql/15/bin', 30_000) // bootstrap mode restarts PostgreSQL at boot

    // A powered-off host is a state of the lab, not damage: lab up powers it on, no rebuild.
    assert.equal((await pgha(['lab', 'power', 'node2', 'off', ...args], {timeoutMs: 30_000})).code, 0)
    const up = await pgha(['lab', 'up', '--no-watch', ...args, '--json'], {timeoutMs: 60_000})
    assert.equal(up.code, 0, up.stderr)
    assert.match(JSON.parse(up.stdout).result.summary, /was up: powered on node2/)
    await waitStreaming(lab, '/usr/lib/postgresql/15/bin', 30_000)
  })

  it('faults: crash-db, isolate/heal, freeze/thaw, bmc down/up', async (t) => {
    if (!ready) return t.skip('lab up failed')
    const arpGateway = () => {
      try {
        execFileSync('ip', ['netns', 'exec', lab.hosts.node1.netns, 'arping', '-c', '1', '-w', '1', '-I', 'eth0', '192.0.2.1'], {
          timeout: 5000,
          stdio: 'ignore',
        })
        return true
      } catch {
        return false
      }
    }
    assert.equal(arpGateway(), true)
    assert.equal((await pgha(['lab', 'isolate', 'node1', ...args])).code, 0)
    assert.equal(arpGateway(), false, 'an isolated host cannot reach the gateway')
    assert.equal((await pgha(['lab', 'heal', 'node1', ...args])).code, 0)
    assert.equal(arpGateway(), true)

    const frozen = await pgha(['lab', 'freeze', 'node1', ...args])
    assert.match(frozen.stdout, /froze \d+ PostgreSQL processes/)
    const stat = (pid: number) =>
      execFileSync('ps', ['-o', 'stat=', '-p', String(pid)])
        .toString()
        .trim()
    const pm = postmasterPid(lab.hosts.node1)!
    assert.match(stat(pm), /^T/, 'postmaster is stopped')
    await pgha(['lab', 'thaw', 'node1', ...args])
    assert.doesNotMatch(stat(pm), /^T/)

    const bmcDown = await pgha(['lab', 'bmc', 'node1', 'down', ...args])
    assert.equal(bmcDown.code, 0)
    const noAnswer = await pgha(['lab', 'power', 'node1', 'status', ...args], {timeoutMs: 30_000})
    assert.equal(noAnswer.code, 1, 'ipmitool gets no answer from a stopped BMC')
    assert.equal(powerState(lab.hosts.node1).on, true, 'the host keeps running without its BMC')
    assert.equal((await pgha(['lab', 'bmc', 'node1', 'up', ...args], {timeoutMs: 30_000})).code, 0)
    assert.equal((await pgha(['lab', 'power', 'node1', 'status', ...args], {timeoutMs: 30_000})).code, 0)

    const crash = await pgha(['lab', 'crash-db', 'node2', ...args])
    assert.match(crash.stdout, /killed the postmaster/)
    await sleep(300)
    assert.equal(postmasterPid(lab.hosts.node2), undefined)
  })

  it('lab load writes through VIP-M and logs every attempt', async (t) => {
    if (!ready) return t.skip('lab up failed')
    assert.equal((await pgha(['lab', 'load', 'start', ...args, '--run', 'basics'])).code, 0)
    await sleep(1500)
    const stop = await pgha(['lab', 'load', 'stop', ...args, '--json'])
    assert.equal(stop.code, 0, stop.stderr)
    const res = JSON.parse(stop.stdout).result
    assert.ok(res.acked >= 10, `acknowledged writes: ${res.acked}`)
    const rows = (await nodePsql(labPgNode(lab, 'node1'), "SELECT count(*) FROM lab_writes WHERE run = 'basics';", 'labload')).trim()
    assert.equal(Number(rows), res.acked, 'every acknowledged write is in the primary')
  })

  it('lab down removes namespaces, processes and files; again is harmless', async (t) => {
    if (!prerequisites(t, {root: true, commands: LAB_COMMANDS})) return
    const down = await pgha(['lab', 'down', ...args], {timeoutMs: 120_000})
    assert.equal(down.code, 0, down.stderr)
    assert.deepEqual(leftovers(lab), [])
    const again = await pgha(['lab', 'down', ...args], {timeoutMs: 60_000})
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /nothing to remove/)
  })
})

// VIP claim/release with real ip and arping on a throwaway namespace pair. The pgha CLI runs
// inside a host's namespace (`ip netns exec NS node bin/run.js ...`), exactly as a DBA would.
import assert from 'node:assert/strict'
import {execFile, execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {validateConfig} from '../../../src/lib/config/load.js'
import {createLabNetwork, destroyLabNetwork, type LabNetwork} from '../../../src/lib/lab/netns.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {arpDuplicateCheck, arpReachable, localAddresses, parseIpAddrJson} from '../../../src/lib/system/net.js'
import {ensureVipClaimed, ensureVipsReleased} from '../../../src/lib/steps/vip.js'
import {prerequisites} from '../../helpers/env.js'
import {RUN_JS} from '../../helpers/paths.js'

const BIN = RUN_JS
const PREFIX = `pgtB${process.pid}v`
const VIP_M = '192.0.2.100'
const VIP_S = '192.0.2.101'

interface CliRun {
  code: number
  stdout: string
  stderr: string
  json: any
  ms: number
}

function pgha(ns: string, args: string[]): Promise<CliRun> {
  const started = Date.now()
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, BIN, ...args], {timeout: 30_000, encoding: 'utf8'}, (err, stdout, stderr) => {
      let json: any
      try {
        json = JSON.parse(stdout)
      } catch {}
      resolve({code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, json, ms: Date.now() - started})
    })
  })
}

/** The addresses on eth0 of a lab host, read straight from the kernel. */
function addrsIn(ns: string): string[] {
  return parseIpAddrJson(execFileSync('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', 'eth0'], {encoding: 'utf8'})).map((e) => e.address)
}

/** Root namespace links and addresses. */
function rootSnapshot(): string[] {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], {encoding: 'utf8'})) as {ifname: string}[]
  const addrs = parseIpAddrJson(execFileSync('ip', ['-j', 'addr', 'show'], {encoding: 'utf8'}))
  return [...links.map((l) => `link ${l.ifname}`), ...addrs.map((a) => `addr ${a.address}/${a.prefix}`)].sort()
}

function hostConfig(dir: string, me: string, peer: string) {
  return {
    cluster: 'vip',
    node: {name: `n${me.split('.')[3]}`, address: me},
    peer: {name: `n${peer.split('.')[3]}`, address: peer},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: `${VIP_M}/24`, vipStandby: `${VIP_S}/24`, arpCount: 1},
    postgres: {bindir: '/usr/lib/postgresql/15/bin', datadir: join(dir, 'data')},
    fence: {agent: 'none'},
    timing: {probeTimeout: '1s'},
    stateDir: join(dir, 'state'),
  }
}

test('VIPs on a real namespace pair', async (t) => {
  if (!prerequisites(t, {root: true, commands: ['ip', 'arping']})) return
  const dir = mkdtempSync(join(tmpdir(), 'pgtB-vip-'))
  t.after(async () => {
    await destroyLabNetwork(PREFIX)
    rmSync(dir, {recursive: true, force: true})
  })
  execFileSync('mkdir', ['-p', join(dir, 'data'), join(dir, 'state')])
  const rawA = hostConfig(dir, '192.0.2.11', '192.0.2.12')
  const rawB = hostConfig(dir, '192.0.2.12', '192.0.2.11')
  const cfgA = join(dir, 'a.json')
  const cfgB = join(dir, 'b.json')
  writeFileSync(cfgA, JSON.stringify(rawA))
  writeFileSync(cfgB, JSON.stringify(rawB))
  const configA = validateConfig(rawA, cfgA)
  const configB = validateConfig(rawB, cfgB)

  const rootBefore = rootSnapshot()
  const created = Date.now()
  const lab: LabNetwork = await createLabNetwork({
    prefix: PREFIX,
    hosts: [
      {name: 'a', address: '192.0.2.11'},
      {name: 'b', address: '192.0.2.12'},
    ],
  })
  t.diagnostic(`lab network up in ${Date.now() - created} ms`)
  const nsA = lab.hosts.a.ns
  const nsB = lab.hosts.b.ns
  const inA = new SystemContext(lab.execIn('a'))

  await t.test('the lab is sealed: it added no address and no link to the root namespace', () => {
    // Compare with before, not with "none": this machine itself may sit in 192.0.2.0/24.
    const added = rootSnapshot().filter((x) => !rootBefore.includes(x))
    assert.deepEqual(
      added.filter((x) => x.startsWith('addr 192.0.2.') || x.startsWith(`link ${PREFIX}`)),
      [],
    )
    assert.ok(addrsIn(nsA).includes('192.0.2.11'))
    assert.ok(addrsIn(nsB).includes('192.0.2.12'))
  })

  await t.test('ARP probes: gateway reachable, unused address not; DAD sees host B, not a free address', async () => {
    assert.equal((await arpReachable(inA, 'eth0', '192.0.2.1', 1000)).reachable, true)
    const unused = await arpReachable(inA, 'eth0', '192.0.2.77', 1000)
    assert.equal(unused.reachable, false)
    assert.match(unused.detail, /did not answer/)
    const started = Date.now()
    const taken = await arpDuplicateCheck(inA, 'eth0', '192.0.2.12', 2000)
    const takenMs = Date.now() - started
    const free = await arpDuplicateCheck(inA, 'eth0', '192.0.2.77', 1000)
    t.diagnostic(`arping -D: taken answered in ${takenMs} ms, free took ${Date.now() - started - takenMs} ms (1 s budget)`)
    assert.equal(taken.state, 'taken')
    assert.equal(free.state, 'free')
    assert.equal((await arpDuplicateCheck(inA, 'eth9', '192.0.2.77', 1000)).state, 'unknown')
    assert.deepEqual(await localAddresses(inA, 'eth0', 2000), ['192.0.2.11/24'])
    await assert.rejects(localAddresses(inA, 'eth9', 2000), /cannot list addresses of eth9/)
  })

  await t.test('claim VIP-S on A: added with its label, then a second claim changes nothing', async () => {
    const first = await pgha(nsA, ['claim-vip', 'standby', '--config', cfgA, '--yes', '--json'])
    t.diagnostic(`claim-vip standby (CLI, incl. node start-up, 2 s DAD, 1 announce): ${first.ms} ms`)
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.json.result.changed, true)
    const entry = parseIpAddrJson(execFileSync('ip', ['-n', nsA, '-j', 'addr', 'show', 'dev', 'eth0'], {encoding: 'utf8'})).find(
      (e) => e.address === VIP_S,
    )
    assert.deepEqual(entry && {label: entry.label, prefix: entry.prefix}, {label: 'eth0:pgs', prefix: 24})
    const second = await pgha(nsA, ['claim-vip', 'standby', '--config', cfgA, '--json'])
    assert.equal(second.code, 0)
    assert.equal(second.json.result.changed, false)
    assert.match(second.json.result.summary, /already held/)
  })

  await t.test('B is refused (exit 3) while A holds VIP-S; nothing changes on B', async () => {
    const r = await pgha(nsB, ['claim-vip', 'standby', '--config', cfgB, '--json'])
    assert.equal(r.code, 3)
    assert.match(r.json.error.message, /VIP-S 192\.0\.2\.101 is answered by [0-9A-F:]{17} on eth0; refusing to claim it/)
    assert.ok(!addrsIn(nsB).includes(VIP_S))
    const human = await pgha(nsB, ['claim-vip', 'standby', '--config', cfgB])
    assert.equal(human.code, 3)
    assert.equal(human.stderr.split('\n').filter((l) => l.startsWith('pgha:')).length, 1)
  })

  await t.test('VIP-M is never forced: B refused with --force while A holds it', async () => {
    assert.equal((await pgha(nsA, ['claim-vip', 'primary', '--config', cfgA, '--json'])).code, 0)
    const forced = await pgha(nsB, ['claim-vip', 'primary', '--config', cfgB, '--force', '--yes', '--json'])
    assert.equal(forced.code, 3)
    assert.match(forced.json.error.message, /--force does not apply to VIP-M/)
    assert.ok(!addrsIn(nsB).includes(VIP_M))
    const unconfirmed = await pgha(nsB, ['claim-vip', 'standby', '--config', cfgB, '--force', '--json'])
    assert.equal(unconfirmed.code, 2) // --force needs confirmation; no TTY, no --yes
  })

  await t.test('release-vips needs confirmation, releases VIP-S only, then is a no-op', async () => {
    const unconfirmed = await pgha(nsA, ['release-vips', '--config', cfgA, '--json'])
    assert.equal(unconfirmed.code, 2)
    assert.ok(addrsIn(nsA).includes(VIP_S))
    const r = await pgha(nsA, ['release-vips', '--config', cfgA, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.result.changed, true)
    assert.deepEqual(r.json.result.released, [{which: 'standby', vip: `${VIP_S}/24`}])
    assert.ok(!addrsIn(nsA).includes(VIP_S))
    assert.ok(addrsIn(nsA).includes(VIP_M))
    const again = await pgha(nsA, ['release-vips', '--config', cfgA, '--yes', '--json'])
    assert.equal(again.json.result.changed, false)
  })

  await t.test('dry-run on B records the exact argv and changes nothing', async () => {
    const r = await pgha(nsB, ['claim-vip', 'standby', '--config', cfgB, '--dry-run', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.dryRun, true)
    assert.equal(r.json.result.changed, false)
    assert.deepEqual(
      r.json.plan.map((p: {argv: string[]}) => p.argv),
      [
        ['ip', 'addr', 'add', `${VIP_S}/24`, 'dev', 'eth0', 'label', 'eth0:pgs'],
        ['arping', '-U', '-I', 'eth0', '-c', '1', '-w', '1', VIP_S],
      ],
    )
    assert.ok(!addrsIn(nsB).includes(VIP_S))
    const human = await pgha(nsB, ['release-vips', '--config', cfgB, '--all', '--dry-run'])
    assert.match(human.stdout, /not held here; nothing to do/)
  })

  await t.test('after A released it, B claims VIP-S; release-vips --all clears both hosts', async () => {
    const r = await pgha(nsB, ['claim-vip', 'standby', '--config', cfgB, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(addrsIn(nsB).includes(VIP_S))
    const all = await pgha(nsB, ['release-vips', '--all', '--config', cfgB, '--yes', '--json'])
    assert.equal(all.code, 0)
    assert.deepEqual(all.json.result.released, [{which: 'standby', vip: `${VIP_S}/24`}])
    assert.match(all.json.result.summary, /VIP-M 192\.0\.2\.100 is not held here/)
    const inProcess = await ensureVipsReleased(inA, configA, {all: true})
    assert.deepEqual(inProcess.released, [{which: 'primary', vip: `${VIP_M}/24`}])
    assert.deepEqual(
      addrsIn(nsA).filter((a) => a.startsWith('192.0.2.')),
      ['192.0.2.11'],
    )
    assert.deepEqual(
      addrsIn(nsB).filter((a) => a.startsWith('192.0.2.')),
      ['192.0.2.12'],
    )
  })

  await t.test('releasing a VIP that is the first address of its subnet keeps the host address', async () => {
    const ipB = (...args: string[]) => execFileSync('ip', ['-n', nsB, ...args])
    ipB('addr', 'del', '192.0.2.12/24', 'dev', 'eth0')
    ipB('addr', 'add', `${VIP_S}/24`, 'dev', 'eth0', 'label', 'eth0:pgs')
    ipB('addr', 'add', '192.0.2.12/24', 'dev', 'eth0')
    execFileSync('ip', ['netns', 'exec', nsB, 'sysctl', '-q', '-w', 'net.ipv4.conf.eth0.promote_secondaries=0'])
    const out = await ensureVipsReleased(new SystemContext(lab.execIn('b')), configB)
    assert.equal(out.changed, true)
    assert.deepEqual(
      addrsIn(nsB).filter((a) => a.startsWith('192.0.2.')),
      ['192.0.2.12'],
    )
  })

  await t.test("the watch's claim returns with the address serving while its gratuitous ARPs run on beside the loop", async () => {
    const three = {...configA, network: {...configA.network, arpCount: 3}}
    const arpingFor = () =>
      execFileSync('ps', ['-ww', '-eo', 'args'], {encoding: 'utf8'})
        .split('\n')
        .filter((l) => l.includes('arping -U') && l.includes(VIP_S) && !l.includes('ps -eo'))
    const r = await ensureVipClaimed(inA, three, 'standby', {announce: 'beside'})
    await new Promise((res) => setTimeout(res, 300)) // let the exec layer spawn it (3 ARPs take 3 s)
    const running = arpingFor()
    assert.equal(r.changed, true)
    assert.match(r.summary, /claimed VIP-S 192\.0\.2\.101\/24 on eth0 as eth0:pgs, announcing with 3 gratuitous ARPs beside the loop/)
    assert.ok(addrsIn(nsA).includes(VIP_S), 'the address is on the interface when the step returns')
    assert.equal(running.length, 1, `the announcement is still running: ${running.join(' | ')}`)
    for (let i = 0; i < 50 && arpingFor().length > 0; i++) await new Promise((res) => setTimeout(res, 100))
    assert.deepEqual(arpingFor(), [], 'the announcement ends by itself (bounded)')
    await ensureVipsReleased(inA, configA)
    assert.ok(!addrsIn(nsA).includes(VIP_S))
  })

  await t.test('a host cut off the bridge cannot reach the gateway; reconnected it can', async () => {
    await lab.setHostConnected('a', false)
    assert.equal((await arpReachable(inA, 'eth0', '192.0.2.1', 1000)).reachable, false)
    await lab.setHostConnected('a', true)
    assert.equal((await arpReachable(inA, 'eth0', '192.0.2.1', 1000)).reachable, true)
  })

  await t.test('destroy removes every namespace of the lab', async () => {
    const removed = await lab.destroy()
    assert.deepEqual(removed.namespaces.sort(), [`${PREFIX}-a`, `${PREFIX}-b`, `${PREFIX}-gw`])
    const left = execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'})
    assert.ok(!left.includes(`${PREFIX}-`))
  })
})

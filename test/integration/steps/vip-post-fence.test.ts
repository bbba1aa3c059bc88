// The loop's post-fence VIP-M check (one DAD probe, a sub-second reply window, started once the
// power-off is verified) with real ip and arping in a namespace pair: another host holding
// VIP-M is seen and the claim refused; a silent VIP-M is free well inside one arping second.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {validateConfig} from '../../../src/lib/config/load.js'
import {SafetyRefusal} from '../../../src/lib/errors.js'
import {createLabNetwork, destroyLabNetwork} from '../../../src/lib/lab/netns.js'
import {POST_FENCE_ARP_WINDOW_MS, runAction} from '../../../src/lib/loop/actions.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {arpDuplicateWithin, parseIpAddrJson} from '../../../src/lib/system/net.js'
import {prerequisites} from '../../helpers/env.js'

const PREFIX = `jbf${process.pid}`
const VIP_M = '192.0.2.100'

const addrsIn = (ns: string) =>
  parseIpAddrJson(execFileSync('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', 'eth0'], {encoding: 'utf8'})).map((e) => e.address)

test('post-fence VIP-M check on a real namespace pair', async (t) => {
  if (!prerequisites(t, {root: true, commands: ['ip', 'arping']})) return
  const dir = mkdtempSync(join(tmpdir(), 'jbf-vip-'))
  t.after(async () => {
    await destroyLabNetwork(PREFIX)
    rmSync(dir, {recursive: true, force: true})
  })
  execFileSync('mkdir', ['-p', join(dir, 'data'), join(dir, 'state')])
  const cfg = validateConfig(
    {
      cluster: 'vip',
      node: {name: 'n11', address: '192.0.2.11'},
      peer: {name: 'n12', address: '192.0.2.12'},
      network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: `${VIP_M}/24`, vipStandby: '192.0.2.101/24', arpCount: 1},
      postgres: {bindir: '/usr/lib/postgresql/15/bin', datadir: join(dir, 'data')},
      fence: {agent: 'none'},
      timing: {probeTimeout: '1s'},
      stateDir: join(dir, 'state'),
    },
    join(dir, 'a.json'),
  )
  const lab = await createLabNetwork({
    prefix: PREFIX,
    hosts: [
      {name: 'a', address: '192.0.2.11'},
      {name: 'b', address: '192.0.2.12'},
    ],
  })
  const inA = new SystemContext(lab.execIn('a'))
  const nsB = lab.hosts.b.ns

  await t.test('another host holding VIP-M after the fence: seen within the window, VIP-M not claimed', async () => {
    execFileSync('ip', ['-n', nsB, 'addr', 'add', `${VIP_M}/24`, 'dev', 'eth0'])
    const started = Date.now()
    const check = arpDuplicateWithin(inA, 'eth0', VIP_M, POST_FENCE_ARP_WINDOW_MS)
    const verdict = await check
    t.diagnostic(`taken seen in ${Date.now() - started} ms: ${verdict.detail}`)
    assert.equal(verdict.state, 'taken')
    // The loop hands the same check to the claim (ActionCarry.vipMCheck).
    await assert.rejects(
      runAction(inA, cfg, 'claimVipPrimary', {actions: ['fencePeer', 'promote', 'claimVipPrimary']}, {}, {vipMCheck: check}),
      (e: unknown) => e instanceof SafetyRefusal && /refusing to claim it/.test((e as Error).message),
    )
    assert.ok(!addrsIn(lab.hosts.a.ns).includes(VIP_M), 'VIP-M must not be on host a')
    execFileSync('ip', ['-n', nsB, 'addr', 'del', `${VIP_M}/24`, 'dev', 'eth0'])
  })

  await t.test('nobody holds VIP-M: free when the window ends, then claimed', async () => {
    const started = Date.now()
    const check = arpDuplicateWithin(inA, 'eth0', VIP_M, POST_FENCE_ARP_WINDOW_MS)
    const verdict = await check
    const ms = Date.now() - started
    t.diagnostic(`free after ${ms} ms: ${verdict.detail}`)
    assert.equal(verdict.state, 'free', verdict.detail)
    assert.ok(ms < 1000, `stopped at the window, not arping's whole second (${ms} ms)`)
    await runAction(inA, cfg, 'claimVipPrimary', {actions: ['fencePeer', 'promote', 'claimVipPrimary']}, {}, {vipMCheck: check})
    assert.ok(addrsIn(lab.hosts.a.ns).includes(VIP_M))
  })

  await t.test('a probe that cannot be sent (no such interface) is no verdict, never free', async () => {
    assert.equal((await arpDuplicateWithin(inA, 'eth9', VIP_M, POST_FENCE_ARP_WINDOW_MS)).state, 'unknown')
  })
})

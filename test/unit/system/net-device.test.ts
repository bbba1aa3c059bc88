/** network.interface existence through the real `ip link show` (no root needed). */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {type Exec, realExec, SystemContext} from '../../../src/lib/system/exec.js'
import {classifyLinkShow, ensureInterfaceExists, InterfaceCheck, interfaceState} from '../../../src/lib/system/net-device.js'

const ctx = new SystemContext()

test('ip link show: lo exists, a well-formed name that is no device does not', async () => {
  assert.equal(await interfaceState(ctx, 'lo', 2000), 'yes')
  assert.equal(await interfaceState(ctx, 'houtnope0', 2000), 'no')
  await assert.rejects(ensureInterfaceExists(ctx, 'houtnope0', 2000), (e: Error & {exitCode?: number}) => {
    assert.equal(e.message, 'network.interface houtnope0 does not exist on this host')
    assert.equal(e.exitCode, 2)
    return true
  })
  await ensureInterfaceExists(ctx, 'lo', 2000)
})

test('ip failing for another reason (or timing out) is unknown, never "missing"', () => {
  assert.equal(classifyLinkShow({exitCode: 0, stderr: '', timedOut: false}), 'yes')
  assert.equal(classifyLinkShow({exitCode: 1, stderr: 'Device "x" does not exist.', timedOut: false}), 'no')
  assert.equal(classifyLinkShow({exitCode: 127, stderr: 'ip: command not found', timedOut: false}), 'unknown')
  assert.equal(classifyLinkShow({exitCode: -1, stderr: '', timedOut: true}), 'unknown')
})

test('the loop asks at most once per ttl', async () => {
  let calls = 0
  const counting: Exec = {run: (argv, o) => (calls++, realExec.run(argv, o))}
  const check = new InterfaceCheck(new SystemContext(counting), 'houtnope0', 2000, 10_000)
  assert.equal(await check.missing(1000), true)
  assert.equal(await check.missing(5000), true)
  assert.equal(calls, 1)
  assert.equal(await check.missing(11_000), true)
  assert.equal(calls, 2)
})

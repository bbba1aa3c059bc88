/**
 * Every step returns within its documented bound against a frozen server (the postmaster of
 * a real primary on 127.0.0.1:55615 is SIGSTOPped; stepTimeout 10s, probeTimeout 2s) and a
 * blackholed BMC (a UDP socket on 127.0.0.1:55640 that reads and never answers; fence.timeout
 * 5s). Times are measured through the real CLI (node start-up included) and printed.
 */
import assert from 'node:assert/strict'
import {createSocket, type Socket} from 'node:dgram'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {type CliResult, runCli} from '../../helpers/cli.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, tempRoot, type TestNode, writePassfile} from '../../helpers/pg.js'

const STEP_MS = 10_000
const PROBE_MS = 2000
const FENCE_MS = 5000
const MARGIN_MS = 3000
const BMC_PORT = 55640

describe('bounded against a frozen server and a blackholed BMC', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser', 'ipmitool']}
  let primary: TestNode
  let configFile = ''
  let ready = false
  const measured: string[] = []

  const timed = async (args: string[], boundMs: number): Promise<CliResult> => {
    const r = await runCli(configFile, [...args, '--json'], {timeoutMs: boundMs + 30_000})
    measured.push(`${args.join(' ')}: ${r.durationMs} ms (bound ${boundMs} ms), exit ${r.code}`)
    console.log(`# measured ${measured.at(-1)}`)
    assert.ok(
      r.durationMs <= boundMs + MARGIN_MS,
      `${args.join(' ')} took ${r.durationMs} ms, bound ${boundMs} ms + ${MARGIN_MS} ms margin`,
    )
    return r
  }

  before(async () => {
    if (!isRoot() || !hasCommand('runuser') || !hasCommand('ipmitool')) return
    const root = tempRoot(c, 'hpg-frozen')
    const passfile = writePassfile(root)
    primary = await startPrimary(c, root, passfile, 55615)
    await ensureInit(new SystemContext(), primary.cfg, {password: HB_PASSWORD})
    const pwFile = join(root, 'bmc.password')
    writeFileSync(pwFile, 'bmc-secret\n', {mode: 0o600})
    const bmc: Socket = createSocket('udp4')
    bmc.on('message', () => undefined) // swallow every RMCP packet: a BMC that never answers
    await new Promise<void>((resolve) => bmc.bind(BMC_PORT, '127.0.0.1', resolve))
    c.add(() => bmc.close())
    const p = primary.cfg.postgres
    configFile = join(root, 'pgha.yaml')
    writeFileSync(
      configFile,
      YAML.stringify({
        cluster: 'hpgfrozen',
        node: {name: 'node1', address: '192.0.2.11'},
        peer: {name: 'node2', address: '192.0.2.12'},
        network: {interface: 'hpgnone0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
        postgres: {bindir: p.bindir, datadir: p.datadir, port: p.port, socketDir: p.socketDir, passfile, stepTimeout: `${STEP_MS}ms`},
        fence: {agent: 'ipmitool', address: '127.0.0.1', port: BMC_PORT, user: 'admin', passwordFile: pwFile, timeout: `${FENCE_MS}ms`},
        timing: {probeTimeout: `${PROBE_MS}ms`},
        stateDir: join(root, 'state'),
      }),
    )
    const pid = Number(readFileSync(join(p.datadir, 'postmaster.pid'), 'utf8').split('\n')[0])
    process.kill(pid, 'SIGSTOP')
    c.add(() => process.kill(pid, 'SIGCONT')) // runs before the node is destroyed (last in, first out)
    ready = true
  })
  after(async () => {
    if (measured.length) console.log(`# frozen-server bounds:\n#   ${measured.join('\n#   ')}`)
    await c.run()
  })

  test('detect-role: within min(stepTimeout, 10 s), and it says the server is not answering', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await timed(['detect-role'], Math.min(STEP_MS, 10_000))
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json?.result?.answering, false)
    assert.match(String(r.json?.result?.summary), /not answering/)
  })

  test('heartbeat: within probeTimeout, exit 1', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await timed(['heartbeat'], PROBE_MS)
    assert.equal(r.code, 1, r.stdout + r.stderr)
  })

  test('promote --yes on a frozen primary: within stepTimeout, exit 1 "not answering" (never "already primary")', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await timed(['promote', '--yes'], STEP_MS)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.json?.error?.message ?? '', /not answering/)
    assert.doesNotMatch(r.stdout + r.stderr, /already primary/)
  })

  test('start-db: within stepTimeout (the server runs: nothing to do)', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await timed(['start-db', '--force', '--yes'], STEP_MS)
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })

  test('stop-db --yes: within stepTimeout, exit 1 (a frozen server cannot shut down)', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await timed(['stop-db', '--yes'], STEP_MS)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.json?.error?.message ?? '', /did not stop/)
  })

  test('fence-peer against a BMC that never answers: within fence.timeout, exit 1 naming the BMC', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await timed(['fence-peer', '--yes'], FENCE_MS)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.json?.error?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${BMC_PORT}`))
    assert.doesNotMatch(r.stdout + r.stderr, /bmc-secret/)
  })
})

// fence-peer against a real BMC: ipmi_sim in a throwaway network namespace, driven by real
// ipmitool (and fence_ipmilan when installed). The peer "host" is a sleep started by the
// chassis program; power off must really kill it.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {it, type TestContext} from 'node:test'
import {validateConfig} from '../../../src/lib/config/load.js'
import type {Config} from '../../../src/lib/config/schema.js'
import {labChassisProgram, processRuns, type RunningBmc, runLabChassis, startBmc} from '../../../src/lib/lab/bmc.js'
import {ensurePeerFenced} from '../../../src/lib/steps/fence-peer.js'
import {type Exec, realExec, type RunResult, SystemContext} from '../../../src/lib/system/exec.js'
import {fencePower} from '../../../src/lib/system/fence.js'
import {prerequisites} from '../../helpers/env.js'

const NS = `pgtC${process.pid}`
const BMC_ADDR = '192.0.2.201'
const BMC_PORT = 6230
const DEAD_PORT = 6299 // nothing listens here
const PASSWORD = `pw${process.pid}Xq`
const BINDIR = '/usr/lib/postgresql/15/bin'

const sh = (argv: string[], timeoutMs = 10_000) => realExec.run(argv, {timeoutMs})
/** Runs every command inside the test namespace, where the BMC is. */
const nsExec: Exec = {run: (argv, o) => realExec.run(['ip', 'netns', 'exec', NS, ...argv], o)}
const hostPid = (hostDir: string) => Number(readFileSync(join(hostDir, 'host.pid'), 'utf8').split(' ')[0])

/** Samples every process's argv while `during` runs: proves the password never shows in ps. */
async function watchArgv<T>(during: Promise<T>): Promise<{value: T; sawIpmitool: boolean; leaked: string[]}> {
  let done = false
  let sawIpmitool = false
  const leaked: string[] = []
  const sampler = (async () => {
    while (!done) {
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let cmd = ''
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
        } catch {
          continue
        }
        if (/^(\/usr\/bin\/)?ipmitool /.test(cmd)) sawIpmitool = true
        if (cmd.includes(PASSWORD)) leaked.push(cmd)
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  try {
    return {value: await during, sawIpmitool, leaked}
  } finally {
    done = true
    await sampler
  }
}

it('fence-peer powers a real BMC host off and on, bounded and without leaking the password', async (t: TestContext) => {
  if (!prerequisites(t, {root: true, commands: ['ip', 'ipmitool', 'ipmi_sim', 'setsid', 'flock']})) return
  const tmp = mkdtempSync(join(tmpdir(), 'pgha-fence-'))
  const hostDir = join(tmp, 'host')
  let bmc: RunningBmc | undefined
  t.after(async () => {
    await bmc?.stop()
    await runLabChassis(hostDir, ['set', 'power', '0']).catch(() => undefined)
    await sh(['ip', 'netns', 'del', NS])
    rmSync(tmp, {recursive: true, force: true})
  })

  await sh(['ip', 'netns', 'del', NS]) // leftover of a crashed run with our pid
  for (const argv of [
    ['ip', 'netns', 'add', NS],
    ['ip', '-n', NS, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', NS, 'addr', 'add', `${BMC_ADDR}/32`, 'dev', 'lo'],
  ]) {
    const r = await sh(argv)
    assert.equal(r.exitCode, 0, `${argv.join(' ')}: ${r.stderr}`)
  }
  mkdirSync(hostDir)
  writeFileSync(join(hostDir, 'start'), '#!/bin/sh\nexec sleep 600\n', {mode: 0o755})
  mkdirSync(join(tmp, 'data'))
  const pwFile = join(tmp, 'fence.password')
  writeFileSync(pwFile, PASSWORD + '\n', {mode: 0o600})
  const wrongPwFile = join(tmp, 'wrong.password')
  writeFileSync(wrongPwFile, 'not-the-password\n', {mode: 0o600})

  const raw = (fence: Record<string, unknown>) => ({
    cluster: 'fencetest',
    node: {name: 'node1', address: '192.0.2.11'},
    peer: {name: 'node2', address: '192.0.2.12'},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {bindir: BINDIR, datadir: join(tmp, 'data')},
    fence: {agent: 'ipmitool', address: BMC_ADDR, port: BMC_PORT, user: 'admin', passwordFile: pwFile, timeout: '5s', ...fence},
    stateDir: join(tmp, 'state'),
  })
  const configFile = (name: string, fence: Record<string, unknown> = {}) => {
    const file = join(tmp, `${name}.json`)
    writeFileSync(file, JSON.stringify(raw(fence)))
    return file
  }
  const cfgOf = (fence: Record<string, unknown> = {}): Config => validateConfig(raw(fence), 'test', {checkFiles: true})
  const cli = async (args: string[]): Promise<RunResult & {json?: any}> => {
    const r = await nsExec.run([process.execPath, resolve('bin/run.js'), 'fence-peer', ...args], {timeoutMs: 60_000})
    let json: any
    try {
      json = JSON.parse(r.stdout)
    } catch {}
    return {...r, json}
  }

  bmc = await startBmc({
    name: 'peer-bmc',
    stateDir: join(tmp, 'bmc'),
    listenAddress: BMC_ADDR,
    port: BMC_PORT,
    user: 'admin',
    password: PASSWORD,
    chassisProgram: [labChassisProgram(), hostDir],
    wrap: ['ip', 'netns', 'exec', NS],
  })
  assert.ok(processRuns(bmc.pid), 'ipmi_sim runs')
  assert.equal(statSync(join(tmp, 'bmc', 'lan.conf')).mode & 0o777, 0o600, 'LAN.CONF holds the BMC password: mode 600')
  assert.equal((await runLabChassis(hostDir, ['set', 'power', '1'])).exitCode, 0)
  const firstHost = hostPid(hostDir)
  assert.ok(processRuns(firstHost), 'the host runs')
  const okCfg = configFile('ok')

  await t.test('status reports on', async () => {
    const r = await fencePower(new SystemContext(nsExec), cfgOf().fence, 'status')
    assert.deepEqual(r, {ok: true, power: 'on', detail: `BMC ${BMC_ADDR}:${BMC_PORT}: Chassis Power is on`})
  })

  await t.test('--dry-run prints the argv without the password and powers nothing off', async () => {
    const r = await cli(['--config', okCfg, '--dry-run'])
    assert.equal(r.exitCode, 0, r.stderr)
    assert.match(r.stdout, /ipmitool -v -I lanplus -C 3 -H 192\.0\.2\.201 -p 6230 -U admin -E -N 1 -R 1 chassis power off/)
    assert.match(r.stdout, /would power off peer node2/)
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD))
    assert.ok(processRuns(firstHost), 'host still runs after a dry run')
  })

  await t.test('wrong password: one clear line, exit 1, host untouched', async () => {
    const r = await cli(['--config', configFile('wrongpw', {passwordFile: wrongPwFile}), '--yes'])
    assert.equal(r.exitCode, 1)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0], /cannot power off peer node2 .* via BMC ipmitool 192\.0\.2\.201:6230 .*rejected the password for user "admin"/)
    assert.ok(processRuns(firstHost), 'host still runs')
  })

  await t.test('off (real CLI, --json) kills the host, verifies, never shows the password', async () => {
    const {value: r, sawIpmitool, leaked} = await watchArgv(cli(['--config', okCfg, '--yes', '--json']))
    assert.equal(r.exitCode, 0, r.stderr)
    assert.equal(r.json.status, 'ok')
    assert.equal(r.json.result.changed, true)
    assert.equal(r.json.result.power, 'off')
    assert.equal(r.json.result.attempts, 1)
    assert.ok(!processRuns(firstHost), 'the host process is gone')
    assert.ok(sawIpmitool, 'the argv sampler saw ipmitool run (so it could have seen a leak)')
    assert.deepEqual(leaked, [])
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD))
  })

  await t.test('off again is a no-op; status reports off', async () => {
    const again = await cli(['--config', okCfg, '--yes', '--json'])
    assert.equal(again.exitCode, 0, again.stderr)
    assert.equal(again.json.result.changed, false)
    assert.match(again.json.result.summary, /already off/)
    const status = await cli(['--config', okCfg, '--action', 'status', '--json'])
    assert.equal(status.exitCode, 0, status.stderr)
    assert.equal(status.json.result.power, 'off')
  })

  await t.test('destructive actions refuse without a terminal and without --yes (exit 2)', async () => {
    const r = await cli(['--config', okCfg, '--action', 'on'])
    assert.equal(r.exitCode, 2)
    assert.match(r.stderr, /refusing without confirmation/)
  })

  await t.test('on starts the host again; a timed off kills it', async () => {
    const started = performance.now()
    const out = await ensurePeerFenced(new SystemContext(nsExec), cfgOf(), {action: 'on', retry: false, maxWaitMs: 5000})
    t.diagnostic(`ensurePeerFenced on (status, on, verify) took ${Math.round(performance.now() - started)} ms in-process`)
    assert.equal(out.changed, true)
    assert.equal(out.power, 'on')
    const second = hostPid(hostDir)
    assert.ok(processRuns(second))
    assert.notEqual(second, firstHost)
    const t0 = performance.now()
    const off = await cli(['--config', okCfg, '--yes', '--json'])
    t.diagnostic(`pgha fence-peer off (node start, status, off, verify) took ${Math.round(performance.now() - t0)} ms end to end`)
    assert.equal(off.exitCode, 0, off.stderr)
    assert.equal(off.json.result.changed, true)
    assert.ok(!processRuns(second))
  })

  await t.test('command agent: ipmitool as a configured command, password via IPMI_PASSWORD', async () => {
    const fence = cfgOf({
      agent: 'command',
      command: [
        'ipmitool',
        '-I',
        'lanplus',
        '-C',
        '3',
        '-H',
        '{address}',
        '-p',
        '{port}',
        '-U',
        '{user}',
        '-E',
        '-N',
        '1',
        '-R',
        '1',
        'chassis',
        'power',
        '{action}',
      ],
    }).fence
    const ctx = new SystemContext(nsExec)
    assert.deepEqual(await fencePower(ctx, fence, 'on'), {ok: true, power: 'on', detail: `BMC ${BMC_ADDR}: Chassis Power Control: Up/On`})
    assert.equal((await fencePower(ctx, fence, 'status')).power, 'on')
    assert.equal((await fencePower(ctx, fence, 'off')).ok, true)
    assert.equal((await fencePower(ctx, fence, 'status')).power, 'off')
  })

  await t.test('fence-agent: fence_ipmilan over its stdin protocol', async (st) => {
    if (!prerequisites(st, {commands: ['fence_ipmilan']})) return // Debian package fence-agents
    const cfg = cfgOf({agent: 'fence-agent', name: 'fence_ipmilan', options: {lanplus: '1', cipher: '3', power_wait: '0'}, timeout: '15s'})
    const on = await ensurePeerFenced(new SystemContext(nsExec), cfg, {action: 'on', retry: false, maxWaitMs: 15_000})
    assert.equal(on.power, 'on')
    const pid = hostPid(hostDir)
    const {value: off, leaked} = await watchArgv(
      ensurePeerFenced(new SystemContext(nsExec), cfg, {action: 'off', retry: false, maxWaitMs: 15_000}),
    )
    assert.equal(off.changed, true)
    assert.equal(off.power, 'off')
    assert.ok(!processRuns(pid))
    // fence_ipmilan itself passes -P to ipmitool (its business); pgha's own argv to it has no password.
    assert.ok(
      leaked.every((cmd) => /^\/usr\/bin\/ipmitool .* -P /.test(cmd)),
      leaked.join('\n'),
    )
  })

  await t.test('BMC that does not answer: bounded by fence.timeout, exit 1', async () => {
    const started = performance.now()
    const r = await cli(['--config', configFile('dead', {port: DEAD_PORT, timeout: '3s'}), '--yes'])
    const ms = Math.round(performance.now() - started)
    t.diagnostic(`unreachable BMC: CLI gave up after ${ms} ms (fence.timeout 3s)`)
    assert.equal(r.exitCode, 1)
    const m = /\(1 attempt in ([\d.]+) s\): BMC 192\.0\.2\.201:6299 did not answer/.exec(r.stderr)
    assert.ok(m, r.stderr)
    assert.ok(Number(m[1]) <= 4.0, `fencing took ${m[1]} s, over fence.timeout`)
  })

  await t.test('a hung BMC (SIGSTOP) is cut off at the timeout', async () => {
    process.kill(bmc!.pid, 'SIGSTOP')
    try {
      const started = performance.now()
      const r = await fencePower(new SystemContext(nsExec), cfgOf().fence, 'status', {timeoutMs: 1500})
      const ms = performance.now() - started
      assert.equal(r.ok, false)
      assert.match(r.detail, /did not answer/)
      assert.ok(ms < 1500 + 1500, `took ${ms} ms`)
    } finally {
      process.kill(bmc!.pid, 'SIGCONT')
    }
  })

  await t.test('--retry gives up after --max-wait', async () => {
    const started = performance.now()
    const r = await cli(['--config', configFile('dead-retry', {port: DEAD_PORT, timeout: '3s'}), '--yes', '--retry', '--max-wait', '4s'])
    const ms = Math.round(performance.now() - started)
    t.diagnostic(`--retry --max-wait 4s against a dead BMC gave up after ${ms} ms`)
    assert.equal(r.exitCode, 1)
    const m = /\((\d+) attempts in ([\d.]+) s\)/.exec(r.stderr)
    assert.ok(m, r.stderr)
    assert.ok(Number(m[1]) >= 2, `only ${m[1]} attempt(s)`)
    assert.ok(Number(m[2]) <= 5.0, `retried for ${m[2]} s, over --max-wait`)
  })
})

import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatPlanned} from '../../../src/base-command.js'
import {validateConfig} from '../../../src/lib/config/load.js'
import type {Config} from '../../../src/lib/config/schema.js'
import {StepFailedError} from '../../../src/lib/errors.js'
import {EMU_CMDS, lanConf} from '../../../src/lib/lab/bmc.js'
import {backoffMs, ensurePeerFenced} from '../../../src/lib/steps/fence-peer.js'
import {type Exec, type RunOptions, SystemContext} from '../../../src/lib/system/exec.js'
import {
  type AgentRun,
  buildCommandArgv,
  buildFenceAgentArgv,
  buildFenceAgentInput,
  buildIpmitoolArgv,
  commandEnv,
  commandStatus,
  explainFenceAgentFailure,
  explainIpmitoolFailure,
  fenceAgentStatusFromExit,
  ipmitoolTiming,
  parseIpmitoolPower,
} from '../../../src/lib/system/fence-argv.js'
import {fencePower} from '../../../src/lib/system/fence.js'

const SECRET = 'S3cr3t-pw!'
const PW_ENV = 'PGHA_UNIT_FENCE_PW'
process.env[PW_ENV] = SECRET

function config(fence: Record<string, unknown>): Config {
  return validateConfig(
    {
      cluster: 'unit',
      node: {name: 'node1', address: '192.0.2.11'},
      peer: {name: 'node2', address: '192.0.2.12'},
      network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
      postgres: {datadir: '/nonexistent'},
      fence: {address: '192.0.2.201', port: 6230, user: 'admin', passwordEnv: PW_ENV, timeout: '5s', ...fence},
    },
    'unit.yaml',
    {checkFiles: false},
  )
}
const ipmi = config({agent: 'ipmitool'}).fence
const run = (o: Partial<AgentRun>): AgentRun => ({exitCode: 1, stdout: '', stderr: '', timedOut: false, durationMs: 50, ...o})

describe('ipmitool argv', () => {
  it('builds lanplus with cipher suite, -E, bounded -N/-R and never -P', () => {
    assert.deepEqual(buildIpmitoolArgv(ipmi, 'off', 5000), [
      'ipmitool',
      '-v',
      '-I',
      'lanplus',
      '-C',
      '3',
      '-H',
      '192.0.2.201',
      '-p',
      '6230',
      '-U',
      'admin',
      '-E',
      '-N',
      '1',
      '-R',
      '1',
      'chassis',
      'power',
      'off',
    ])
    for (const a of ['off', 'on', 'reboot', 'status'] as const) {
      const argv = buildIpmitoolArgv(ipmi, a, 20_000)
      assert.ok(!argv.includes('-P') && !argv.join(' ').includes(SECRET), argv.join(' '))
    }
    assert.equal(buildIpmitoolArgv(ipmi, 'reboot', 5000).at(-1), 'cycle')
  })
  it('drops -C for the lan interface', () => {
    const lan = config({agent: 'ipmitool', ipmi: {interface: 'lan'}}).fence
    assert.ok(!buildIpmitoolArgv(lan, 'status', 5000).includes('-C'))
  })
  it('keeps ipmitool retries inside the budget (measured: N1R1≈2s, N1R2≈6s, N2R2≈10s)', () => {
    const worst = ({timeoutSec: n, retries: r}: {timeoutSec: number; retries: number}) =>
      (({'1/1': 2000, '1/2': 6000, '2/2': 10_000}) as Record<string, number>)[`${n}/${r}`]
    for (const budget of [1000, 3000, 6999, 7000, 11_999, 12_000, 20_000, 60_000]) {
      const t = ipmitoolTiming(budget)
      assert.ok(worst(t) !== undefined, `unmeasured combination ${JSON.stringify(t)}`)
      if (budget >= 3000) assert.ok(worst(t) < budget, `budget ${budget}: ${JSON.stringify(t)}`)
    }
    assert.deepEqual(ipmitoolTiming(20_000), {timeoutSec: 2, retries: 2})
  })
  it('parses the power state', () => {
    assert.equal(parseIpmitoolPower('Chassis Power is on'), 'on')
    assert.equal(parseIpmitoolPower('Chassis Power is off\n'), 'off')
    assert.equal(parseIpmitoolPower('Chassis Power Control: Down/Off'), 'unknown')
  })
  it('explains failures in one line from -v diagnostics', () => {
    const noise = 'Loading IANA PEN Registry...\n'
    assert.match(
      explainIpmitoolFailure(run({stderr: noise + '> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session'}), ipmi),
      /rejected the password for user "admin"/,
    )
    assert.match(
      explainIpmitoolFailure(run({stderr: 'RAKP 2 message indicates an error : unauthorized name\nError: Unable'}), ipmi),
      /does not know user "admin"/,
    )
    assert.match(
      explainIpmitoolFailure(
        run({stderr: 'Get Auth Capabilities error\nError: Unable to establish IPMI v2 / RMCP+ session', durationMs: 2080}),
        ipmi,
      ),
      /^BMC 192.0.2.201:6230 did not answer \(after 2.1 s\)/,
    )
    assert.match(explainIpmitoolFailure(run({timedOut: true, exitCode: -1, durationMs: 3001}), ipmi), /did not answer within 3001 ms/)
    assert.match(
      explainIpmitoolFailure(run({stderr: 'Error in open session response message : invalid authentication algorithm'}), ipmi),
      /refused cipher suite 3/,
    )
    assert.match(explainIpmitoolFailure(run({exitCode: 127}), ipmi), /ipmitool is not installed/)
    const odd = explainIpmitoolFailure(run({stderr: noise + 'Something odd'}), ipmi)
    assert.equal(odd, 'BMC 192.0.2.201:6230: ipmitool exited 1: Something odd')
  })
})

describe('fence-agents stdin protocol', () => {
  const agent = config({agent: 'fence-agent', name: 'fence_ipmilan', options: {lanplus: '1', cipher: '3'}}).fence
  it('puts only the program in argv and everything else on stdin, options last', () => {
    assert.deepEqual(buildFenceAgentArgv(agent), ['fence_ipmilan'])
    assert.equal(
      buildFenceAgentInput(agent, 'status', SECRET),
      `action=status\nip=192.0.2.201\nipport=6230\nusername=admin\npassword=${SECRET}\nlanplus=1\ncipher=3\n`,
    )
  })
  it('refuses options that break the protocol or take over the action', () => {
    // Validation refuses these configs (config-hardening.test); the builder still guards on its own.
    assert.throws(() => buildFenceAgentInput({...agent, options: {action: 'on'}}, 'off', 'x'), /sets the action itself/)
    assert.throws(() => buildFenceAgentInput(agent, 'off', 'a\nb'), /password contains a line break/)
    assert.throws(() => buildFenceAgentInput({...agent, options: {'bad key': '1'}}, 'off', 'x'), /key "bad key"/)
  })
  it('maps status exit codes (FenceAgentAPI: 0 on, 1 unreachable, 2 off)', () => {
    assert.equal(fenceAgentStatusFromExit(0), 'on')
    assert.equal(fenceAgentStatusFromExit(2), 'off')
    assert.equal(fenceAgentStatusFromExit(1), undefined)
  })
  it("picks the agent's ERROR line out of Python warnings", () => {
    const stderr =
      "/usr/sbin/fence_ipmilan:5: DeprecationWarning: 'pipes' is deprecated\n  from pipes import quote\n2026-01-01 10:00:00,000 ERROR: Connection timed out\n\n"
    assert.equal(explainFenceAgentFailure(run({stderr}), agent), 'BMC 192.0.2.201:6230 (fence_ipmilan): exited 1: Connection timed out')
  })
})

describe('command agent', () => {
  const cmd = config({agent: 'command', command: ['/usr/local/bin/pdu', '--host', '{address}:{port}', '--user={user}', '{action}']}).fence
  it('fills placeholders; the password only in the environment', () => {
    assert.deepEqual(buildCommandArgv(cmd, 'off'), ['/usr/local/bin/pdu', '--host', '192.0.2.201:6230', '--user=admin', 'off'])
    const env = commandEnv(cmd, 'off', SECRET)
    assert.equal(env.PGHA_FENCE_PASSWORD, SECRET)
    assert.equal(env.IPMI_PASSWORD, SECRET)
    assert.equal(env.PGHA_FENCE_ACTION, 'off')
    assert.ok(!buildCommandArgv(cmd, 'status').join(' ').includes(SECRET))
  })
  it('reads status from stdout words or fence-agents exit codes', () => {
    assert.equal(commandStatus(0, 'Chassis Power is off'), 'off')
    assert.equal(commandStatus(0, 'Status: ON'), 'on')
    assert.equal(commandStatus(0, ''), 'on')
    assert.equal(commandStatus(2, 'whatever'), 'off')
    assert.equal(commandStatus(1, 'on'), undefined)
  })
})

/** Records every call; answers like a BMC whose power follows the commands (pure, no I/O). */
function scriptedBmc(opts: {power?: 'on' | 'off'; ignoreOff?: boolean} = {}) {
  let power = opts.power ?? 'on'
  const calls: {argv: string[]; opts: RunOptions}[] = []
  const exec: Exec = {
    async run(argv, o) {
      calls.push({argv, opts: o})
      const verb = argv.at(-1)
      if (verb === 'status') return {argv, exitCode: 0, stdout: `Chassis Power is ${power}`, stderr: '', timedOut: false, durationMs: 1}
      if (verb === 'off' && !opts.ignoreOff) power = 'off'
      if (verb === 'on') power = 'on'
      return {argv, exitCode: 0, stdout: 'Chassis Power Control: ok', stderr: '', timedOut: false, durationMs: 1}
    },
  }
  return {
    exec,
    calls,
    get power() {
      return power
    },
  }
}

describe('fencePower and ensurePeerFenced (scripted exec)', () => {
  it('passes the password only as IPMI_PASSWORD', async () => {
    const bmc = scriptedBmc()
    const r = await fencePower(new SystemContext(bmc.exec), ipmi, 'status')
    assert.deepEqual(r, {ok: true, power: 'on', detail: 'BMC 192.0.2.201:6230: Chassis Power is on'})
    assert.equal(bmc.calls[0].opts.env?.IPMI_PASSWORD, SECRET)
    assert.ok(!JSON.stringify(bmc.calls.map((c) => c.argv)).includes(SECRET))
  })
  it('with agent none: ok:false, unknown, says no fence is configured', async () => {
    const r = await fencePower(new SystemContext(scriptedBmc().exec), config({agent: 'none'}).fence, 'off')
    assert.equal(r.ok, false)
    assert.equal(r.power, 'unknown')
    assert.match(r.detail, /no fence is configured/)
  })
  it('reports a missing password source without throwing', async () => {
    const r = await fencePower(
      new SystemContext(scriptedBmc().exec),
      config({agent: 'ipmitool', passwordEnv: 'PGHA_UNIT_UNSET_VAR'}).fence,
      'status',
    )
    assert.deepEqual(r, {ok: false, power: 'unknown', detail: 'environment variable PGHA_UNIT_UNSET_VAR (fence.passwordEnv) is not set'})
  })
  it('powers off, verifies, and is a no-op the second time', async () => {
    const bmc = scriptedBmc()
    const cfg = config({agent: 'ipmitool'})
    const first = await ensurePeerFenced(new SystemContext(bmc.exec), cfg, {action: 'off', retry: false, maxWaitMs: 1000})
    assert.equal(first.changed, true)
    assert.equal(first.power, 'off')
    assert.deepEqual(
      bmc.calls.map((c) => c.argv.at(-1)),
      ['status', 'off', 'status'],
    )
    const second = await ensurePeerFenced(new SystemContext(bmc.exec), cfg, {action: 'off', retry: false, maxWaitMs: 1000})
    assert.equal(second.changed, false)
    assert.match(second.summary, /already off/)
  })
  it('fails when the BMC accepts off but the power stays on', async () => {
    const bmc = scriptedBmc({ignoreOff: true})
    const cfg = config({agent: 'ipmitool', timeout: '1s'})
    await assert.rejects(
      ensurePeerFenced(new SystemContext(bmc.exec), cfg, {action: 'off', retry: false, maxWaitMs: 1000}),
      (e: unknown) => {
        assert.ok(e instanceof StepFailedError)
        assert.match(
          e.message,
          /^cannot power off peer node2 \(192.0.2.12\) via BMC ipmitool 192.0.2.201:6230 \(1 attempt in .* s\): BMC accepted power off but status still reports on$/,
        )
        return true
      },
    )
  })
  it('under --dry-run records the argv (no password) and changes nothing', async () => {
    const bmc = scriptedBmc()
    const ctx = new SystemContext(bmc.exec, true)
    const r = await ensurePeerFenced(ctx, config({agent: 'ipmitool'}), {action: 'off', retry: false, maxWaitMs: 1000})
    assert.equal(r.changed, false)
    assert.equal(bmc.power, 'on')
    assert.match(r.summary, /^would power off peer node2/)
    assert.equal(ctx.plan.length, 1)
    assert.ok(formatPlanned(ctx.plan[0]).includes('ipmitool -v -I lanplus -C 3 -H 192.0.2.201 -p 6230 -U admin -E'))
    assert.ok(!JSON.stringify(ctx.plan).includes(SECRET))
  })
  it('shows the fence-agent stdin in the plan with the password hidden', async () => {
    const ctx = new SystemContext(scriptedBmc().exec, true)
    await fencePower(ctx, config({agent: 'fence-agent', name: 'fence_ipmilan'}).fence, 'off')
    assert.match(JSON.stringify(ctx.plan), /password=\(hidden\)/)
    assert.ok(!JSON.stringify(ctx.plan).includes(SECRET))
  })
  it('backs off 0.5 s doubling to 5 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map(backoffMs), [500, 1000, 2000, 4000, 5000, 5000, 5000])
  })
})

describe('lab BMC config', () => {
  const base = {
    name: 'bmc1',
    listenAddress: '192.0.2.1',
    port: 6231,
    user: 'admin',
    password: 'secret',
    chassisProgram: ['/opt/x/lab-chassis.sh', '/tmp/host1'],
  }
  it('writes the LAN.CONF layout ipmi_sim accepts', () => {
    const conf = lanConf(base)
    assert.match(conf, /^name "bmc1"\n/)
    assert.match(conf, /\n {4}addr 192.0.2.1 6231\n/)
    assert.match(conf, /\n {2}chassis_control "\/opt\/x\/lab-chassis.sh \/tmp\/host1"\n/)
    assert.match(conf, /\n {2}user 2 true "admin" "secret" admin 10 none md2 md5 straight\n/)
    assert.match(EMU_CMDS, /^mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs .*\nsel_enable 0x20 1000 0x0a\nmc_enable 0x20\n$/)
  })
  it('refuses a relative chassis program, shell-unsafe arguments and quotes in the password', () => {
    assert.throws(() => lanConf({...base, chassisProgram: ['lab-chassis.sh']}), /absolute path/)
    assert.throws(() => lanConf({...base, chassisProgram: ['/x', 'a b']}), /needs quoting/)
    assert.throws(() => lanConf({...base, password: 'a"b'}), /password/)
  })
})

import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parse} from 'yaml'
import {validateConfig} from '../../../src/lib/config/load.js'
import {EXIT, UsageError} from '../../../src/lib/errors.js'
import {
  countWritableWithVipM,
  type HostSample,
  lostWrites,
  maxWritableWithVipM,
  observedRole,
  parseLoadLog,
  roleTransitions,
  type Sample,
  writeGap,
} from '../../../src/lib/lab/figures.js'
import {hostConfigYaml} from '../../../src/lib/lab/host-config.js'
import {hostInitScript, hostStartScript, hostStopScript} from '../../../src/lib/lab/host-scripts.js'
import {checkLabName, labLayout, parseNode} from '../../../src/lib/lab/layout.js'
import {preflightProblem} from '../../../src/lib/lab/preflight.js'
import {loadEvents, parseWatchLog, renderTimeline, watchEvents} from '../../../src/lib/lab/timeline.js'
import {SETTLE_MS, steadyRoles} from '../../../src/lib/lab/drill.js'

const host = (o: Partial<HostSample> = {}): HostSample => ({
  on: true,
  vipM: false,
  vipS: false,
  writable: false,
  standby: false,
  lastKnownWritable: false,
  watch: true,
  ...o,
})
const primary = () => host({vipM: true, writable: true, lastKnownWritable: true})
const standby = () => host({vipS: true, standby: true})
const sample = (t: number, node1: HostSample, node2: HostSample): Sample => ({t, hosts: {node1, node2}})

describe('lab layout', () => {
  it('derives names, addresses and paths from the lab name', () => {
    const lab = labLayout('pghalab')
    assert.equal(lab.dir, '/var/lib/pgha-lab/pghalab')
    assert.equal(lab.gatewayNetns, 'pghalab-gw')
    assert.equal(lab.hosts.node1.netns, 'pghalab-node1')
    assert.equal(lab.hosts.node1.address, '192.0.2.11')
    assert.equal(lab.hosts.node2.bmcAddress, '192.0.2.202')
    assert.equal(lab.hosts.node1.peer, 'node2')
    assert.ok(lab.hosts.node2.datadir.startsWith('/var/lib/pgha-lab/pghalab/node2/'))
  })
  it('refuses names that would break interface names or paths (exit 2)', () => {
    for (const bad of ['', 'Lab', 'a-b', 'x'.repeat(11), '1lab', '../x']) {
      assert.throws(
        () => checkLabName(bad),
        (e: unknown) => e instanceof UsageError && e.exitCode === EXIT.USAGE,
        bad,
      )
    }
    assert.throws(() => labLayout('ok', 'relative/dir'), UsageError)
    assert.throws(() => parseNode('node3'), /unknown lab host "node3"/)
  })
})

describe('lab host config', () => {
  it('is a valid pgha config that fences the PEER and binds the peer archive', () => {
    const lab = labLayout('pgtlab', '/tmp/pgtlab-x')
    const cfg = validateConfig(parse(hostConfigYaml(lab, 'node1')), 'node1.yaml', {checkFiles: false})
    assert.equal(cfg.node.name, 'node1')
    assert.equal(cfg.peer.address, '192.0.2.12')
    assert.equal(cfg.fence.agent, 'ipmitool')
    assert.equal(cfg.fence.address, '192.0.2.202', "node1 fences node2's BMC")
    assert.equal(cfg.fence.passwordFile, lab.hosts.node1.fencePasswordFile)
    assert.equal(cfg.archive.mode, 'bind')
    assert.equal(cfg.archive.source, lab.hosts.node2.archiveDir)
    assert.equal(cfg.network.vipPrimary, '192.0.2.100/24')
    // Shipped timing defaults, except the documented shorter startup delay.
    assert.equal(cfg.timing.interval, 250)
    assert.equal(cfg.timing.checkTimes, 2)
    assert.equal(cfg.timing.startupDelay, 10_000)
  })
})

describe('lab host scripts', () => {
  const lab = labLayout('pgtlab', '/tmp/pgtlab-x')
  const h = lab.hosts.node2
  it('init brings up the host address, starts enabled services on SIGUSR1 and reaps', () => {
    const s = hostInitScript(h, {pghaArgv: ['/usr/bin/node', '/repo/bin/run.js']})
    assert.match(s, /ip addr add 192\.0\.2\.12\/24 dev eth0/)
    assert.match(s, /trap start_services USR1/)
    assert.match(s, /'\/repo\/bin\/run\.js' 'watch' '--config' '\/tmp\/pgtlab-x\/node2\/pgha\.yaml' '--log-format' 'json'/)
    assert.match(s, /wait "\$SLEEP"/)
  })
  it('power on is a PID namespace in the host network namespace; power off darkens the NIC', () => {
    assert.match(hostStartScript(h), /exec ip netns exec 'pgtlab-node2' unshare --pid --fork --kill-child --mount-proc/)
    const stop = hostStopScript(h)
    assert.match(stop, /kill -KILL "\$pid"/)
    assert.match(stop, /ip -n 'pgtlab-node2' link set eth0 down/)
    assert.match(stop, /addr flush dev eth0/)
  })
})

describe('lab preflight', () => {
  const ok = {uid: 0, has: () => true, pgBindirOk: true, postgresUser: true}
  it('passes when everything is there', () => assert.equal(preflightProblem(ok), undefined))
  it('names root, then the missing package and setup.sh, exit 2', () => {
    assert.match(preflightProblem({...ok, uid: 1000})!.message, /needs root/)
    const p = preflightProblem({...ok, has: (c) => c !== 'ipmi_sim'})!
    assert.equal(p.exitCode, EXIT.USAGE)
    assert.match(p.message, /ipmi_sim.*openipmi/)
    assert.match(p.oneLine(), /scripts\/setup\.sh/)
    assert.match(preflightProblem({...ok, pgBindirOk: false})!.message, /postgresql/)
  })
})

describe('drill figures', () => {
  it('classifies what a client sees', () => {
    assert.equal(observedRole(host({on: false})), 'off')
    assert.equal(observedRole(primary()), 'primary')
    assert.equal(observedRole(host({vipM: true, vipS: true, writable: true})), 'primary_standby')
    assert.equal(observedRole(standby()), 'standby')
    assert.equal(observedRole(host({writable: null})), 'hung')
    assert.equal(observedRole(host({writable: true})), 'writable without VIP-M')
    assert.equal(observedRole(host()), 'db down')
  })
  it('counts a hung former primary holding VIP-M as writable (it wakes up writable)', () => {
    const frozen = host({vipM: true, writable: null, lastKnownWritable: true})
    assert.equal(countWritableWithVipM(sample(0, frozen, host({vipM: true, writable: true}))), 2)
    assert.equal(countWritableWithVipM(sample(0, host({on: false, vipM: true}), primary())), 1)
  })
  it('finds the worst instant', () => {
    const m = maxWritableWithVipM([
      sample(1, primary(), standby()),
      sample(2, primary(), primary()),
      sample(3, host({on: false}), primary()),
    ])
    assert.deepEqual(m, {max: 2, at: 2})
  })
  it('measures the write outage around a fault', () => {
    const acks = [0, 50, 100, 150, 3400, 3450].map((t, i) => ({t, n: i + 1, ok: true, ms: 3}))
    const fails = [{t: 700, n: 100, ok: false, ms: 500, err: 'timeout'}]
    const g = writeGap([...acks, ...fails], 120)
    assert.equal(g.lastAckBefore, 150, 'a write acknowledged just after the fault still counts before the outage')
    assert.equal(g.firstAckAfter, 3400)
    assert.equal(g.gapMs, 3250)
    assert.equal(g.fromFaultMs, 3280)
    assert.deepEqual(writeGap(acks.slice(0, 3), 120), {lastAckBefore: 100}, 'writes never came back')
    const steady = [0, 50, 100, 150, 400, 450].map((t, i) => ({t, n: i + 1, ok: true, ms: 3}))
    assert.deepEqual(
      writeGap(steady, 120),
      {lastAckBefore: 150, firstAckAfter: 400, gapMs: 250, fromFaultMs: 280},
      'writes went on: the longest pause is short',
    )
  })
  it('lists acknowledged writes missing on the final primary, ignoring failed attempts', () => {
    const e = [
      {t: 1, n: 1, ok: true, ms: 1},
      {t: 2, n: 2, ok: true, ms: 1},
      {t: 3, n: 3, ok: false, ms: 1},
    ]
    assert.deepEqual(lostWrites(e, [1]), [2])
  })
  it('parses the load log, skipping a torn last line', () => {
    assert.equal(parseLoadLog('{"t":1,"n":1,"ok":true,"ms":2}\n{"t":2,"n":2,"ok":fa').length, 1)
  })
  it('reports role changes between samples', () => {
    const t = roleTransitions([
      sample(1, primary(), standby()),
      sample(2, host({on: false}), standby()),
      sample(3, host({on: false}), host({vipM: true, vipS: true, writable: true})),
    ])
    assert.deepEqual(
      t.map((x) => `${x.node}:${x.from}>${x.to}`),
      ['node1:primary>off', 'node2:standby>primary_standby'],
    )
  })
  it('steady state needs one primary and one standby with its VIP, both watches agreeing for a while', () => {
    const settled = (h: HostSample, role: string) => ({...h, watchRole: role, watchSince: 0})
    const t = SETTLE_MS
    assert.deepEqual(steadyRoles(sample(t, settled(standby(), 'standby'), settled(primary(), 'primary')), true), {
      primary: 'node2',
      standby: 'node1',
    })
    assert.equal(
      steadyRoles(sample(t, settled(primary(), 'primary'), settled(host({standby: true}), 'standby')), true),
      undefined,
      'standby without VIP-S',
    )
    assert.equal(
      steadyRoles(sample(t, settled(primary(), 'primary'), {...settled(standby(), 'standby'), watch: false}), true),
      undefined,
      'no watch process',
    )
    assert.equal(
      steadyRoles(sample(t, settled(primary(), 'primary'), settled(standby(), 'starting')), true),
      undefined,
      'watch not yet a standby',
    )
    assert.equal(
      steadyRoles(sample(t - 1, settled(primary(), 'primary'), settled(standby(), 'standby')), true),
      undefined,
      'not settled long enough',
    )
    assert.deepEqual(
      steadyRoles(sample(0, primary(), standby()), false),
      {primary: 'node1', standby: 'node2'},
      'labs without watch: roles only',
    )
  })
})

describe('drill timeline', () => {
  it('turns the load log into "stopped" and "back" rows', () => {
    const ev = loadEvents([
      {t: 0, n: 1, ok: true, ms: 2},
      {t: 50, n: 2, ok: false, ms: 500, err: 'connect ETIMEDOUT'},
      {t: 600, n: 3, ok: false, ms: 500, err: 'connect ETIMEDOUT'},
      {t: 3000, n: 4, ok: true, ms: 4},
    ])
    assert.equal(ev.length, 2)
    assert.match(ev[0].text, /write #2 failed: connect ETIMEDOUT; last acknowledged #1/)
    assert.match(ev[1].text, /writes back: #4 acknowledged/)
  })
  it('keeps watch lines that change something and drops repeats', () => {
    const log = [
      JSON.stringify({ts: '2026-01-01T00:00:01.000Z', level: 'info', msg: 'tick', role: 'standby', reason: 'primary healthy'}),
      JSON.stringify({ts: '2026-01-01T00:00:02.000Z', level: 'info', msg: 'tick', role: 'standby', reason: 'primary healthy'}),
      'not json',
      JSON.stringify({ts: '2026-01-01T00:00:03.000Z', level: 'info', role: 'standby', reason: 'primary check failed 1/3'}),
      JSON.stringify({
        ts: '2026-01-01T00:00:05.000Z',
        level: 'info',
        role: 'primary_standby',
        reason: 'fenced and promoted',
        actions: ['fence', 'promote'],
      }),
    ].join('\n')
    const lines = parseWatchLog(log)
    assert.equal(lines.length, 4)
    const ev = watchEvents('node2', lines, 0, Date.parse('2026-01-02'))
    assert.deepEqual(
      ev.map((e) => e.text),
      [
        'watch (standby): primary healthy',
        'watch (standby): primary check failed 1/3',
        'watch (primary_standby): fenced and promoted [fence, promote]',
      ],
    )
  })
  it('shows a decision when it was taken (the line is written after its actions) with its steps', () => {
    const line = JSON.stringify({
      ts: '2026-01-01T00:00:10.000Z',
      level: 'error',
      msg: 'fencing it, then promoting',
      role: 'primary_standby',
      from: 'standby',
      rule: 'standby.failover',
      actions: ['fencePeer', 'promote'],
      steps: ['fencePeer: node1 is off (900 ms)', 'promote: promoted (2100 ms)'],
      ms: {observe: 10, actions: 3000, tick: 3010},
    })
    const ev = watchEvents('node2', parseWatchLog(line), 0, Date.parse('2026-01-02'))
    assert.equal(ev[0].t, Date.parse('2026-01-01T00:00:07.000Z'))
    assert.equal(ev[0].text, 'watch (standby → primary_standby): fencing it, then promoting [fencePeer, promote] (actions took 3.0 s)')
    assert.deepEqual(
      ev.slice(1).map((e) => e.text),
      ['  ↳ fencePeer: node1 is off (900 ms)', '  ↳ promote: promoted (2100 ms)'],
    )
  })
  it('renders rows relative to the fault, sorted', () => {
    const rows = renderTimeline(
      [
        {t: 3500, source: 'node2', text: 'b'},
        {t: 900, source: 'drill', text: 'a'},
      ],
      1000,
    )
    assert.deepEqual(rows, ['     -0.100 s  drill  a', '     +2.500 s  node2  b'])
  })
})

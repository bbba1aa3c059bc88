/**
 * The pure parts of the watch loop's I/O shell: mapping probe answers to Observations, the
 * ARP monitor's verdicts (with a fake arping), the cluster flags' fallbacks, Nagios output,
 * status helpers and the watchdog. No network, no database.
 */
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {PassThrough} from 'node:stream'
import {test} from 'node:test'
import type {ChildProcess} from 'node:child_process'
import {actionBoundMs} from '../../../src/lib/loop/actions.js'
import {ArpMonitor, arpMonitorArgv, arpVerdict, parseReplyLine} from '../../../src/lib/system/arp-monitor.js'
import {aliveCheck, lagCheck, nagiosLine, perfData} from '../../../src/lib/status/nagios.js'
import {archiveState, clusterFlags} from '../../../src/lib/observe/observe-flags.js'
import {bounded, dataDirKindFromFiles, heartbeatState, heldOn, portProbe, toDbProbe} from '../../../src/lib/observe/observe.js'
import {heartbeatFromRow} from '../../../src/lib/sql/heartbeat.js'
import {observedRole, watchLine} from '../../../src/lib/status/status-view.js'
import {Watchdog} from '../../../src/lib/loop/watchdog.js'
import {ACTION_NAMES} from '../../../src/lib/core/types.js'
import {silentLogger} from '../../../src/lib/log.js'
import {testConfig} from '../../helpers/ha-fixtures.js'

const CFG = testConfig()

test('a heartbeat answer becomes a DbProbe: standby lag fields, hung database = timeout, refused = failed', () => {
  const standby = toDbProbe(
    {ok: true, target: 'peer', address: 'x', latencyMs: 5, role: 'standby', ageMs: 700, lagBytes: 4096},
    'unknown',
    1000,
  )
  assert.deepEqual(standby, {port: 'yes', heartbeat: 'ok', inRecovery: 'yes', heartbeatAgeMs: 700, lagBytes: 4096})
  assert.deepEqual(
    toDbProbe({ok: true, target: 'local', address: 'x', latencyMs: 5, role: 'primary', ageMs: 0, lagBytes: null}, 'unknown', 1000),
    {port: 'yes', heartbeat: 'ok', inRecovery: 'no'},
  )
  const hung = toDbProbe({ok: false, target: 'vip-primary', address: 'x', latencyMs: 1000, error: 'Query read timeout'}, 'yes', 1000)
  assert.deepEqual(hung, {port: 'yes', heartbeat: 'timeout', inRecovery: 'unknown'})
  assert.equal(
    heartbeatState({ok: false, target: 'peer', address: 'x', latencyMs: 3, error: 'connect ECONNREFUSED 192.0.2.12:5432'}, 1000),
    'failed',
  )
  assert.equal(
    heartbeatState({ok: false, target: 'peer', address: 'x', latencyMs: 40, error: 'canceling statement due to statement timeout'}, 1000),
    'timeout',
  )
  assert.equal(
    heartbeatState({ok: false, target: 'peer', address: 'x', latencyMs: 1000, error: 'Connection terminated unexpectedly'}, 1000),
    'timeout',
  )
})

test('a live server that refuses the heartbeat is classified by its SQLSTATE: starting / rejected, never failed', () => {
  const hb = (sqlState: string | undefined, error: string, latencyMs = 4) => ({
    ok: false,
    target: 'peer' as const,
    address: 'x',
    latencyMs,
    error,
    ...(sqlState ? {sqlState} : {}),
  })
  assert.equal(heartbeatState(hb('57P03', 'the database system is starting up (57P03)'), 1000), 'starting')
  assert.equal(heartbeatState(hb('57P03', 'the database system is not yet accepting connections (57P03)'), 1000), 'starting')
  for (const code of ['28000', '28P01', '3D000', '3F000', '42883', '42P01'])
    assert.equal(heartbeatState(hb(code, `x (${code})`), 1000), 'rejected', code)
  // Other SQLSTATEs, and no SQLSTATE (socket errors), keep their old meaning.
  assert.equal(heartbeatState(hb('53300', 'sorry, too many clients already (53300)'), 1000), 'failed')
  assert.equal(heartbeatState(hb(undefined, 'connect ECONNREFUSED 192.0.2.12:5432'), 1000), 'failed')
  assert.equal(heartbeatState(hb(undefined, 'Connection terminated unexpectedly', 1000), 1000), 'timeout')
  // The answer proves the port open and is kept for the reason, whatever the TCP probe said.
  assert.deepEqual(toDbProbe(hb('28000', 'role "pgha" does not exist (28000)'), 'unknown', 1000), {
    port: 'yes',
    heartbeat: 'rejected',
    inRecovery: 'unknown',
    answer: 'role "pgha" does not exist (28000)',
  })
})

test('the heartbeat row is read like the heartbeat step reads it', () => {
  const r = heartbeatFromRow(
    {role: 'standby', last_alive: new Date(0), age_ms: 812.6, lag_bytes: '160', written_by: 'node1', sync_with: 'node2'},
    {target: 'local', address: 's', latencyMs: 2, rolledBack: false},
  )
  assert.deepEqual(r, {
    ok: true,
    target: 'local',
    address: 's',
    role: 'standby',
    lastAlive: '1970-01-01T00:00:00.000Z',
    ageMs: 813,
    lagBytes: 160,
    writtenBy: 'node1',
    syncWith: 'node2',
    latencyMs: 2,
  })
  const old = heartbeatFromRow(
    {role: 'standby', last_alive: new Date(0), age_ms: 1, lag_bytes: null, written_by: 'node1'},
    {target: 'local', address: 's', latencyMs: 2, rolledBack: false},
  )
  assert.equal(old.syncWith, null, 'a row without sync_with says: not synchronous')
  assert.equal(heartbeatFromRow(undefined, {target: 'local', address: 's', latencyMs: 2, rolledBack: false}).ok, false)
  assert.equal(
    heartbeatFromRow(
      {role: 'primary', last_alive: null, age_ms: 0, lag_bytes: null, written_by: null},
      {target: 'local', address: 's', latencyMs: 2, rolledBack: true},
    ).rolledBack,
    true,
  )
})

test('the data directory kind comes from its files', () => {
  assert.equal(dataDirKindFromFiles(['PG_VERSION', 'base', 'standby.signal']), 'standby')
  assert.equal(dataDirKindFromFiles(['PG_VERSION', 'recovery.conf']), 'standby')
  assert.equal(dataDirKindFromFiles(['PG_VERSION', 'base', 'postgresql.conf']), 'primary')
  assert.equal(dataDirKindFromFiles([]), 'missing')
  assert.equal(dataDirKindFromFiles(undefined), 'unknown')
})

test('a VIP is held when it is on the interface or one of its labels', () => {
  const ifaces = {
    lo: [{address: '127.0.0.1', family: 'IPv4'}],
    eth0: [{address: '192.0.2.11', family: 'IPv4'}],
    'eth0:pgm': [{address: '192.0.2.100', family: 'IPv4'}],
    eth1: [{address: '192.0.2.101', family: 'IPv4'}],
  }
  assert.equal(heldOn(ifaces, 'eth0', '192.0.2.100'), true)
  assert.equal(heldOn(ifaces, 'eth0', '192.0.2.101'), false, 'another interface does not count')
})

test('bounded(): a probe that does not settle in time yields the fallback, a rejection too', async () => {
  assert.equal(await bounded(new Promise(() => {}), 20, (why) => `fallback: ${why}`), 'fallback: no answer within 20 ms')
  assert.equal(await bounded(Promise.reject(new Error('boom\nmore')), 1000, (why) => `fallback: ${why}`), 'fallback: boom')
  assert.equal(await bounded(Promise.resolve('ok'), 1000, () => 'no'), 'ok')
})

test('portProbe: a closed Unix socket is "no", never an exception', async () => {
  assert.equal(await portProbe({kind: 'socket', dir: '/nonexistent-pgha', port: 5432}, 500), 'no')
})

test('ARP monitor: argv, reply parsing and verdicts', () => {
  assert.deepEqual(arpMonitorArgv('eth0', {ip: '192.0.2.100', mode: 'dad'}), ['arping', '-b', '-s', '0.0.0.0', '-I', 'eth0', '192.0.2.100'])
  assert.deepEqual(arpMonitorArgv('eth0', {ip: '192.0.2.1', mode: 'reach'}), ['arping', '-b', '-I', 'eth0', '192.0.2.1'])
  assert.equal(parseReplyLine('Unicast reply from 192.0.2.100 [62:81:3a:ad:28:2e]  0.552ms', '192.0.2.100'), '62:81:3A:AD:28:2E')
  assert.equal(parseReplyLine('Unicast reply from 192.0.2.101 [62:81:3A:AD:28:2E]  0.5ms', '192.0.2.100'), undefined)
  assert.equal(parseReplyLine('ARPING 192.0.2.100 from 0.0.0.0 eth0', '192.0.2.100'), undefined)
  assert.equal(arpVerdict({runningSince: 0, lastReplyAt: 9000}, 10_000, 2000), 'yes')
  assert.equal(arpVerdict({runningSince: 0, lastReplyAt: 7000}, 10_000, 2000), 'no')
  assert.equal(arpVerdict({runningSince: 9000}, 10_000, 2000), 'unknown', 'not probed for a whole window yet')
  assert.equal(arpVerdict({}, 10_000, 2000), 'unknown', 'not running')
})

class FakeChild extends EventEmitter {
  stdout = new PassThrough()
  stderr = new PassThrough()
  killed = false
  kill(): boolean {
    this.killed = true
    this.emit('exit', null, 'SIGKILL')
    return true
  }
}

test('ARP monitor: streamed replies make a VIP "answered", silence makes it free, an exit is restarted', async () => {
  let now = 0
  const children: FakeChild[] = []
  const argvs: string[][] = []
  const m = new ArpMonitor(
    'eth0',
    [{name: 'primary', ip: '192.0.2.100', mode: 'dad'}],
    2000,
    silentLogger,
    (argv) => {
      argvs.push(argv)
      const c = new FakeChild()
      children.push(c)
      setImmediate(() => c.emit('spawn'))
      return c as unknown as ChildProcess
    },
    () => now,
  )
  m.start()
  await new Promise((r) => setImmediate(r))
  assert.equal(m.verdict('primary'), 'unknown')
  now = 2500
  assert.equal(m.verdict('primary'), 'no', 'probed a whole window, nobody answered')
  children[0].stdout.write('Unicast reply from 192.0.2.100 [62:81:3A:AD:28:2E]  0.5ms\nUnicast rep')
  await new Promise((r) => setImmediate(r))
  assert.equal(m.verdict('primary'), 'yes')
  assert.equal(m.lastMac('primary'), '62:81:3A:AD:28:2E')
  now = 5000
  assert.equal(m.verdict('primary'), 'no')
  children[0].emit('exit', 2, null)
  assert.equal(m.verdict('primary'), 'unknown', 'a dead monitor knows nothing')
  m.stop()
  assert.ok(argvs[0].includes('arping'))
})

test('cluster flags: the first source that answers wins; none → last known, then not paused — and the note says so', async () => {
  const down = {
    source: 'local' as const,
    where: 'sock',
    read: async () => {
      throw new Error('connect ECONNREFUSED')
    },
  }
  const peer = {source: 'peer' as const, where: '192.0.2.12:5432', read: async () => ({paused: true, switchover: null, updatedAt: 'x'})}
  const f = await clusterFlags(CFG, [down, peer], undefined, 1000)
  assert.equal(f.paused, true)
  assert.equal(f.source, 'peer')
  assert.match(
    f.note,
    /^flags read from the peer's database at 192\.0\.2\.12:5432 \(the local database did not answer: connect ECONNREFUSED\)$/,
  )
  const last = await clusterFlags(CFG, [down], f, 61_000)
  assert.equal(last.paused, true)
  assert.equal(last.source, 'last-known')
  assert.match(last.note, /using the flags last read 60 s ago/)
  const none = await clusterFlags(CFG, [], undefined, 0, 'local database: heartbeat timeout')
  assert.deepEqual([none.paused, none.switchover, none.source], [false, false, 'default'])
  assert.match(none.note, /local database: heartbeat timeout.*assuming not paused/)
  const so = await clusterFlags(
    CFG,
    [{...peer, source: 'local', read: async () => ({paused: false, switchover: 'garbage', updatedAt: 'x'})}],
    undefined,
    0,
  )
  assert.equal(so.switchover, true, 'an unreadable marker still counts as a switchover in progress')
})

test('the archive state comes from mountinfo, never from the mount itself', () => {
  const bind = testConfig({archive: {mode: 'bind', source: '/srv/a', mountpoint: '/var/lib/pgha/peer_archive'}})
  const line = '36 35 98:0 /srv/a /var/lib/pgha/peer_archive rw,noatime master:1 - ext4 /dev/root rw\n'
  assert.equal(archiveState(bind, line), 'mounted')
  assert.equal(archiveState(bind, ''), 'not_mounted')
  assert.equal(archiveState(CFG, line), 'not_configured')
})

test('Nagios lines: state, text and perfdata; thresholds warn/crit', () => {
  assert.equal(perfData([{label: 'age', value: 3.2, uom: 's', warn: 30, crit: 60, min: 0}]), 'age=3.2s;30;60;0')
  const ok = aliveCheck(3000, 30_000, 60_000, 'role primary')
  assert.equal(
    nagiosLine('ALIVE', ok),
    'PGHA ALIVE OK - pgha watch alive: state updated 3s ago (warn 30s, crit 1m); role primary | age=3s;30;60;0',
  )
  assert.equal(aliveCheck(45_000, 30_000, 60_000, '').state, 'WARNING')
  assert.equal(aliveCheck(61_000, 30_000, 60_000, '').state, 'CRITICAL')
  assert.equal(aliveCheck(undefined, 30_000, 60_000, 'no state file').state, 'CRITICAL')
  const warn = {maxAge: 400_000, maxBytes: 80e6}
  const crit = {maxAge: 600_000, maxBytes: 160e6}
  assert.equal(lagCheck('standby', 1000, 100, warn, crit).state, 'OK')
  assert.equal(lagCheck('standby', 500_000, 100, warn, crit).state, 'WARNING')
  assert.equal(lagCheck('standby', 1000, 200e6, warn, crit).state, 'CRITICAL')
  assert.equal(lagCheck('standby', undefined, undefined, warn, crit).state, 'UNKNOWN')
  assert.match(
    nagiosLine('LAG', lagCheck('standby', 1500, 2048, warn, crit)),
    /^PGHA LAG OK - standby: \S+ behind, \S+ behind .* \| lag_age=1\.5s;400;600;0 lag_bytes=2048B;80000000;160000000;0$/,
  )
})

test('status: the role a host shows from outside; the watch is alive only when fresh and running', () => {
  assert.equal(observedRole({where: 'x', reachable: true, inRecovery: false}, ['VIP-M', 'VIP-S']), 'primary_standby')
  assert.equal(observedRole({where: 'x', reachable: true, inRecovery: false}, ['VIP-M']), 'primary')
  assert.equal(observedRole({where: 'x', reachable: true, inRecovery: true}, ['VIP-S']), 'standby')
  assert.equal(observedRole({where: 'x', reachable: false, error: 'refused'}, []), 'unreachable')
  const state = {updatedAt: new Date(100_000).toISOString(), pid: 42, role: 'primary', since: 'x', lastTick: {reason: 'r'}} as never
  const ok = {kind: 'ok', path: '/s/state.json', state} as const
  assert.equal(watchLine(CFG, ok, 101_000, () => true).alive, true)
  assert.match(watchLine(CFG, ok, 200_000, () => true).state, /^STALLED/)
  assert.match(watchLine(CFG, ok, 101_000, () => false).state, /^not running \(PID 42 is gone\)/)
  assert.match(watchLine(CFG, {kind: 'missing', path: '/s/state.json'}).state, /pgha watch has not run/)
  assert.match(
    watchLine(CFG, {kind: 'corrupt', path: '/s/state.json', why: 'not JSON: x'}).state,
    /^state file \/s\/state.json is corrupt \(not JSON: x\)/,
  )
})

test('watchdog: pings while within the bound; an overrun is reported once and stops the pings', async () => {
  let now = 0
  const sent: string[][] = []
  const overruns: string[] = []
  const w = new Watchdog({
    intervalMs: 10_000,
    now: () => now,
    notify: async (f) => void sent.push(f),
    log: silentLogger,
    onOverrun: (m) => overruns.push(m),
  })
  w.begin(5000)
  await w.check()
  assert.deepEqual(sent, [['WATCHDOG=1']])
  now = 6000
  await w.check()
  await w.check()
  assert.equal(sent.length, 1, 'no WATCHDOG=1 after the overrun: systemd restarts us')
  assert.equal(w.overrun, true)
  assert.equal(overruns.length, 0, 'with a systemd watchdog, systemd does the restart')
  const alone = new Watchdog({now: () => 10, notify: async () => {}, log: silentLogger, onOverrun: (m) => overruns.push(m)})
  alone.begin(5)
  await alone.check()
  assert.equal(overruns.length, 1, 'without systemd the loop exits so its supervisor restarts it')
  assert.match(overruns[0], /overran its hard bound by 5 ms/)
})

test('every action has a finite bound; fencing scales with its tries', () => {
  for (const a of ACTION_NAMES) assert.ok(Number.isFinite(actionBoundMs(CFG, a)) && actionBoundMs(CFG, a) > 0, a)
  assert.ok(actionBoundMs(CFG, 'fencePeer', {fenceTries: 3}) > actionBoundMs(CFG, 'fencePeer', {fenceTries: 1}))
})

/** decide() across ticks: counting, waiting, memory, purity, loud holes, and the rendered table. */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {decide, NoTransitionError} from '../../../src/lib/core/decide.js'
import {renderTableMermaid, renderTableText} from '../../../src/lib/core/fsm-render.js'
import {TRANSITIONS} from '../../../src/lib/core/transitions.js'
import {type Decision, FRESH_MEMORY, type NodeMemory, type Observations, type Role} from '../../../src/lib/core/types.js'
import {FREE, HUNG, local, REPLAYING, SILENT, standbyObs, testConfig, WRITABLE} from '../../helpers/ha-fixtures.js'

const CFG = testConfig() // interval 1s, checkTimes 3, fence.delay 2s
const T0 = 50_000_000
const primaryDead: Observations = standbyObs({viaVipPrimary: SILENT, vipPrimary: FREE, peer: SILENT})

/** A watch that has held `role` for a while, a standby having seen its primary (no cold-start grace). */
const settled = (role: Role): NodeMemory => ({...FRESH_MEMORY, role, since: T0 - 600_000, primarySeen: true})

/** Feed each decision's memory into the next tick, like the loop does. */
function run(role: Role, ticks: {obs: Observations; at: number}[], cfg = CFG, start: NodeMemory | null = settled(role)): Decision[] {
  let mem: NodeMemory | undefined = start ?? undefined
  return ticks.map(({obs, at}) => {
    const d = decide(role, obs, cfg, at, mem)
    mem = d.memory
    return d
  })
}

test('the standby fences only after checkTimes failed ticks and fence.delay, then promotes', () => {
  const ds = run(
    'standby',
    [0, 1000, 2000, 3000, 4000].map((s) => ({obs: primaryDead, at: T0 + s})),
  )
  assert.deepEqual(
    ds.map((d) => d.rule),
    ['standby.suspect', 'standby.suspect', 'standby.fence-wait', 'standby.fence-wait', 'standby.failover'],
  )
  assert.deepEqual(ds[2].wait, {until: T0 + 4000, for: 'fence.delay'})
  assert.ok(
    ds.slice(0, 4).every((d) => d.actions.length === 0),
    'nothing happens before the failover tick',
  )
  assert.deepEqual(ds[4].actions, ['fencePeer', 'promote', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'])
  assert.equal(ds[4].next, 'primary_standby')
})

test('one good answer from the primary resets the count', () => {
  const healthy = standbyObs()
  const ds = run(
    'standby',
    [primaryDead, primaryDead, healthy, primaryDead].map((obs, i) => ({obs, at: T0 + i * 1000})),
  )
  assert.deepEqual(
    ds.map((d) => d.rule),
    ['standby.suspect', 'standby.suspect', 'standby.steady', 'standby.suspect'],
  )
  assert.equal(ds[3].memory.peerFailures, 1)
})

test('a failed fence never promotes: the next tick fences again and says which attempt it is', () => {
  const failover = decide('standby', primaryDead, CFG, T0, {
    peerFailures: 5,
    peerDeadSince: T0 - 5000,
    fenceAttempts: 0,
    archiveMountTried: false,
    role: 'standby',
    since: T0 - 60_000,
  })
  const again = decide('standby', primaryDead, CFG, T0 + 1000, failover.memory, {
    rule: failover.rule,
    done: [],
    failed: {action: 'fencePeer', error: 'BMC 192.0.2.202 timed out'},
  })
  assert.equal(again.rule, 'standby.failover')
  assert.match(again.reason, /attempt 2, up to 2 tries this tick/)
  assert.match(again.reason, /; the last try failed at fencePeer: BMC 192\.0\.2\.202 timed out$/)
  assert.equal(again.severity, 'alert')
  // The loop runs actions in order and stops at the failure: promote is only ever after fencePeer.
  assert.ok(again.actions.indexOf('promote') > again.actions.indexOf('fencePeer'))
})

test('agent none with allowUnfencedPromotion promotes without fencePeer and says so loudly', () => {
  const cfg = testConfig({fence: {agent: 'none', allowUnfencedPromotion: true}})
  const d = decide('standby', primaryDead, cfg, T0, {
    peerFailures: 5,
    peerDeadSince: T0 - 5000,
    fenceAttempts: 0,
    archiveMountTried: false,
    role: 'standby',
    since: T0,
    primarySeen: true,
  })
  assert.equal(d.rule, 'standby.failover')
  assert.deepEqual(d.actions, ['promote', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'])
  assert.match(
    d.reason,
    /^NOT FENCING \(fence\.agent none, fence\.allowUnfencedPromotion true\) — the peer may still be running: the primary failed/,
  )
  assert.equal(d.fenceTries, undefined)
})

test('an isolated tick forgets the count, so a node that comes back re-checks from zero', () => {
  const isolated = {...primaryDead, gateway: 'no' as const}
  const ds = run(
    'standby',
    [primaryDead, primaryDead, isolated, primaryDead].map((obs, i) => ({obs, at: T0 + i * 1000})),
  )
  assert.deepEqual(
    ds.map((d) => d.rule),
    ['standby.suspect', 'standby.suspect', 'any.isolated', 'standby.suspect'],
  )
  assert.equal(ds[3].memory.peerFailures, 1)
})

test('a standing-down node resumes by itself when its database answers again', () => {
  const sick = standbyObs({local: local(HUNG, 'standby')})
  const ds = run(
    'standby',
    [sick, sick, standbyObs()].map((obs, i) => ({obs, at: T0 + i * 1000})),
  )
  assert.deepEqual(
    ds.map((d) => [d.rule, d.severity, d.actions.length]),
    [
      ['any.stand-down', 'alert', 0],
      ['any.stand-down', 'alert', 0],
      ['standby.steady', 'info', 0],
    ],
  )
})

test('counters belong to a role: memory kept under another role starts afresh', () => {
  const d = decide('primary', standbyObs(), CFG, T0, {
    role: 'standby',
    since: T0 - 9000,
    peerFailures: 7,
    peerDeadSince: T0 - 3000,
    fenceAttempts: 4,
    archiveMountTried: true,
  })
  assert.equal(d.memory.role, 'primary')
  assert.equal(d.memory.since, T0)
  assert.equal(d.memory.fenceAttempts, 0)
  assert.equal(d.memory.archiveMountTried, false)
})

test('startupDelay counts from the first tick of starting and then lets the start go on', () => {
  const boot = standbyObs({
    local: local({port: 'no', heartbeat: 'failed', inRecovery: 'unknown'}, 'primary'),
    vipPrimary: FREE,
    vipStandby: FREE,
    viaVipPrimary: SILENT,
    peer: REPLAYING,
  })
  const ds = run(
    'starting',
    [0, 44_999, 45_000].map((s) => ({obs: boot, at: T0 + s})),
    CFG,
    null,
  )
  assert.deepEqual(
    ds.map((d) => d.rule),
    ['starting.delay', 'starting.delay', 'starting.start-primary-db'],
  )
  assert.deepEqual(ds[0].wait, {until: T0 + 45_000, for: 'startupDelay'})
})

test('decide is pure: frozen inputs, same answer twice', () => {
  const deepFreeze = <T>(o: T): T => {
    if (o && typeof o === 'object') {
      for (const v of Object.values(o)) deepFreeze(v)
      Object.freeze(o)
    }
    return o
  }
  const obs = deepFreeze(structuredClone(primaryDead))
  const mem = deepFreeze({role: 'standby' as Role, since: T0, peerFailures: 1, fenceAttempts: 0, archiveMountTried: false})
  const a = decide('standby', obs, CFG, T0 + 1000, mem)
  const b = decide('standby', obs, CFG, T0 + 1000, mem)
  assert.deepEqual(a, b)
  assert.equal(mem.peerFailures, 1)
})

test('a role outside the table is a loud error, never a silent no-op', () => {
  assert.throws(() => decide('demoted' as Role, standbyObs(), CFG, T0), NoTransitionError)
  assert.throws(
    () => decide('demoted' as Role, standbyObs(), CFG, T0),
    /no transition matches role demoted .*the transition table has a hole/,
  )
})

test('pgha fsm renders every row as text and every role change as a mermaid edge', () => {
  const text = renderTableText()
  for (const r of TRANSITIONS) assert.match(text, new RegExp(`\\s${r.id.replace(/\./g, '\\.')}\\s`))
  assert.match(text, /^pgha watch transitions: \d+ rows, first match wins/)
  const mermaid = renderTableMermaid()
  assert.match(mermaid, /^stateDiagram-v2\n {2}\[\*\] --> starting\n/)
  assert.match(mermaid, /\n {2}standby --> primary_standby : standby\.failover \(primary dead, fence\.delay over\)\n/)
  assert.match(mermaid, /\n {2}primary_standby --> primary : primary_standby\.failback /)
  const edges = TRANSITIONS.filter((r) => r.to !== 'same').reduce((n, r) => n + r.from.filter((f) => f !== r.to).length, 0)
  assert.equal(mermaid.split('\n').filter((l) => l.includes(' --> ') && !l.includes('[*]')).length, edges)
})

test('writable primary at VIP-M: a standby never plans claimVipPrimary while another host answers ARP for it', () => {
  for (const r of TRANSITIONS) {
    const i = r.actions.indexOf('claimVipPrimary')
    if (i < 0 || r.from.every((f) => f === 'primary' || f === 'primary_standby')) continue
    // Every non-primary path to VIP-M fences first, or only runs when the snapshot says VIP-M is free.
    const fencedFirst = r.actions.slice(0, i).includes('fencePeer')
    assert.ok(fencedFirst || r.id.startsWith('starting.primary'), `${r.id} claims VIP-M without fencing first`)
  }
  assert.equal(
    decide('starting', standbyObs({local: local(WRITABLE, 'primary'), vipStandby: FREE}), CFG, T0, {
      role: 'starting',
      since: 0,
      peerFailures: 0,
      fenceAttempts: 0,
      archiveMountTried: false,
    }).rule,
    'starting.rejoin',
  )
})

test('a row that fences runs the fence first: later actions (the VIP-M claim) may rely on a verified power-off', () => {
  for (const row of TRANSITIONS.filter((r) => r.actions.includes('fencePeer'))) {
    assert.equal(row.actions[0], 'fencePeer', `${row.id}: ${row.actions.join(', ')}`)
  }
})

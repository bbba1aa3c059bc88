/**
 * Synchronous replication in decide(): the stall clock, re-arming, what a promotion may claim,
 * and the table-wide rule that no row degrades without fencing first.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {decide} from '../../../src/lib/core/decide.js'
import {StallTracker} from '../../../src/lib/observe/sync-probe.js'
import {TRANSITIONS} from '../../../src/lib/core/transitions.js'
import {FRESH_MEMORY, type NodeMemory, type Observations, type TickOutcome, type SyncObservation} from '../../../src/lib/core/types.js'
import {FREE, local, primaryObs, REPLAYING, SILENT, standbyObs, testConfig} from '../../helpers/ha-fixtures.js'

const CFG = testConfig()
const T0 = 70_000_000
const ARMED: SyncObservation = {armed: 'yes', standbyNames: '"node2"', peerState: 'streaming', pendingBytes: 0, stalledMs: 0}

test('every row that degrades fences first, and has a .no-fence twin', () => {
  const degrading = TRANSITIONS.filter((r) => r.actions.includes('degradeSync'))
  assert.ok(degrading.length >= 5)
  for (const r of degrading) {
    assert.ok(
      r.actions.indexOf('fencePeer') >= 0 && r.actions.indexOf('fencePeer') < r.actions.indexOf('degradeSync'),
      `${r.id}: fencePeer before degradeSync`,
    )
    assert.ok(
      TRANSITIONS.some((t) => t.id === `${r.id}.no-fence`),
      `${r.id} has a .no-fence twin`,
    )
  }
})

test('stall tracker: a busy healthy standby never accrues; a frozen flush and a missing walsender do', () => {
  const busy = new StallTracker()
  for (let i = 0; i < 20; i++)
    assert.equal(busy.sample({present: true, flush: `0/${(i + 1) * 1000}`, pendingBytes: 50_000}, T0 + i * 500), 0)
  const frozen = new StallTracker()
  const got = [0, 1, 2, 3, 4, 5].map((i) => frozen.sample({present: true, flush: '0/100', pendingBytes: 8192}, T0 + i * 500))
  assert.deepEqual(got, [0, 500, 1000, 1500, 2000, 2500])
  assert.equal(frozen.sample({present: true, flush: '0/100', pendingBytes: 0}, T0 + 3000), 0, 'nothing pending: not stalled')
  const idle = new StallTracker()
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => idle.sample({present: true, flush: '0/100', pendingBytes: 0}, T0 + i * 500)),
    [0, 0, 0, 0],
  )
  const gone = new StallTracker()
  assert.deepEqual(
    [0, 1, 2].map((i) => gone.sample({present: false}, T0 + i * 1000)),
    [0, 1000, 2000],
  )
})

test('a stall below stallTimeout only keeps the primary steady; at stallTimeout it fences then degrades', () => {
  const below = decide('primary', primaryObs({sync: {...ARMED, pendingBytes: 100, stalledMs: 1500}}), CFG, T0)
  assert.equal(below.rule, 'primary.steady')
  const at = decide('primary', primaryObs({sync: {...ARMED, pendingBytes: 100, stalledMs: 2000}}), CFG, T0)
  assert.equal(at.rule, 'primary.sync-stalled')
  assert.deepEqual(at.actions, ['fencePeer', 'degradeSync', 'claimVipStandby'])
  assert.equal(at.severity, 'alert')
  const async = decide('primary', primaryObs({sync: {...ARMED, stalledMs: 60_000}}), testConfigAsync(), T0)
  assert.equal(async.rule, 'primary.async-disarm', 'async mode never fences for a stall: it stops waiting')
  assert.deepEqual(async.actions, ['disarmSync'])
  const degraded = decide('primary', primaryObs({sync: {...ARMED, armed: 'no', peerState: 'catchup', stalledMs: 60_000}}), CFG, T0)
  assert.equal(degraded.rule, 'primary.steady', 'not armed: nothing waits, nothing to fence for')
})

test('a failing fence keeps commits waiting and every tick names pgha degrade', () => {
  let mem: NodeMemory = {...FRESH_MEMORY, role: 'primary', since: T0 - 60_000}
  const obs: Observations = primaryObs({sync: {...ARMED, stalledMs: 3000}})
  let previous: TickOutcome | undefined
  for (let i = 0; i < 3; i++) {
    const d = decide('primary', obs, CFG, T0 + i * 1000, mem, previous)
    assert.equal(d.rule, 'primary.sync-stalled')
    assert.equal(d.severity, 'alert')
    assert.match(d.reason, /`pgha degrade --yes` releases them/)
    if (i > 0) assert.match(d.reason, /the last try failed at fencePeer: BMC timed out$/)
    mem = d.memory
    previous = {rule: d.rule, done: [], failed: {action: 'fencePeer', error: 'BMC timed out'}}
  }
})

test('re-arm: only when the standby streams; not while it catches up; not in async mode', () => {
  const notArmed = (peerState: string): SyncObservation => ({...ARMED, armed: 'no', standbyNames: '', peerState})
  assert.equal(decide('primary', primaryObs({sync: notArmed('streaming')}), CFG, T0).rule, 'primary.arm-sync')
  assert.equal(decide('primary', primaryObs({sync: notArmed('catchup')}), CFG, T0).rule, 'primary.steady')
  // Streaming but not confirming (walreceiver stopped: no flush progress), or too far behind: not yet.
  assert.equal(decide('primary', primaryObs({sync: {...notArmed('streaming'), stalledMs: 300}}), CFG, T0).rule, 'primary.steady')
  const limit = CFG.lag.releaseStandbyVip.maxBytes
  assert.equal(decide('primary', primaryObs({sync: {...notArmed('streaming'), pendingBytes: limit + 1}}), CFG, T0).rule, 'primary.steady')
  assert.equal(decide('primary', primaryObs({sync: {...notArmed('streaming'), pendingBytes: limit}}), CFG, T0).rule, 'primary.arm-sync')
  assert.equal(decide('primary', primaryObs({sync: notArmed('streaming')}), testConfigAsync(), T0).rule, 'primary.steady')
  // The new primary after a failover: re-arms once the old primary rejoined as a streaming standby.
  const survivor = decide(
    'primary_standby',
    {...primaryObs({sync: notArmed('streaming')}), vipStandby: {heldLocally: 'yes', answeredElsewhere: 'no'}, peer: REPLAYING},
    CFG,
    T0,
  )
  assert.equal(survivor.rule, 'primary.arm-sync')
  assert.deepEqual(survivor.actions, ['armSync'])
})

const deadPrimary = {viaVipPrimary: SILENT, vipPrimary: FREE, peer: SILENT}
const failoverMem: NodeMemory = {...FRESH_MEMORY, role: 'standby', since: T0 - 60_000, peerFailures: 3, peerDeadSince: T0 - 5000}

test('promotion claims zero loss only for a sync row written after this watch started', () => {
  const row = (syncWith: string | null, ageMs: number) => local({...REPLAYING, heartbeatAgeMs: ageMs, lagBytes: 0, syncWith}, 'standby')
  const watchStartedAt = T0 - 10_000
  const fresh = decide('standby', standbyObs({...deadPrimary, local: row('node1', 1500), watchStartedAt}), CFG, T0, failoverMem)
  assert.equal(fresh.rule, 'standby.failover')
  assert.match(
    fresh.reason,
    /; promoted with zero data loss \(synchronous\): the last heartbeat row says the primary was synchronous with this standby$/,
  )
  const predates = decide('standby', standbyObs({...deadPrimary, local: row('node1', 12_000), watchStartedAt}), CFG, T0, failoverMem)
  assert.match(predates.reason, /; possible data loss: up to 0B \/ 12s of commits \(the last synchronous heartbeat row predates this watch/)
  const other = decide('standby', standbyObs({...deadPrimary, local: row(null, 800), watchStartedAt}), CFG, T0, failoverMem)
  assert.match(
    other.reason,
    /possible data loss: up to 0B \/ 800ms of commits \(the last heartbeat row says the primary was not synchronous\)/,
  )
  const async = decide(
    'standby',
    standbyObs({...deadPrimary, local: row('node1', 800), watchStartedAt}),
    testConfigAsync(),
    T0,
    failoverMem,
  )
  assert.match(async.reason, /possible data loss: .*\(replication\.mode is async\)/)
  const unknownStart = decide('standby', standbyObs({...deadPrimary, local: row('node1', 800)}), CFG, T0, failoverMem)
  assert.match(unknownStart.reason, /possible data loss/, 'no watch start known: no claim')
})

function testConfigAsync() {
  const c = testConfig()
  return {...c, replication: {...c.replication, mode: 'async' as const}}
}

/** tickEvents(): a tick's decision → the hook events, pure. */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {EVENT_NAMES, eventEnv, hookWants, ruleEvent, type TickSummary, tickEvents} from '../../../src/lib/core/events.js'
import {TRANSITIONS} from '../../../src/lib/core/transitions.js'

const WHO = {cluster: 'prod', node: 'node2', peer: 'node1'}
const tick = (o: Partial<TickSummary>): TickSummary => ({
  at: '2026-12-02T03:00:00.000Z',
  from: 'standby',
  role: 'standby',
  committed: true,
  rule: 'standby.steady',
  reason: 'the primary answers through VIP-M',
  severity: 'info',
  done: [],
  ...o,
})
const names = (t: TickSummary, prev?: string) => tickEvents(t, prev, WHO).map((e) => e.event)

test('a failover tick: fence, then failover, then role_change — and an alert, once', () => {
  const t = tick({
    rule: 'standby.failover',
    role: 'primary_standby',
    severity: 'alert',
    done: ['fencePeer', 'promote', 'claimVipPrimary', 'writeHeartbeat'],
    reason: 'the primary failed 3 checks in a row',
  })
  assert.deepEqual(names(t, 'standby.fence-wait'), ['fence', 'failover', 'role_change', 'alert'])
  const [e] = tickEvents(t, 'standby.fence-wait', WHO)
  assert.equal(e.role, 'primary_standby')
  assert.equal(e.previousRole, 'standby')
  assert.equal(e.node, 'node2')
  assert.equal(e.peer, 'node1')
  assert.equal(e.rule, 'standby.failover')
})

test('a failover whose fence failed: fence_failed only, no failover, no role change', () => {
  const t = tick({
    rule: 'standby.failover',
    role: 'standby',
    committed: false,
    severity: 'alert',
    done: [],
    failed: {action: 'fencePeer', error: 'BMC timed out'},
  })
  assert.deepEqual(names(t, 'standby.failover'), ['fence_failed'])
  assert.match(tickEvents(t, undefined, WHO)[0].reason, /fencePeer failed: BMC timed out/)
})

test('the primary takes VIP-S from a dead standby: fence, standby_lost, role_change', () => {
  const t = tick({
    from: 'primary',
    role: 'primary_standby',
    rule: 'primary.fence-standby',
    severity: 'alert',
    done: ['fencePeer', 'claimVipStandby'],
  })
  assert.deepEqual(names(t, 'primary.suspect'), ['fence', 'standby_lost', 'role_change', 'alert'])
})

test('failback, rejoin and a switchover', () => {
  assert.deepEqual(
    names(
      tick({from: 'primary_standby', role: 'primary', rule: 'primary_standby.failback', done: ['releaseVipStandby']}),
      'primary_standby.steady',
    ),
    ['failback', 'role_change'],
  )
  assert.deepEqual(
    names(tick({from: 'starting', role: 'starting', rule: 'starting.rejoin', done: ['stopDb', 'rejoin']}), 'starting.delay'),
    ['rejoin'],
  )
  const sw = tick({from: 'primary', role: 'starting', rule: 'any.switchover'})
  assert.deepEqual(names(sw, 'primary.steady'), ['switchover', 'role_change'])
  assert.deepEqual(names({...sw, from: 'starting'}, 'any.switchover'), [], 'a switchover that goes on is not a new event')
})

test('lasting conditions are reported when they start, not every tick', () => {
  const down = tick({from: 'primary', role: 'primary', rule: 'any.stand-down', severity: 'alert'})
  assert.deepEqual(names(down, 'primary.steady'), ['stand_down', 'alert'])
  assert.deepEqual(names(down, 'any.stand-down'), [])
  const stale = tick({rule: 'standby.stale', severity: 'alert'})
  assert.deepEqual(names(stale, 'standby.suspect'), ['alert'])
  assert.deepEqual(names(stale, 'standby.stale'), [])
})

test('a failed step that is not a fence is an alert every time; steady ticks have no events; a dry run none at all', () => {
  const t = tick({rule: 'standby.restart-db', severity: 'warn', committed: false, failed: {action: 'startDb', error: 'pg_ctl exited 1'}})
  assert.deepEqual(names(t, 'standby.restart-db'), ['alert'])
  assert.deepEqual(names(tick({}), 'standby.steady'), [])
  assert.deepEqual(names(tick({rule: 'standby.failover', role: 'primary_standby', done: ['fencePeer', 'promote'], dryRun: true}), 'x'), [])
})

test('synchronous replication rules map to degrade and rearm by their last segment', () => {
  assert.equal(ruleEvent('primary.degrade-sync'), 'degrade')
  assert.equal(ruleEvent('primary_standby.rearm'), 'rearm')
  assert.equal(ruleEvent('primary.rearm-sync.no-fence'), 'rearm')
  assert.equal(ruleEvent('primary.steady'), undefined)
  assert.deepEqual(names(tick({from: 'primary', role: 'primary', rule: 'primary.degrade-sync', severity: 'alert'}), 'primary.steady'), [
    'degrade',
    'alert',
  ])
})

test('every rule of the table that commits a role change yields role_change; every event name is known', () => {
  for (const row of TRANSITIONS) {
    const to = row.to === 'same' ? row.from[0] : row.to
    const evs = names(tick({from: row.from[0], role: to, rule: row.id, done: [...row.actions]}), row.id)
    if (to !== row.from[0]) assert.ok(evs.includes('role_change'), row.id)
    for (const e of evs) assert.ok(EVENT_NAMES.includes(e))
  }
})

test('the environment of a hook and the `on` filter', () => {
  const [e] = tickEvents(tick({rule: 'standby.failover', role: 'primary_standby', done: ['fencePeer']}), undefined, WHO)
  const env = eventEnv(e)
  assert.deepEqual(Object.keys(env).sort(), [
    'PGHA_CLUSTER',
    'PGHA_EVENT',
    'PGHA_NODE',
    'PGHA_PEER',
    'PGHA_PREVIOUS_ROLE',
    'PGHA_REASON',
    'PGHA_ROLE',
    'PGHA_RULE',
    'PGHA_SEVERITY',
    'PGHA_TIME',
  ])
  assert.equal(env.PGHA_EVENT, 'fence')
  assert.equal(env.PGHA_PREVIOUS_ROLE, 'standby')
  assert.equal(hookWants(undefined, 'fence'), true)
  assert.equal(hookWants(['failover'], 'fence'), false)
  assert.equal(hookWants(['failover', 'fence'], 'fence'), true)
})

test('a sync degrade behind a fence and a re-arm are events; in async mode degradeSync is none', () => {
  const lost = tick({
    rule: 'primary.fence-standby',
    from: 'primary',
    role: 'primary_standby',
    severity: 'alert',
    done: ['fencePeer', 'degradeSync', 'claimVipStandby'],
  })
  assert.deepEqual(names(lost, 'primary.suspect'), ['fence', 'standby_lost', 'degrade', 'role_change', 'alert'])
  assert.deepEqual(
    tickEvents(lost, 'primary.suspect', {...WHO, syncMode: false}).map((e) => e.event),
    ['fence', 'standby_lost', 'role_change', 'alert'],
  )
  const armed = tick({rule: 'primary.arm-sync', from: 'primary', role: 'primary', severity: 'warn', done: ['armSync']})
  assert.deepEqual(names(armed, 'primary.steady'), ['rearm'])
})

/** The HTTP API's pure answers (Patroni semantics) and the /metrics text. */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {type ApiSnapshot, healthAnswer, type HealthPath, type LastTick, parseLagParam} from '../../../src/lib/core/health.js'
import {MetricsCounters, renderMetrics} from '../../../src/lib/core/metrics.js'
import type {Observations, Role} from '../../../src/lib/core/types.js'
import {bootObs, primaryObs, standbyObs, survivorObs} from '../../helpers/ha-fixtures.js'

const NOW = Date.parse('2026-12-02T03:00:00Z')
const lastTick = (role: Role, obs: Observations, o: Partial<LastTick> = {}): LastTick => ({
  endedAt: NOW - 200,
  role,
  rule: `${role}.steady`,
  reason: 'steady',
  severity: 'info',
  committed: true,
  tickMs: 12,
  obs,
  ...o,
})
const snap = (t?: LastTick, o: Partial<ApiSnapshot> = {}): ApiSnapshot => ({
  cluster: 'prod',
  node: 'node1',
  peer: 'node2',
  startedAt: NOW - 60_000,
  intervalMs: 500,
  livenessTimeoutMs: 30_000,
  ...(t ? {lastTick: t} : {}),
  ...o,
})
const status = (p: HealthPath, s: ApiSnapshot, q = '') => healthAnswer(p, new URLSearchParams(q), s, NOW).status

test('a primary: /primary, /read-only, /health, /readiness 200; /replica 503', () => {
  for (const s of [snap(lastTick('primary', primaryObs())), snap(lastTick('primary_standby', survivorObs()))]) {
    assert.equal(status('primary', s), 200)
    assert.equal(status('read-only', s), 200)
    assert.equal(status('health', s), 200)
    assert.equal(status('readiness', s), 200)
    assert.equal(status('liveness', s), 200)
    assert.equal(status('replica', s), 503)
  }
})

test('a standby: /replica 200, with ?lag= in bytes or units; /primary 503', () => {
  const s = snap(lastTick('standby', standbyObs()))
  assert.equal(status('primary', s), 503)
  assert.equal(status('replica', s), 200)
  assert.equal(status('replica', s, 'lag=4096'), 200, 'lag 4096 is within 4096')
  assert.equal(status('replica', s, 'lag=4095'), 503)
  assert.equal(status('replica', s, 'lag=16kB'), 200)
  assert.equal(status('replica', s, 'lag=1MB'), 200)
  assert.equal(status('read-only', s), 200)
  assert.equal(status('health', s), 200)
  const bad = healthAnswer('replica', new URLSearchParams('lag=lots'), s, NOW)
  assert.equal(bad.status, 400)
  assert.match(String(bad.body.error), /lag=lots is not a size/)
  const unknownLag = snap(lastTick('standby', standbyObs({local: {...standbyObs().local, lagBytes: undefined}})))
  assert.equal(status('replica', unknownLag), 200)
  assert.equal(status('replica', unknownLag, 'lag=10MB'), 503, 'an unknown lag is within no limit')
})

test('a primary role whose database is not writable, or without VIP-M, or mid-switchover, is not /primary', () => {
  assert.equal(status('primary', snap(lastTick('primary', primaryObs({vipPrimary: {heldLocally: 'no', answeredElsewhere: 'no'}})))), 503)
  assert.equal(status('primary', snap(lastTick('primary', primaryObs({local: {...primaryObs().local, heartbeat: 'timeout'}})))), 503)
  assert.equal(status('primary', snap(lastTick('primary', primaryObs({switchover: true})))), 503)
  assert.equal(status('primary', snap(lastTick('standby', primaryObs()))), 503, 'a writable database in role standby is no primary')
})

test('starting, or no tick yet: everything 503 but liveness (the process is young)', () => {
  for (const s of [snap(undefined, {startedAt: NOW - 1000}), snap(lastTick('starting', bootObs('primary')))]) {
    for (const p of ['primary', 'replica', 'read-only', 'health', 'readiness'] as const) assert.equal(status(p, s), 503, p)
    assert.equal(status('liveness', s), 200)
  }
})

test('liveness: 503 once no tick ended for livenessTimeout', () => {
  const s = snap(lastTick('primary', primaryObs(), {endedAt: NOW - 31_000}))
  assert.equal(status('liveness', s), 503)
  assert.equal(status('liveness', snap(undefined, {startedAt: NOW - 31_000})), 503)
  assert.equal(status('primary', s), 200, 'the last known state still answers the role checks')
})

test("the GET document says state, role and the loop's view", () => {
  const s = snap(lastTick('standby', standbyObs()), {
    wal: {at: NOW - 100, inRecovery: true, location: 5000, replayed: 5000, received: 6000, timeline: 2},
  })
  const b = healthAnswer('replica', new URLSearchParams(), s, NOW).body
  assert.equal(b.state, 'running')
  assert.equal(b.role, 'replica')
  assert.deepEqual(b.xlog, {received_location: 6000, replayed_location: 5000})
  assert.equal(b.timeline, 2)
  assert.equal(b.lag, 4096)
  assert.equal((b.pgha as {role: string}).role, 'standby')
})

test('parseLagParam', () => {
  assert.equal(parseLagParam(new URLSearchParams('')), undefined)
  assert.equal(parseLagParam(new URLSearchParams('lag=10MB')), 10 * 1024 * 1024)
  assert.ok(Number.isNaN(parseLagParam(new URLSearchParams('lag=-1'))!))
})

test('metrics: role gauges, counters by event, a cumulative histogram, labels on every sample', () => {
  const c = new MetricsCounters()
  c.record({ms: {tick: 3}}, [])
  c.record({ms: {tick: 4200}}, [{event: 'fence'}, {event: 'failover'}, {event: 'role_change'}] as never)
  const text = renderMetrics(
    snap(lastTick('primary_standby', survivorObs()), {wal: {at: NOW, inRecovery: false, location: 123456789012, timeline: 3}}),
    c,
    {started: 1, succeeded: 1, failed: 0, timedOut: 0, dropped: 0},
    NOW,
  )
  const value = (line: string) => {
    const m = text.split('\n').find((l) => l.startsWith(line + ' '))
    assert.ok(m, `${line} in\n${text}`)
    return Number(m.split(' ').pop())
  }
  const L = '{cluster="prod",node="node1"'
  assert.equal(value(`pgha_primary${L}}`), 1)
  assert.equal(value(`pgha_replica${L}}`), 0)
  assert.equal(value(`pgha_role${L},role="primary_standby"}`), 1)
  assert.equal(value(`pgha_role${L},role="standby"}`), 0)
  assert.equal(value(`pgha_xlog_location${L}}`), 123456789012)
  assert.equal(value(`pgha_timeline${L}}`), 3)
  assert.ok(!text.includes('pgha_synchronous{'), 'no sync gauge without a sync observation')
  const syncText = (armed: 'yes' | 'no') =>
    renderMetrics(
      snap(lastTick('primary', {...survivorObs(), sync: {armed, standbyNames: '"node2"', peerState: 'streaming', stalledMs: 0}})),
      c,
      {started: 0, succeeded: 0, failed: 0, timedOut: 0, dropped: 0},
      NOW,
    )
  assert.match(syncText('yes'), /^pgha_synchronous\{cluster="prod",node="node1"\} 1$/m)
  assert.match(syncText('no'), /^pgha_synchronous\{cluster="prod",node="node1"\} 0$/m)
  assert.equal(value(`pgha_failovers_total${L}}`), 1)
  assert.equal(value(`pgha_fences_total${L}}`), 1)
  assert.equal(value(`pgha_role_changes_total${L}}`), 1)
  assert.equal(value(`pgha_tick_duration_seconds_bucket${L},le="0.005"}`), 1)
  assert.equal(value(`pgha_tick_duration_seconds_bucket${L},le="2.5"}`), 1)
  assert.equal(value(`pgha_tick_duration_seconds_bucket${L},le="5"}`), 2)
  assert.equal(value(`pgha_tick_duration_seconds_bucket${L},le="+Inf"}`), 2)
  assert.equal(value(`pgha_tick_duration_seconds_count${L}}`), 2)
  assert.equal(value(`pgha_tick_duration_seconds_sum${L}}`), 4.203)
  for (const l of text.split('\n').filter((x) => x && !x.startsWith('#'))) assert.match(l, /^pgha_[a-z_]+\{cluster="prod",node="node1"/)
  assert.ok(!text.includes('pgha_xlog_replayed_location'), 'a primary has no replayed location')
})

import assert from 'node:assert/strict'
import {test} from 'node:test'
import type {Config} from '../../../src/lib/config/schema.js'
import {replicationLagCheck, syncVerdict, withSync} from '../../../src/lib/status/nagios.js'
import type {NodeFacts, ReplicationRow} from '../../../src/lib/status/read-node.js'
import {clusterSyncView, primarySyncView, standbySyncView} from '../../../src/lib/status/sync-view.js'
import {testConfig} from '../../helpers/ha-fixtures.js'

const cfg = testConfig()
const asyncCfg: Config = {...cfg, replication: {...cfg.replication, mode: 'async'}}
const row = (over: Partial<ReplicationRow> = {}): ReplicationRow => ({
  clientAddr: cfg.peer.address,
  applicationName: 'node2',
  state: 'streaming',
  syncState: 'sync',
  lagBytes: 0,
  lagSeconds: 0,
  ...over,
})
const primary = (names: string, rows: ReplicationRow[], hb?: NodeFacts['heartbeat']): NodeFacts => ({
  where: 'local',
  reachable: true,
  inRecovery: false,
  syncStandbyNames: names,
  replication: rows,
  ...(hb ? {heartbeat: hb} : {}),
})
const hb = (syncWith: string | null | undefined, syncSince: string | null = '2026-12-02T19:00:00.000Z'): NodeFacts['heartbeat'] => ({
  ageMs: 100,
  lagBytes: 0,
  writtenBy: 'node1',
  ...(syncWith === undefined ? {} : {syncWith, syncSince}),
})

test('primary: named and streaming as sync is sync, with since from the heartbeat row', () => {
  const v = primarySyncView(cfg, primary('"node2"', [row()], hb('node2')), 'node2', row())
  assert.equal(v.state, 'sync')
  assert.equal(v.since, '2026-12-02T19:00:00.000Z')
  assert.match(v.text, /^sync since 2026-12-02T19:00:00.000Z: commits wait for node2's flush/)
  // quorum counts as sync; a row that names someone else's since is not claimed.
  const q = primarySyncView(cfg, primary('ANY 1 (node2)', [row({syncState: 'quorum'})], hb('other')), 'node2', row({syncState: 'quorum'}))
  assert.deepEqual([q.state, q.since], ['sync', undefined])
})

test('primary: empty synchronous_standby_names in sync mode is degraded, saying why and since when', () => {
  const away = primarySyncView(cfg, primary('', [], hb(null)), 'node2', undefined)
  assert.equal(away.state, 'degraded')
  assert.equal(away.since, '2026-12-02T19:00:00.000Z')
  assert.match(
    away.text,
    /^degraded since 2026-12-02T19:00:00.000Z: synchronous_standby_names is empty, commits do not wait for node2; node2 is not streaming \(fenced or away\)/,
  )
  const back = primarySyncView(cfg, primary('', [row({syncState: 'async'})], hb(null)), 'node2', row({syncState: 'async'}))
  assert.match(back.text, /node2 streams but is not re-armed yet/)
  // The row still says synchronous (written before the degrade): no since claimed.
  const fresh = primarySyncView(cfg, primary('', [], hb('node2')), 'node2', undefined)
  assert.deepEqual([fresh.state, fresh.since], ['degraded', undefined])
  assert.match(fresh.text, /^degraded: /)
})

test('primary: named but not streaming as sync is waiting (commits block)', () => {
  const none = primarySyncView(cfg, primary('"node2"', []), 'node2', undefined)
  assert.equal(none.state, 'waiting')
  assert.match(none.text, /node2 has no replication connection; commits block/)
  const catching = primarySyncView(
    cfg,
    primary('"node2"', [row({state: 'catchup', syncState: 'potential'})]),
    'node2',
    row({state: 'catchup'}),
  )
  assert.match(catching.text, /node2 is catchup/)
  const other = primarySyncView(cfg, primary('"elsewhere"', [row({syncState: 'async'})]), 'node2', row({syncState: 'async'}))
  assert.equal(other.state, 'waiting')
  assert.match(other.text, /synchronous_standby_names '"elsewhere"' does not name node2/)
})

test('primary: async mode is async; names set by hand in async mode are reported', () => {
  assert.equal(primarySyncView(asyncCfg, primary('', [row({syncState: 'async'})]), 'node2', row()).state, 'async')
  const byHand = primarySyncView(asyncCfg, primary('"node2"', [row()]), 'node2', row())
  assert.equal(byHand.state, 'sync')
  assert.match(byHand.text, /replication.mode is async, but synchronous_standby_names is '"node2"'/)
  assert.equal(primarySyncView(asyncCfg, primary('"node2"', []), 'node2', undefined).state, 'waiting')
})

test('primary: no answer or not read is unknown', () => {
  assert.equal(primarySyncView(cfg, {where: 'x', reachable: false, error: 'down'}, 'node2', undefined).state, 'unknown')
  assert.equal(primarySyncView(cfg, {where: 'x', reachable: true, inRecovery: false}, 'node2', undefined).state, 'unknown')
})

test('standby: the replicated heartbeat row tells sync or degraded; an old schema is unknown', () => {
  const standby = (h?: NodeFacts['heartbeat']): NodeFacts => ({where: 'local', reachable: true, inRecovery: true, heartbeat: h})
  const me = cfg.node.name
  assert.equal(standbySyncView(cfg, standby(hb(me))).state, 'sync')
  const not = standbySyncView(cfg, standby(hb(null)))
  assert.equal(not.state, 'degraded')
  assert.match(not.text, /not synchronous with any standby; a promotion here could lose commits/)
  assert.match(standbySyncView(cfg, standby(hb('other'))).text, /synchronous with other, not node1/)
  assert.equal(standbySyncView(cfg, standby(hb(undefined))).state, 'unknown')
  assert.equal(standbySyncView(cfg, standby()).state, 'unknown')
  assert.equal(standbySyncView(asyncCfg, standby(hb(null))).state, 'async')
})

test('cluster view: from whichever node is primary, else from this standby', () => {
  const p = primary('"node2"', [row()])
  const s: NodeFacts = {where: 'peer', reachable: true, inRecovery: true, heartbeat: hb('node2')}
  assert.equal(clusterSyncView(cfg, p, s).state, 'sync')
  // Seen from the standby node2's config: the peer (node1) is primary and names node2... here names node2 from the other side.
  const p2 = primary('"node1"', [row({applicationName: 'node1', clientAddr: cfg.node.address})])
  assert.equal(clusterSyncView(cfg, {...s, heartbeat: hb('node1')}, p2).state, 'sync')
  assert.equal(clusterSyncView(cfg, {...s, heartbeat: hb(null)}, {where: 'peer', reachable: false, error: 'down'}).state, 'degraded')
  assert.equal(
    clusterSyncView(cfg, {where: 'l', reachable: false, error: 'x'}, {where: 'p', reachable: false, error: 'y'}).state,
    'unknown',
  )
})

test('verdict: degraded WARNING, waiting CRITICAL, sync/async/unknown OK; the worse of lag and sync wins', () => {
  assert.equal(syncVerdict({state: 'degraded', text: ''}), 'WARNING')
  assert.equal(syncVerdict({state: 'waiting', text: ''}), 'CRITICAL')
  for (const state of ['sync', 'async', 'unknown'] as const) assert.equal(syncVerdict({state, text: ''}), 'OK')
  const ok = {state: 'OK' as const, text: 'lag fine', perf: []}
  assert.deepEqual(withSync(ok, {state: 'unknown', text: 'x'}), ok)
  assert.deepEqual(withSync(ok, {state: 'degraded', text: 'degraded: y'}), {
    state: 'WARNING',
    text: 'lag fine; replication degraded: y',
    perf: [],
  })
  assert.equal(withSync({...ok, state: 'CRITICAL'}, {state: 'degraded', text: 'd'}).state, 'CRITICAL')
})

test('check lag folds the state in: degraded primary WARNING with the reason, sync OK, blocked CRITICAL', () => {
  const degraded = replicationLagCheck(cfg, primary('', [row({syncState: 'async'})], hb(null)))
  assert.equal(degraded.state, 'WARNING')
  assert.match(degraded.text, /replication degraded since .*: synchronous_standby_names is empty.*not re-armed yet/)
  const sync = replicationLagCheck(cfg, primary('"node2"', [row()], hb('node2')))
  assert.equal(sync.state, 'OK')
  assert.match(sync.text, /replication sync since/)
  assert.equal(replicationLagCheck(cfg, primary('"node2"', [row({syncState: 'potential'})])).state, 'CRITICAL')
  const standby = replicationLagCheck(cfg, {where: 'l', reachable: true, inRecovery: true, heartbeat: hb(null)})
  assert.equal(standby.state, 'WARNING')
  assert.equal(replicationLagCheck(asyncCfg, primary('', [row({syncState: 'async'})])).state, 'OK')
})

import assert from 'node:assert/strict'
import {test} from 'node:test'
import {replicationLagCheck} from '../../../src/lib/status/nagios.js'
import type {NodeFacts} from '../../../src/lib/status/read-node.js'
import {testConfig} from '../../helpers/ha-fixtures.js'

const cfg = testConfig()
const primary = (rows: NodeFacts['replication']): NodeFacts => ({where: 'local', reachable: true, inRecovery: false, replication: rows})
const row = (addr: string, lagBytes: number, lagSeconds: number) => ({
  clientAddr: addr,
  applicationName: 'n2',
  state: 'streaming',
  syncState: 'async',
  lagBytes,
  lagSeconds,
})

test('check lag on a primary: its peer row in pg_stat_replication, none streaming is CRITICAL', () => {
  assert.equal(replicationLagCheck(cfg, primary([row(cfg.peer.address, 1024, 0.1)])).state, 'OK')
  assert.equal(replicationLagCheck(cfg, primary([row(cfg.peer.address, 500e6, 0.1)])).state, 'CRITICAL')
  const none = replicationLagCheck(cfg, primary([]))
  assert.equal(none.state, 'CRITICAL')
  assert.match(none.text, /no standby streaming from it/)
})

test('check lag on a standby: the replicated heartbeat row; no row is UNKNOWN; no answer is CRITICAL', () => {
  const standby = (heartbeat?: NodeFacts['heartbeat']): NodeFacts => ({where: 'local', reachable: true, inRecovery: true, heartbeat})
  assert.equal(replicationLagCheck(cfg, standby({ageMs: 400, lagBytes: 0, writtenBy: 'node2'})).state, 'OK')
  assert.equal(replicationLagCheck(cfg, standby({ageMs: 3_600_000, lagBytes: 0, writtenBy: 'node2'})).state, 'CRITICAL')
  assert.match(replicationLagCheck(cfg, standby()).text, /no heartbeat row/)
  assert.equal(replicationLagCheck(cfg, standby()).state, 'UNKNOWN')
  const down = replicationLagCheck(cfg, {where: 'local', reachable: false, error: 'ECONNREFUSED'})
  assert.deepEqual([down.state, down.text], ['CRITICAL', 'the local database does not answer: ECONNREFUSED'])
})

/** Pure parts of the synchronous replication step: names, the SQL it would run, list parsing. */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {armedStandbyNames, namesPeer, syncChangeSql} from '../../../src/lib/steps/sync-replication.js'
import {testConfig} from '../../helpers/ha-fixtures.js'

test('the armed value names the peer, double-quoted', () => {
  assert.equal(armedStandbyNames(testConfig()), '"node2"')
})

test('only values that differ are set, then one reload', () => {
  assert.deepEqual(syncChangeSql({standbyNames: '"node2"', commit: 'on'}, {standbyNames: '"node2"', commit: 'on'}), [])
  assert.deepEqual(syncChangeSql({standbyNames: '', commit: 'on'}, {standbyNames: '"node2"', commit: 'on'}), [
    `ALTER SYSTEM SET synchronous_standby_names = '"node2"'`,
    'SELECT pg_catalog.pg_reload_conf()',
  ])
  assert.deepEqual(syncChangeSql({standbyNames: '"node2"', commit: 'off'}, {standbyNames: ''}), [
    `ALTER SYSTEM SET synchronous_standby_names = ''`,
    'SELECT pg_catalog.pg_reload_conf()',
  ])
  assert.deepEqual(syncChangeSql({standbyNames: 'x', commit: 'local'}, {commit: 'on'}), [
    `ALTER SYSTEM SET synchronous_commit = 'on'`,
    'SELECT pg_catalog.pg_reload_conf()',
  ])
})

test('namesPeer reads plain, quoted, FIRST/ANY lists and *', () => {
  assert.equal(namesPeer('"node2"', 'node2'), true)
  assert.equal(namesPeer('node2', 'node2'), true)
  assert.equal(namesPeer('FIRST 1 (node3, "node2")', 'node2'), true)
  assert.equal(namesPeer('ANY 1 (node3)', 'node2'), false)
  assert.equal(namesPeer('*', 'node2'), true)
  assert.equal(namesPeer('', 'node2'), false)
})

test('config: replication defaults to sync with a 2s stallTimeout; async and durations parse; bad mode is refused', async () => {
  const {configSchema} = await import('../../../src/lib/config/schema.js')
  const base = {
    cluster: 'c',
    node: {name: 'node1', address: '192.0.2.11'},
    peer: {name: 'node2', address: '192.0.2.12'},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {datadir: '/d'},
    fence: {agent: 'none'},
  }
  assert.deepEqual(configSchema.parse(base).replication, {mode: 'sync', stallTimeout: 2000, connectTimeout: 10_000, sqlTimeout: 2000})
  assert.deepEqual(configSchema.parse({...base, replication: {mode: 'async', stallTimeout: '1500ms'}}).replication, {
    mode: 'async',
    stallTimeout: 1500,
    connectTimeout: 10_000,
    sqlTimeout: 2000,
  })
  const bad = configSchema.safeParse({...base, replication: {mode: 'quorum'}})
  assert.equal(bad.success, false)
  assert.match(JSON.stringify(bad.error?.issues), /replication/)
})

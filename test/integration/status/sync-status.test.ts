/**
 * What `pgha status`, `pgha check lag` and `pgha heartbeat` say about synchronous replication,
 * on a real primary + standby (ports 56000–56001), through the real CLI: armed and streaming
 * → sync; synchronous_standby_names cleared → degraded (since the heartbeat row's sync_since)
 * and check lag WARNING; the standby's own check reads the replicated row.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {heartbeat} from '../../../src/lib/steps/heartbeat.js'
import {ensureSyncArmed, ensureSyncDegraded} from '../../../src/lib/steps/sync-replication.js'
import {realExec, SystemContext} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {RUN_JS} from '../../helpers/paths.js'
import {Cleanups, startSyncPair, type TestNode, waitFor} from '../../helpers/pg.js'

describe('status and check lag show the synchronous replication state', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let standby: TestNode
  let ready = false
  const files = {primary: '', standby: ''}
  const ctx = new SystemContext()
  const cli = (file: string, ...args: string[]) =>
    realExec.run([process.execPath, RUN_JS, ...args, '--config', file], {timeoutMs: 60_000, env: {PGHA_CONFIG: undefined}})
  const json = async (file: string, ...args: string[]) => {
    const r = await cli(file, ...args, '--json')
    assert.ok(r.stdout, `no JSON from ${args.join(' ')}: ${r.stderr}`)
    return {exitCode: r.exitCode, out: JSON.parse(r.stdout) as {result: Record<string, unknown>}}
  }

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const pair = await startSyncPair(c, 'jasync', 56000, {primary: 'japrim', standby: 'jastby'}, {replication: {mode: 'sync'}})
    const {root, passfile} = pair
    ;({primary, standby} = pair)
    primary.cfg = pair.cfg
    const write = (who: TestNode, peer: string) => {
      const p = who.cfg.postgres
      const file = join(root, `${who.node.name}.yaml`)
      writeFileSync(
        file,
        YAML.stringify({
          cluster: 'jasync',
          node: {name: who.node.name, address: '127.0.0.11'},
          // Both servers listen on 127.0.0.1; the peer is found by application_name.
          peer: {name: peer, address: '127.0.0.1'},
          network: {interface: 'janone0', gateway: '127.0.0.254', vipPrimary: '127.0.0.100/8', vipStandby: '127.0.0.101/8'},
          postgres: {bindir: p.bindir, datadir: p.datadir, port: p.port, socketDir: p.socketDir, passfile, stepTimeout: '30s'},
          replication: {mode: 'sync'},
          fence: {agent: 'none'},
          timing: {probeTimeout: '1s'},
          stateDir: join(root, `${who.node.name}-state`),
        }),
      )
      return file
    }
    files.primary = write(primary, 'jastby')
    files.standby = write(standby, 'japrim')
    await waitFor(
      'standby streaming',
      15_000,
      async () =>
        (await nodePsql(primary.node, "SELECT state FROM pg_stat_replication WHERE application_name = 'jastby';")) === 'streaming',
    )
    ready = true
  })
  after(() => c.run())

  test('armed and streaming as sync: status says sync, check lag OK, heartbeat names the standby', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncArmed(ctx, primary.cfg)
    await waitFor('sync', 10_000, async () => (await heartbeat(ctx, primary.cfg, 'local')).syncWith === 'jastby')

    const hb = await cli(files.primary, 'heartbeat')
    assert.equal(hb.exitCode, 0, hb.stdout + hb.stderr)
    assert.match(hb.stdout, /standby lag \d+ bytes, synchronous with jastby/)
    t.diagnostic(hb.stdout)

    const status = await json(files.primary, 'status')
    const sync = status.out.result.sync as {state: string; text: string; since?: string}
    assert.equal(sync.state, 'sync', sync.text)
    assert.match(sync.text, /^sync since \S+: commits wait for jastby's flush \(synchronous_standby_names "jastby"\)/)
    assert.match(String(status.out.result.summary), /replication sync$/)
    const text = await cli(files.primary, 'status')
    t.diagnostic(text.stdout)
    assert.match(text.stdout, /^synchronous: sync since .* commits wait for jastby's flush/m)

    const lag = await cli(files.primary, 'check', 'lag')
    assert.equal(lag.exitCode, 0, lag.stdout + lag.stderr)
    assert.match(lag.stdout, /^PGHA LAG OK - .*; replication sync since/)
    t.diagnostic(lag.stdout)
    await waitFor('the sync row on the standby', 10_000, async () => (await heartbeat(ctx, standby.cfg, 'local')).syncWith === 'jastby')
    const onStandby = await cli(files.standby, 'check', 'lag')
    assert.equal(onStandby.exitCode, 0, onStandby.stdout + onStandby.stderr)
    assert.match(onStandby.stdout, /replication sync since \S+: the primary's last heartbeat row says it was synchronous with jastby/)
  })

  test('synchronous_standby_names cleared: degraded since the first unsynchronous row, check lag WARNING on both', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncArmed(ctx, primary.cfg)
    await heartbeat(ctx, primary.cfg, 'local')
    await ensureSyncDegraded(ctx, primary.cfg, {kind: 'manual', detail: 'test'})
    const first = await waitFor('an unsynchronous row', 10_000, async () => {
      const r = await heartbeat(ctx, primary.cfg, 'local')
      return r.syncWith === null && r
    })
    await new Promise((r) => setTimeout(r, 1100))
    await heartbeat(ctx, primary.cfg, 'local') // a later row keeps sync_since

    const status = await json(files.primary, 'status')
    const sync = status.out.result.sync as {state: string; text: string; since?: string}
    assert.equal(sync.state, 'degraded', sync.text)
    assert.match(
      sync.text,
      /^degraded since \S+: synchronous_standby_names is empty, commits do not wait for jastby; jastby streams but is not re-armed yet/,
    )
    const sinceMs = Date.parse(sync.since ?? '')
    const firstMs = Date.parse(first.lastAlive ?? '')
    assert.ok(Math.abs(sinceMs - firstMs) < 50, `since ${sync.since} is the first unsynchronous row ${first.lastAlive}`)

    const lag = await cli(files.primary, 'check', 'lag')
    assert.equal(lag.exitCode, 1, lag.stdout + lag.stderr)
    assert.match(lag.stdout, /^PGHA LAG WARNING - .*; replication degraded since \S+: synchronous_standby_names is empty/)
    t.diagnostic(lag.stdout)
    t.diagnostic((await cli(files.primary, 'status')).stdout)
    const lagJson = await json(files.primary, 'check', 'lag')
    assert.equal(lagJson.exitCode, 1)
    assert.match(JSON.stringify(lagJson.out), /"state":"WARNING"/)

    await waitFor(
      'the unsynchronous row on the standby',
      10_000,
      async () => (await heartbeat(ctx, standby.cfg, 'local')).syncWith === null,
    )
    const onStandby = await cli(files.standby, 'check', 'lag')
    assert.equal(onStandby.exitCode, 1, onStandby.stdout + onStandby.stderr)
    assert.match(onStandby.stdout, /not synchronous with any standby; a promotion here could lose commits/)
    t.diagnostic(onStandby.stdout)
  })
})

/**
 * Synchronous replication on a real primary + standby (ports 55700–55701): arming names the
 * standby and commits wait for it; the primary's own heartbeat never waits; with the standby
 * gone commits block until a degrade, which refuses without a proof of the fence; a returning
 * standby is re-armed; the heartbeat row records whom the primary was synchronous with.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {realExec} from '../../../src/lib/system/exec.js'
import {SafetyRefusal} from '../../../src/lib/errors.js'
import {nodePsql, startNode, stopNode} from '../../../src/lib/lab/pgcluster.js'
import {heartbeat} from '../../../src/lib/steps/heartbeat.js'
import {ensureSyncArmed, ensureSyncDegraded} from '../../../src/lib/steps/sync-replication.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {RUN_JS} from '../../helpers/paths.js'
import {Cleanups, settled, startSyncPair, type TestNode, waitFor} from '../../helpers/pg.js'

describe('synchronous replication on a real pair', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let standby: TestNode
  let ready = false
  let configFile = ''
  const ctx = () => new SystemContext()
  const cli = (...args: string[]) =>
    realExec.run([process.execPath, RUN_JS, ...args, '--config', configFile], {timeoutMs: 60_000, env: {PGHA_CONFIG: undefined}})

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const pair = await startSyncPair(c, 'hssync', 55700, {primary: 'hsprim', standby: 'hsstby'})
    const {root, passfile} = pair
    ;({primary, standby} = pair)
    primary.cfg = pair.cfg
    const p = primary.cfg.postgres
    configFile = join(root, 'pgha.config.yaml')
    writeFileSync(
      configFile,
      YAML.stringify({
        cluster: 'hssync',
        node: {name: 'hsprim', address: '192.0.2.11'},
        peer: {name: 'hsstby', address: '192.0.2.12'},
        network: {interface: 'hsnone0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
        postgres: {bindir: p.bindir, datadir: p.datadir, port: p.port, socketDir: p.socketDir, passfile, stepTimeout: '30s'},
        fence: {agent: 'none'},
        timing: {probeTimeout: '2s'},
        stateDir: join(root, 'state'),
      }),
    )
    await nodePsql(primary.node, 'CREATE TABLE IF NOT EXISTS t (id serial PRIMARY KEY, at timestamptz DEFAULT now());')
    await waitFor(
      'standby streaming',
      15_000,
      async () =>
        (await nodePsql(
          primary.node,
          "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'hsstby' AND state = 'streaming';",
        )) === '1',
    )
    ready = true
  })
  after(() => c.run())

  const insert = (timeoutMs = 20_000) => nodePsql(primary.node, 'INSERT INTO t DEFAULT VALUES;', 'postgres', timeoutMs)

  test('arming names the standby (once), and the heartbeat row records it', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const before = await heartbeat(ctx(), primary.cfg, 'local')
    assert.equal(before.syncWith, null, 'not synchronous before arming')
    const armed = await ensureSyncArmed(ctx(), primary.cfg)
    assert.equal(armed.changed, true)
    assert.match(armed.summary, /^synchronous replication re-armed: commits now wait for hsstby/)
    assert.equal(await nodePsql(primary.node, 'SHOW synchronous_standby_names;'), '"hsstby"')
    assert.equal(await nodePsql(primary.node, 'SHOW synchronous_commit;'), 'on')
    assert.equal((await ensureSyncArmed(ctx(), primary.cfg)).changed, false, 'idempotent')
    await waitFor(
      'sync_state sync',
      10_000,
      async () =>
        (await nodePsql(primary.node, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'hsstby';")) === 'sync',
    )
    const hb = await heartbeat(ctx(), primary.cfg, 'local')
    assert.equal(hb.syncWith, 'hsstby')
    await insert(5000)
    const replicated = await waitFor('row on the standby', 10_000, async () => {
      const r = await heartbeat(ctx(), standby.cfg, 'local')
      return r.syncWith === 'hsstby' && r
    })
    assert.equal(replicated.role, 'standby')
  })

  test('standby gone: commits block, the heartbeat does not; no proof → refused; fence proof → released', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await stopNode(standby.node, 'immediate', 10_000)
    const blocked = insert()
    blocked.catch(() => undefined)
    assert.equal(await settled(blocked, 1500), 'pending', 'a commit waits for the synchronous standby')
    const hb = await heartbeat(ctx(), primary.cfg, 'local', {timeoutMs: 2000})
    assert.equal(hb.ok, true, `the primary's own heartbeat commits locally: ${hb.error}`)
    await assert.rejects(ensureSyncDegraded(ctx(), primary.cfg, undefined), SafetyRefusal)
    assert.equal(await settled(blocked, 500), 'pending', 'a refused degrade released nothing')
    assert.equal(await nodePsql(primary.node, 'SHOW synchronous_standby_names;'), '"hsstby"')
    const started = Date.now()
    const d = await ensureSyncDegraded(ctx(), primary.cfg, {kind: 'fence-verified', detail: 'test: standby powered off'})
    assert.equal(d.changed, true)
    assert.match(
      d.summary,
      /^degraded to asynchronous: synchronous_standby_names '"hsstby"' cleared, waiting commits released \(test: standby powered off\)$/,
    )
    assert.equal(await settled(blocked, 5000), 'done', 'the waiting commit went through')
    t.diagnostic(`commit released ${Date.now() - started} ms after the degrade started`)
    await insert(5000)
    assert.equal((await heartbeat(ctx(), primary.cfg, 'local')).syncWith, null)
    assert.equal((await ensureSyncDegraded(ctx(), primary.cfg, {kind: 'manual', detail: 'again'})).changed, false, 'idempotent')
  })

  test('the standby comes back: re-armed, commits wait for it again', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await startNode(standby.node)
    await waitFor(
      'standby streaming again',
      15_000,
      async () =>
        (await nodePsql(primary.node, "SELECT state FROM pg_stat_replication WHERE application_name = 'hsstby';")) === 'streaming',
    )
    const r = await ensureSyncArmed(ctx(), primary.cfg)
    assert.equal(r.changed, true)
    await waitFor('sync again', 10_000, async () => (await heartbeat(ctx(), primary.cfg, 'local')).syncWith === 'hsstby')
    assert.equal(await settled(insert(), 5000), 'done')
  })

  test('pgha degrade: asks first, --dry-run shows the SQL and changes nothing, --yes degrades once', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    assert.equal(await nodePsql(primary.node, 'SHOW synchronous_standby_names;'), '"hsstby"')
    const unasked = await cli('degrade')
    assert.equal(unasked.exitCode, 2, unasked.stderr)
    assert.match(
      unasked.stderr,
      /refusing without confirmation: stop waiting for hsstby\? Commits acknowledged after this exist only on this host/,
    )
    const dry = await cli('degrade', '--dry-run', '--json')
    assert.equal(dry.exitCode, 0, dry.stderr)
    assert.match(JSON.stringify(JSON.parse(dry.stdout).plan), /ALTER SYSTEM SET synchronous_standby_names = ''/)
    assert.equal(await nodePsql(primary.node, 'SHOW synchronous_standby_names;'), '"hsstby"', 'dry run changed nothing')
    const done = await cli('degrade', '--yes')
    assert.equal(done.exitCode, 0, done.stderr)
    assert.match(done.stdout + done.stderr, /degraded to asynchronous/)
    assert.equal(await nodePsql(primary.node, 'SHOW synchronous_standby_names;'), '')
    const again = await cli('degrade', '--yes')
    assert.equal(again.exitCode, 0)
    assert.match(again.stdout + again.stderr, /nothing to release/)
  })
})

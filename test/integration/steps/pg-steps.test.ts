/**
 * The PostgreSQL steps against a real primary and a real streaming standby on 127.0.0.1
 * (ports 55401/55402): detect-role, start/stop, init, heartbeat. Promotion has its own file.
 */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:net'
import {after, before, describe, test} from 'node:test'
import {SafetyRefusal} from '../../../src/lib/errors.js'
import {join} from 'node:path'
import {nodePsql, passfileLine, writeOwnedFile} from '../../../src/lib/lab/pgcluster.js'
import {ensureDbRunning, ensureDbStopped} from '../../../src/lib/steps/db.js'
import {detectRole} from '../../../src/lib/steps/detect-role.js'
import {heartbeat, heartbeatAt} from '../../../src/lib/steps/heartbeat.js'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, startStandby, tempRoot, type TestNode, waitFor, writePassfile} from '../../helpers/pg.js'

const PRIMARY_PORT = 55401
const STANDBY_PORT = 55402
const ctx = () => new SystemContext()
const dry = () => new SystemContext(undefined, true)

describe('PostgreSQL steps on a real primary + standby', () => {
  const c = new Cleanups()
  let primary: TestNode
  let standby: TestNode
  let ready = false

  let root = ''
  const need = {root: true, commands: ['runuser']}
  const haveAll = () => isRoot() && hasCommand('runuser')

  before(async () => {
    if (!haveAll()) return
    root = tempRoot(c, 'pgsteps')
    const passfile = writePassfile(root)
    primary = await startPrimary(c, root, passfile, PRIMARY_PORT)
    standby = await startStandby(c, root, passfile, primary.node, STANDBY_PORT)
    ready = true
  })
  after(() => c.run())

  test('detect-role: running primary and running standby, from pg_is_in_recovery()', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const p = await detectRole(ctx(), primary.cfg)
    assert.equal(p.role, 'primary')
    assert.equal(p.running, true)
    assert.ok(p.evidence.includes('pg_is_in_recovery() = false'), p.evidence.join('; '))
    const s = await detectRole(ctx(), standby.cfg)
    assert.equal(s.role, 'standby')
    assert.equal(s.running, true)
    assert.ok(s.evidence.includes('pg_is_in_recovery() = true'), s.evidence.join('; '))
    assert.equal(s.pgMajor >= 12, true)
  })

  test('init --dry-run plans the SQL and creates nothing', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const d = dry()
    const r = await ensureInit(d, primary.cfg, {password: HB_PASSWORD})
    assert.equal(r.changed, false)
    const sql = d.plan.map((a) => (a.kind === 'sql' ? a.sql : '')).join('\n')
    assert.match(sql, /CREATE ROLE "pgha" LOGIN/)
    assert.match(sql, /CREATE DATABASE "pgha"/)
    assert.match(sql, /CREATE FUNCTION pgha\.heartbeat/)
    assert.match(sql, /PASSWORD :'pgha_password'/)
    assert.ok(!JSON.stringify(d.plan).includes(HB_PASSWORD), 'the password must not appear in the plan')
    assert.equal(await nodePsql(primary.node, "SELECT count(*) FROM pg_database WHERE datname = 'pgha';"), '0')
    assert.equal(await nodePsql(primary.node, "SELECT count(*) FROM pg_roles WHERE rolname = 'pgha';"), '0')
  })

  test('init creates a non-superuser role and guarded tables; twice is a no-op', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const first = await ensureInit(ctx(), primary.cfg, {password: HB_PASSWORD})
    assert.equal(first.changed, true)
    const second = await ensureInit(ctx(), primary.cfg)
    assert.equal(second.changed, false, second.summary)
    assert.equal(
      await nodePsql(
        primary.node,
        "SELECT rolsuper, rolcanlogin, pg_has_role('pgha', 'pg_monitor', 'MEMBER') FROM pg_roles WHERE rolname = 'pgha';",
      ),
      'f\tt\tt',
    )
    for (const sql of [
      'DELETE FROM pgha.heartbeat;',
      'TRUNCATE pgha.heartbeat;',
      'DELETE FROM pgha.cluster_state;',
      'TRUNCATE pgha.cluster_state;',
    ]) {
      await assert.rejects(nodePsql(primary.node, sql, 'pgha'), /not allowed/, sql)
    }
    assert.equal(
      await nodePsql(primary.node, 'SELECT count(*) FROM pgha.heartbeat; SELECT paused FROM pgha.cluster_state;', 'pgha'),
      '1\nf',
    )
    // On the standby everything arrives by replication; init there changes nothing.
    const onStandby = await waitFor('the schema on the standby', 10_000, async () => {
      const r = await ensureInit(ctx(), standby.cfg).catch(() => undefined)
      return r && !r.changed ? r : undefined
    })
    assert.match(onStandby.summary, /replicated/)
  })

  test('heartbeat: the primary writes, the standby reads the replicated age and lag', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const p = await heartbeat(ctx(), primary.cfg, 'local')
    assert.equal(p.ok, true, p.error)
    assert.equal(p.role, 'primary')
    assert.equal(p.ageMs, 0)
    assert.equal(typeof p.lagBytes, 'number', 'the standby streams from 127.0.0.1 = peer.address: its lag is reported')
    const viaTcp = await heartbeatAt(ctx(), primary.cfg, {kind: 'tcp', host: '127.0.0.1', port: PRIMARY_PORT}, {peerAddr: '127.0.0.1'})
    assert.equal(viaTcp.ok, true, viaTcp.error)
    assert.ok(viaTcp.lastAlive! >= p.lastAlive!)
    const s = await waitFor('the heartbeat row on the standby', 10_000, async () => {
      const r = await heartbeat(ctx(), standby.cfg, 'local')
      return r.ok && r.lastAlive === viaTcp.lastAlive ? r : undefined
    })
    assert.equal(s.role, 'standby')
    assert.ok(s.ageMs! >= 0 && s.ageMs! < 10_000, `age ${s.ageMs}`)
    assert.equal(s.lagBytes, viaTcp.lagBytes)
    assert.equal(s.writtenBy, primary.cfg.node.name)
    t.diagnostic(
      `heartbeat latency: primary socket ${p.latencyMs} ms, primary tcp ${viaTcp.latencyMs} ms, standby socket ${s.latencyMs} ms`,
    )
  })

  test('heartbeat --dry-run rolls the write back', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const before = await nodePsql(primary.node, 'SELECT last_alive FROM pgha.heartbeat;', 'pgha')
    const d = dry()
    const r = await heartbeat(d, primary.cfg, 'local')
    assert.equal(r.ok, true, r.error)
    assert.equal(r.rolledBack, true)
    assert.equal(d.plan.length, 1)
    assert.equal(await nodePsql(primary.node, 'SELECT last_alive FROM pgha.heartbeat;', 'pgha'), before)
  })

  test('heartbeat never throws and never hangs: refused port, silent server, wrong password', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const refused = await heartbeatAt(ctx(), primary.cfg, {kind: 'tcp', host: '127.0.0.1', port: 55499}, {timeoutMs: 1000})
    assert.equal(refused.ok, false)
    assert.match(refused.error!, /ECONNREFUSED/)
    const silent: Server = createServer(() => undefined) // accepts, never answers
    await new Promise<void>((r) => silent.listen(55498, '127.0.0.1', r))
    try {
      const hung = await heartbeatAt(ctx(), primary.cfg, {kind: 'tcp', host: '127.0.0.1', port: 55498}, {timeoutMs: 800})
      assert.equal(hung.ok, false)
      assert.ok(hung.latencyMs < 3000, `took ${hung.latencyMs} ms`)
    } finally {
      silent.close()
    }
    const wrong = join(root, 'wrong-pgpass')
    writeOwnedFile(wrong, passfileLine({host: '*', port: '*', database: '*', user: 'pgha', password: 'not-the-password'}) + '\n')
    const cfg = {...primary.cfg, postgres: {...primary.cfg.postgres, passfile: wrong}}
    const badPass = await heartbeatAt(ctx(), cfg, {kind: 'tcp', host: '127.0.0.1', port: PRIMARY_PORT}, {timeoutMs: 2000})
    assert.equal(badPass.ok, false)
    assert.match(badPass.error!, /password authentication failed/)
    assert.ok(!badPass.error!.includes('not-the-password'))
  })

  test('stop/start are idempotent; detect-role reads the files of stopped servers', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const d = dry()
    const planned = await ensureDbStopped(d, standby.cfg, {mode: 'fast'})
    assert.equal(planned.changed, false)
    assert.ok(
      d.plan.some((a) => a.kind === 'exec' && a.argv.includes('stop')),
      JSON.stringify(d.plan),
    )
    assert.equal((await detectRole(ctx(), standby.cfg)).running, true, 'dry run left it running')

    assert.equal((await ensureDbStopped(ctx(), standby.cfg, {mode: 'fast'})).changed, true)
    assert.equal((await ensureDbStopped(ctx(), standby.cfg, {mode: 'immediate'})).changed, false)
    const s = await detectRole(ctx(), standby.cfg)
    assert.deepEqual([s.role, s.running], ['standby', false])
    assert.ok(
      s.evidence.some((e) => e.includes('standby.signal')),
      s.evidence.join('; '),
    )
    assert.equal((await ensureDbRunning(ctx(), standby.cfg, {vipPrimaryTaken: async () => true})).changed, true, 'a standby ignores VIP-M')
    assert.equal((await ensureDbRunning(ctx(), standby.cfg)).changed, false)

    assert.equal((await ensureDbStopped(ctx(), primary.cfg, {mode: 'immediate'})).changed, true)
    const p = await detectRole(ctx(), primary.cfg)
    assert.deepEqual([p.role, p.running], ['primary', false])
    await assert.rejects(
      ensureDbRunning(ctx(), primary.cfg, {vipPrimaryTaken: async () => ({taken: true, detail: 'arping: 1 reply'})}),
      SafetyRefusal,
    )
    assert.equal((await detectRole(ctx(), primary.cfg)).running, false, 'refusal changed nothing')
    const forced = await ensureDbRunning(ctx(), primary.cfg, {force: true, vipPrimaryTaken: async () => true})
    assert.equal(forced.changed, true)
    assert.equal((await ensureDbRunning(ctx(), primary.cfg, {vipPrimaryTaken: async () => false})).changed, false)
  })
})

/**
 * Promotion of a real streaming standby (ports 55411/55412): refusal without the guard, a dry
 * run that changes nothing, the real promotion with restore_command put back, and idempotence.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {SafetyRefusal} from '../../../src/lib/errors.js'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {detectRole} from '../../../src/lib/steps/detect-role.js'
import {heartbeat} from '../../../src/lib/steps/heartbeat.js'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {ensurePromoted} from '../../../src/lib/steps/promote.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, startStandby, tempRoot, type TestNode, waitFor, writePassfile} from '../../helpers/pg.js'

const RESTORE = 'test -f /nonexistent/%f && cp /nonexistent/%f %p'
const allow = async () => ({allowed: true, why: 'test: peer fenced'})
const deny = async () => ({allowed: false, why: 'test: peer power is on; VIP-M is taken'})

describe('promote a real streaming standby', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let standby: TestNode
  let ready = false

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const root = tempRoot(c, 'pgpromote')
    const passfile = writePassfile(root)
    primary = await startPrimary(c, root, passfile, 55411)
    await ensureInit(new SystemContext(), primary.cfg, {password: HB_PASSWORD})
    standby = await startStandby(c, root, passfile, primary.node, 55412)
    // Set by ALTER SYSTEM (postgresql.auto.conf): the promotion must put back exactly this value.
    await nodePsql(standby.node, `ALTER SYSTEM SET restore_command = '${RESTORE}';\nSELECT pg_reload_conf();`)
    await waitFor('restore_command reloaded', 5000, async () => (await nodePsql(standby.node, 'SHOW restore_command;')) === RESTORE)
    ready = true
  })
  after(() => c.run())

  const inRecovery = async () => (await nodePsql(standby.node, 'SELECT pg_is_in_recovery();')) === 't'

  test('a primary is already promoted: nothing to do', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await ensurePromoted(new SystemContext(), primary.cfg, {guard: deny})
    assert.equal(r.changed, false)
    assert.match(r.summary, /already primary/)
  })

  test('refused (exit 3) when the guard does not allow it; nothing changes', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await assert.rejects(ensurePromoted(new SystemContext(), standby.cfg, {guard: deny}), (e: unknown) => {
      assert.ok(e instanceof SafetyRefusal)
      assert.equal(e.exitCode, 3)
      assert.match(e.message, /peer power is on/)
      return true
    })
    assert.equal(await inRecovery(), true)
  })

  test('--dry-run plans every change and leaves the standby in recovery', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const d = new SystemContext(undefined, true)
    const r = await ensurePromoted(d, standby.cfg, {guard: allow})
    assert.equal(r.changed, false)
    const shown = d.plan.map((a) => (a.kind === 'sql' ? a.sql : a.kind === 'exec' ? a.argv.join(' ') : a.path))
    assert.match(shown[0], /ALTER SYSTEM SET restore_command = ''/)
    assert.match(shown[0], /pg_reload_conf/)
    assert.match(shown[1], /pg_ctl promote -D \S+ -w -t \d+$/)
    assert.match(shown[2], new RegExp(`ALTER SYSTEM SET restore_command = '${RESTORE.replace(/[/%.&]/g, '\\$&')}'`))
    assert.equal(shown[3], 'CHECKPOINT;')
    assert.equal(d.plan.length, 4)
    assert.equal(await inRecovery(), true)
    assert.equal(await nodePsql(standby.node, 'SHOW restore_command;'), RESTORE)
  })

  test('promotes: writable, restore_command put back, CHECKPOINT; a second promote is a no-op', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await ensurePromoted(new SystemContext(), standby.cfg, {guard: allow})
    assert.equal(r.changed, true, r.summary)
    t.diagnostic(`promotion took ${r.durationMs} ms`)
    assert.equal(await inRecovery(), false)
    await nodePsql(standby.node, 'CREATE TABLE written_after_promotion (x int); INSERT INTO written_after_promotion VALUES (1);')
    assert.equal(await nodePsql(standby.node, 'SHOW restore_command;'), RESTORE)
    assert.match(readFileSync(join(standby.node.dataDir, 'postgresql.auto.conf'), 'utf8'), /restore_command = 'test -f/)

    const again = await ensurePromoted(new SystemContext(), standby.cfg, {guard: deny})
    assert.equal(again.changed, false)
    const role = await detectRole(new SystemContext(), standby.cfg)
    assert.deepEqual([role.role, role.running], ['primary', true])
    const hb = await heartbeat(new SystemContext(), standby.cfg, 'local')
    assert.equal(hb.ok, true, hb.error)
    assert.equal(hb.role, 'primary')
  })
})

/**
 * promote's restore_command off/on dance keeps the value byte for byte, whatever it holds:
 * a tab, quotes, a backslash (real standby on 127.0.0.1:55611, primary 55610).
 */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {ensurePromoted} from '../../../src/lib/steps/promote.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {sqlLiteral} from '../../../src/lib/system/pgctl.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, startStandby, tempRoot, type TestNode, waitFor, writePassfile} from '../../helpers/pg.js'

// Fails fast (no such file): the standby streams, so it is only tried when streaming stops.
const RESTORE = "test -f '/nonexistent/%f'\t&& cp \"/nonexistent/%f\" %p # back\\slash, tab\tand 'quotes'"
const allow = async () => ({allowed: true, why: 'test: peer fenced'})

describe('restore_command survives promotion exactly', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let standby: TestNode
  let ready = false
  const showRestore = async () => {
    // Hex so psql's tab separator cannot blur the comparison.
    const hex = await nodePsql(standby.node, "SELECT encode(convert_to(current_setting('restore_command'), 'UTF8'), 'hex');")
    return Buffer.from(hex.trim(), 'hex').toString('utf8')
  }

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const root = tempRoot(c, 'hpg-restore')
    const passfile = writePassfile(root)
    const primary = await startPrimary(c, root, passfile, 55610)
    await ensureInit(new SystemContext(), primary.cfg, {password: HB_PASSWORD})
    standby = await startStandby(c, root, passfile, primary.node, 55611)
    await nodePsql(standby.node, `ALTER SYSTEM SET restore_command = ${sqlLiteral(RESTORE)};\nSELECT pg_reload_conf();`)
    await waitFor('restore_command reloaded', 5000, async () => (await showRestore()) === RESTORE)
    ready = true
  })
  after(() => c.run())

  test('the dry-run plan puts back the exact value (not RESET)', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const d = new SystemContext(undefined, true)
    await ensurePromoted(d, standby.cfg, {guard: allow})
    const sql = d.plan.filter((a) => a.kind === 'sql').map((a) => (a.kind === 'sql' ? a.sql : ''))
    assert.ok(
      sql.some((s) => s.startsWith(`ALTER SYSTEM SET restore_command = ${sqlLiteral(RESTORE)};`)),
      sql.join('\n---\n'),
    )
    assert.ok(!sql.some((s) => s.includes('RESET restore_command')), 'the value must not be reset')
  })

  test('after a real promotion the server has the same value, tabs, quotes and backslash included', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await ensurePromoted(new SystemContext(), standby.cfg, {guard: allow})
    assert.equal(r.changed, true, r.summary)
    assert.equal(await nodePsql(standby.node, 'SELECT pg_is_in_recovery();'), 'f')
    assert.equal(await showRestore(), RESTORE)
  })
})

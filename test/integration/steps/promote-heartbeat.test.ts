/**
 * The watch loop's promotion path (ports 55431–55434): reads and pg_promote over one
 * heartbeat-role connection, psql only for restore_command; falls back to the psql path
 * when the heartbeat role lacks EXECUTE on pg_promote.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {SafetyRefusal} from '../../../src/lib/errors.js'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {runAction} from '../../../src/lib/loop/actions.js'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {ensurePromoted, type EnsurePromotedOptions} from '../../../src/lib/steps/promote.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {createLogger} from '../../../src/lib/log.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, startStandby, tempRoot, type TestNode, waitFor, writePassfile} from '../../helpers/pg.js'

const RESTORE = 'test -f /nonexistent/%f && cp /nonexistent/%f %p'
const allow = async () => ({allowed: true, why: 'test: peer fenced'})
const deny = async () => ({allowed: false, why: 'test: peer power is on'})
/** The options the watch loop promotes with (loop/actions.ts). */
const watchPath = (o: Pick<EnsurePromotedOptions, 'guard'> & Partial<EnsurePromotedOptions>): EnsurePromotedOptions => ({
  checkpoint: false,
  via: 'heartbeat',
  restoreCommand: 'off-if-nfs',
  ...o,
})

describe('promotion through the heartbeat connection (the watch path) of real streaming standbys', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let standbyA: TestNode
  let standbyB: TestNode
  let standbyC: TestNode
  let ready = false

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const root = tempRoot(c, 'pgpromotefast')
    const passfile = writePassfile(root)
    primary = await startPrimary(c, root, passfile, 55431)
    await ensureInit(new SystemContext(), primary.cfg, {password: HB_PASSWORD})
    standbyA = await startStandby(c, root, passfile, primary.node, 55432, {}, 'standbyA')
    // The restore_command dance is for an NFS peer archive; the argv is not run here (mode is read only).
    standbyA.cfg.archive = {...standbyA.cfg.archive, mode: 'nfs', source: '192.0.2.12:/archive'}
    standbyB = await startStandby(c, root, passfile, primary.node, 55433, {}, 'standbyB')
    standbyC = await startStandby(c, root, passfile, primary.node, 55434, {}, 'standbyC')
    await nodePsql(standbyA.node, `ALTER SYSTEM SET restore_command = '${RESTORE}';\nSELECT pg_reload_conf();`)
    await waitFor('restore_command reloaded', 5000, async () => (await nodePsql(standbyA.node, 'SHOW restore_command;')) === RESTORE)
    ready = true
  })
  after(() => c.run())

  const inRecovery = async (n: TestNode) => (await nodePsql(n.node, 'SELECT pg_is_in_recovery();')) === 't'

  test('refused by the guard: stays in recovery', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await assert.rejects(ensurePromoted(new SystemContext(), standbyA.cfg, watchPath({guard: deny})), SafetyRefusal)
    assert.equal(await inRecovery(standbyA), true)
  })

  test('promotes with pg_promote, puts restore_command back; again is a no-op', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await ensurePromoted(
      new SystemContext(undefined, false, createLogger({sink: (l) => t.diagnostic(l)})),
      standbyA.cfg,
      watchPath({guard: allow}),
    )
    assert.equal(r.changed, true)
    assert.match(r.summary, /^promoted to primary in \d+ ms through pg_promote \(test: peer fenced\)$/)
    t.diagnostic(`fast promotion took ${r.durationMs} ms`)
    assert.equal(await inRecovery(standbyA), false)
    assert.equal(await nodePsql(standbyA.node, 'SHOW restore_command;'), RESTORE)
    const again = await ensurePromoted(new SystemContext(), standbyA.cfg, watchPath({guard: deny}))
    assert.equal(again.changed, false)
    assert.match(again.summary, /already primary/)
  })

  test('without EXECUTE on pg_promote it falls back to psql and still promotes', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    // The grant replicates from the primary: revoke there, wait until the standby sees it.
    await nodePsql(primary.node, 'REVOKE EXECUTE ON FUNCTION pg_catalog.pg_promote(boolean, integer) FROM pgha;', 'pgha')
    await waitFor(
      'revoke replicated',
      10_000,
      async () =>
        (await nodePsql(
          standbyB.node,
          "SELECT has_function_privilege('pgha', 'pg_catalog.pg_promote(boolean, integer)', 'EXECUTE');",
          'pgha',
        )) === 'f',
    )
    const r = await ensurePromoted(new SystemContext(), standbyB.cfg, watchPath({guard: allow, checkpoint: false}))
    assert.equal(r.changed, true)
    assert.match(r.summary, /through pg_ctl promote/)
    assert.equal(await inRecovery(standbyB), false)
  })

  test("the watch's promote action: refused without proof; promoted on this tick's verified fence without asking again", async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const decision = {fenceTries: 2, actions: ['fencePeer', 'promote', 'claimVipPrimary'] as const}
    // No fence agent and no VIP-M interface here: without the carry's proof the guard refuses.
    await assert.rejects(runAction(new SystemContext(), standbyC.cfg, 'promote', decision, {}, {}), /refusing to promote/)
    assert.equal(await inRecovery(standbyC), true)
    const r = await runAction(new SystemContext(), standbyC.cfg, 'promote', decision, {}, {fenceVerified: true})
    // pg_ctl promote when the test above has revoked EXECUTE on pg_promote
    assert.match(
      r.summary,
      /^promoted to primary in \d+ ms through (pg_promote|pg_ctl promote) \(peer power is off \(verified by this tick's fence\)\)$/,
    )
    assert.equal(await inRecovery(standbyC), false)
  })
})

/**
 * Re-arming synchronous replication the way the watch loop does it, on a real pair (ports
 * 56002–56003): the real Observer's sync probe, decide() and the real armSync action. A
 * standby that was away comes back, streams, catches up → primary.arm-sync, and
 * synchronous_standby_names names it again; a standby that is connected but behind (its
 * walreceiver stopped while WAL is pending) is not re-armed until it has caught up.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import type {Config} from '../../../src/lib/config/schema.js'
import {runAction} from '../../../src/lib/loop/actions.js'
import {decide} from '../../../src/lib/core/decide.js'
import {Observer} from '../../../src/lib/observe/observe.js'
import {type Decision, FRESH_MEMORY, type Observations} from '../../../src/lib/core/types.js'
import {nodePsql, startNode, stopNode} from '../../../src/lib/lab/pgcluster.js'
import {ensureSyncArmed, ensureSyncDegraded} from '../../../src/lib/steps/sync-replication.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {primaryObs} from '../../helpers/ha-fixtures.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, settled, startSyncPair, type TestNode, waitFor} from '../../helpers/pg.js'

describe('watch: re-arm synchronous replication on a real pair', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let standby: TestNode
  let cfg: Config
  let observer: Observer
  let ready = false
  const ctx = new SystemContext()
  const LIMIT = 64 * 1024

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    ;({primary, standby, cfg} = await startSyncPair(
      c,
      'jarearm',
      56002,
      {primary: 'jarprim', standby: 'jarstby'},
      {lag: {releaseStandbyVip: {maxAge: '400s', maxBytes: '64kB'}}, timing: {probeTimeout: '1s'}},
    ))
    assert.equal(cfg.lag.releaseStandbyVip.maxBytes, LIMIT)
    await nodePsql(primary.node, 'CREATE TABLE t (id serial PRIMARY KEY, pad text);')
    await waitFor('standby streaming', 15_000, async () => (await peerState()) === 'streaming')
    observer = new Observer(ctx, cfg, {arp: 'probe'})
    c.add(() => observer.close())
    ready = true
  })
  after(() => c.run())

  const peerState = () => nodePsql(primary.node, "SELECT state FROM pg_stat_replication WHERE application_name = 'jarstby';")
  const names = () => nodePsql(primary.node, 'SHOW synchronous_standby_names;')
  const insert = (rows: number) =>
    nodePsql(primary.node, `INSERT INTO t (pad) SELECT repeat('x', 100) FROM generate_series(1, ${rows});`, 'postgres', 30_000)
  /** One watch tick on the primary: real local + sync observations in an otherwise steady snapshot (no VIPs here). */
  async function tick(): Promise<{d: Decision; o: Observations}> {
    const o = (await observer.observe()).obs
    const d = decide('primary', primaryObs({local: o.local, sync: o.sync}), cfg, Date.now(), {
      ...FRESH_MEMORY,
      role: 'primary',
      since: Date.now() - 60_000,
    })
    return {d, o}
  }
  /** Ticks until the decision re-arms; runs its actions like the loop. */
  async function untilRearmed(timeoutMs: number): Promise<{d: Decision; o: Observations; summary: string}> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const {d, o} = await tick()
      if (d.rule === 'primary.arm-sync') {
        assert.deepEqual(d.actions, ['armSync'])
        const r = await runAction(ctx, cfg, 'armSync', d)
        return {d, o, summary: r.summary}
      }
      assert.ok(Date.now() < deadline, `not re-armed: ${d.rule} ${JSON.stringify(o.sync)}`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  test('the standby was away (degraded); it returns, streams, catches up → re-armed, commits wait for it again', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncArmed(ctx, cfg)
    await stopNode(standby.node)
    await ensureSyncDegraded(ctx, cfg, {kind: 'manual', detail: 'test: the standby is stopped'})
    await insert(2000) // commits proceed while degraded; the standby will have to catch up on them
    for (let i = 0; i < 3; i++) {
      const {d, o} = await tick()
      assert.notEqual(d.rule, 'primary.arm-sync', `re-armed a standby that is away: ${JSON.stringify(o.sync)}`)
      assert.equal(o.sync?.armed, 'no')
    }
    await startNode(standby.node)
    const {d, o, summary} = await untilRearmed(20_000)
    t.diagnostic(`${d.reason} → ${summary}`)
    assert.match(d.reason, /jarstby streams and has caught up \(\d+ bytes pending\): re-arming synchronous replication/)
    assert.ok((o.sync?.pendingBytes ?? 0) <= LIMIT, `caught up when armed: ${JSON.stringify(o.sync)}`)
    assert.match(summary, /synchronous replication re-armed: commits now wait for jarstby \(synchronous_standby_names was ''\)/)
    assert.equal(await names(), '"jarstby"')
    assert.equal((await tick()).o.sync?.armed, 'yes', 'the next tick sees it armed')
    // Armed for real: a commit waits for the standby's flush, so it holds the row once the commit returns.
    await nodePsql(standby.node, 'SELECT 1;')
    assert.equal(await settled(insert(1), 5000), 'done')
    assert.equal(await nodePsql(primary.node, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'jarstby';"), 'sync')
  })

  test('a connected standby that is behind (walreceiver stopped, WAL pending) is not re-armed until it catches up', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncDegraded(ctx, cfg, {kind: 'manual', detail: 'test'})
    await waitFor('standby streaming', 15_000, async () => (await peerState()) === 'streaming')
    const wr = Number(await nodePsql(standby.node, 'SELECT pid FROM pg_stat_wal_receiver;'))
    assert.ok(wr > 0, 'walreceiver pid')
    process.kill(wr, 'SIGSTOP')
    let stopped = true
    const resume = () => {
      if (!stopped) return
      stopped = false
      try {
        process.kill(wr, 'SIGCONT')
      } catch {
        // gone
      }
    }
    c.add(resume)
    await insert(3000) // degraded: commits proceed, about 400 kB of WAL the standby does not confirm
    let behind = 0
    for (let i = 0; i < 8; i++) {
      const {d, o} = await tick()
      assert.equal(await peerState(), 'streaming', 'the walsender still says streaming')
      assert.notEqual(d.rule, 'primary.arm-sync', `re-armed a standby that is behind: ${JSON.stringify(o.sync)}`)
      if ((o.sync?.pendingBytes ?? 0) > LIMIT) behind++
      await new Promise((r) => setTimeout(r, 250))
    }
    assert.ok(behind >= 7, `the probe saw the standby behind (${behind} of 8 ticks)`)
    assert.equal(await names(), '', 'still degraded')
    resume()
    const {o, summary} = await untilRearmed(20_000)
    t.diagnostic(`after SIGCONT: ${summary} (${o.sync?.pendingBytes} bytes pending)`)
    assert.ok((o.sync?.pendingBytes ?? 0) <= LIMIT)
    assert.equal(await names(), '"jarstby"')
  })

  test('replication.mode switched to async while armed: the watch clears synchronous_standby_names, no fence needed', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncArmed(ctx, cfg)
    assert.equal(await names(), '"jarstby"')
    const asyncCfg: Config = {...cfg, replication: {...cfg.replication, mode: 'async'}}
    const o = (await observer.observe()).obs
    const d = decide('primary', primaryObs({local: o.local, sync: o.sync}), asyncCfg, Date.now(), {
      ...FRESH_MEMORY,
      role: 'primary',
      since: Date.now() - 60_000,
    })
    assert.equal(d.rule, 'primary.async-disarm', d.reason)
    assert.deepEqual(d.actions, ['disarmSync'])
    const r = await runAction(ctx, asyncCfg, 'disarmSync', d)
    t.diagnostic(`${d.reason} → ${r.summary}`)
    assert.match(r.summary, /synchronous_standby_names '"jarstby"' cleared, commits no longer wait for jarstby/)
    assert.equal(await names(), '')
    // Stopped standby: a commit returns at once (it would hang if still armed).
    await stopNode(standby.node)
    c.add(() => startNode(standby.node).catch(() => undefined))
    assert.equal(await settled(insert(1), 5000), 'done')
    const again = (await observer.observe()).obs
    assert.equal(again.sync?.armed, 'no')
    assert.equal((await runAction(ctx, asyncCfg, 'disarmSync', d)).changed, false, 'idempotent')
  })
})

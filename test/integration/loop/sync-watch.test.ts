/**
 * The watch loop's synchronous-replication path on a real pair (ports 55702–55703): the real
 * Observer's sync probe, decide(), and the real actions (runAction) with a fence command that
 * "powers off" the standby by killing its postmaster. A stalled walreceiver (SIGSTOP) is
 * detected within stallTimeout; a broken fence leaves commits blocked and nothing degraded; a
 * working one fences, then degrades, and the blocked commit proceeds; a standby whose synchronous row predates its own watch claims no zero loss.
 */
import assert from 'node:assert/strict'
import {chmodSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import type {Config} from '../../../src/lib/config/schema.js'
import {SafetyRefusal} from '../../../src/lib/errors.js'
import {runAction} from '../../../src/lib/loop/actions.js'
import {decide} from '../../../src/lib/core/decide.js'
import {Observer} from '../../../src/lib/observe/observe.js'
import {type ActionName, type Decision, FRESH_MEMORY, type Observations} from '../../../src/lib/core/types.js'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {heartbeat} from '../../../src/lib/steps/heartbeat.js'
import {ensureDbRunning, ensureDbStopped} from '../../../src/lib/steps/db.js'
import {ensureSyncArmed} from '../../../src/lib/steps/sync-replication.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {FREE, primaryObs, standbyObs} from '../../helpers/ha-fixtures.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, nodeConfig, settled, startSyncPair, type TestNode, waitFor} from '../../helpers/pg.js'

describe('watch: fence, then degrade, on a real pair', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let standby: TestNode
  let cfg: Config
  let dir = ''
  let ready = false
  const ctx = new SystemContext()

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const pair = await startSyncPair(c, 'hswatch', 55702, {primary: 'hsprim', standby: 'hsstby'})
    const {root, passfile} = pair
    dir = root
    ;({primary, standby} = pair)
    standby.cfg = nodeConfig(standby.node, passfile, {peer: {name: 'hsprim', address: '127.0.0.1'}})
    // The fence "powers off" the standby host: kill its postmaster and every child (a stopped
    // walreceiver too); status reads the power file.
    const script = join(root, 'fence.sh')
    writeFileSync(
      script,
      `#!/bin/sh
[ -f ${root}/fence-broken ] && { echo "BMC does not answer" >&2; exit 1; }
case "$1" in
  off) pm="$(head -1 ${standby.node.dataDir}/postmaster.pid)"; kill -KILL $(ps -o pid= --ppid "$pm") "$pm" 2>/dev/null; echo off > ${root}/power; echo "Chassis Power is off" ;;
  on) echo on > ${root}/power ;;
  status) if [ "$(cat ${root}/power 2>/dev/null)" = off ]; then echo "Chassis Power is off"; else echo "Chassis Power is on"; fi ;;
esac
`,
    )
    chmodSync(script, 0o755)
    cfg = nodeConfig(primary.node, passfile, {
      peer: {name: 'hsstby', address: '127.0.0.1'},
      replication: {mode: 'sync', stallTimeout: '2s'},
      fence: {agent: 'command', command: [script, '{action}'], timeout: '5s'},
      timing: {probeTimeout: '1s'},
    })
    await nodePsql(primary.node, 'CREATE TABLE t (id serial PRIMARY KEY);')
    await waitFor(
      'standby streaming',
      15_000,
      async () =>
        (await nodePsql(primary.node, "SELECT state FROM pg_stat_replication WHERE application_name = 'hsstby';")) === 'streaming',
    )
    ready = true
  })
  after(() => c.run())

  const insert = () => nodePsql(primary.node, 'INSERT INTO t DEFAULT VALUES;', 'postgres', 60_000)
  /** Real local + sync observations inside an otherwise steady primary snapshot (the VIPs are not under test here). */
  const primaryView = (o: Observations): Observations => primaryObs({local: o.local, sync: o.sync})
  /** Run a decision's actions like the loop: in order, stop at the first failure. */
  async function run(d: Decision): Promise<{done: ActionName[]; failed?: {action: ActionName; error: unknown}}> {
    const done: ActionName[] = []
    for (const a of d.actions) {
      if (a === 'claimVipStandby') continue // no VIPs in this test
      try {
        await runAction(ctx, cfg, a, d)
        done.push(a)
      } catch (error) {
        return {done, failed: {action: a, error}}
      }
    }
    return {done}
  }

  test('a standby whose synchronous row predates its own watch does not claim zero loss', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncArmed(ctx, cfg)
    await waitFor('sync', 10_000, async () => (await heartbeat(ctx, cfg, 'local')).syncWith === 'hsstby')
    const early = new Observer(ctx, standby.cfg, {arp: 'probe'})
    c.add(() => early.close())
    await new Promise((r) => setTimeout(r, 50))
    await heartbeat(ctx, cfg, 'local') // a row written after `early` started, while synchronous with hsstby
    await waitFor('sync row on the standby', 10_000, async () => {
      const l = (await early.observe()).obs.local
      return l.syncWith === 'hsstby' && (l.heartbeatAgeMs ?? 1e9) < 1000
    })
    const late = new Observer(ctx, standby.cfg, {arp: 'probe'}) // "restarted" after the last row
    c.add(() => late.close())
    const mem = {
      ...FRESH_MEMORY,
      role: 'standby' as const,
      since: Date.now() - 60_000,
      primarySeen: true,
      peerFailures: 5,
      peerDeadSince: Date.now() - 10_000,
    }
    const failover = async (o: Observer) => {
      const obs = (await o.observe()).obs
      return decide(
        'standby',
        standbyObs({
          local: obs.local,
          watchStartedAt: obs.watchStartedAt,
          viaVipPrimary: {port: 'no', heartbeat: 'failed', inRecovery: 'unknown'},
          vipPrimary: FREE,
          peer: {port: 'no', heartbeat: 'failed', inRecovery: 'unknown'},
        }),
        {...standby.cfg, fence: cfg.fence},
        Date.now(),
        mem,
      )
    }
    const claim = await failover(early)
    assert.equal(claim.rule, 'standby.failover')
    assert.match(claim.reason, /promoted with zero data loss \(synchronous\)/)
    const noClaim = await failover(late)
    assert.equal(noClaim.rule, 'standby.failover')
    assert.match(noClaim.reason, /possible data loss: up to .* of commits \(the last synchronous heartbeat row predates this watch/)
  })

  test('a primary restarted with sync armed waits replication.connectTimeout for its standby to reconnect, and fences nobody', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncArmed(ctx, cfg)
    // The standby's walreceiver retries only every wal_retrieve_retry_interval: 8 s makes its
    // absence outlast stallTimeout (2 s) for sure, as the 5 s default often does after a cold start.
    await nodePsql(standby.node, "ALTER SYSTEM SET wal_retrieve_retry_interval = '8s'; SELECT pg_reload_conf();")
    c.add(() => nodePsql(standby.node, 'ALTER SYSTEM RESET wal_retrieve_retry_interval; SELECT pg_reload_conf();').then(() => undefined))
    await ensureDbStopped(ctx, cfg, {mode: 'fast'})
    await ensureDbRunning(ctx, cfg)
    const tookRole = Date.now()
    const observer = new Observer(ctx, cfg, {arp: 'probe'})
    c.add(() => observer.close())
    const rules: string[] = []
    let stalledAbsent: Observations | undefined
    for (;;) {
      const o = (await observer.observe()).obs
      const d = decide('primary', primaryView(o), cfg, Date.now(), {...FRESH_MEMORY, role: 'primary', since: tookRole})
      rules.push(d.rule)
      if (o.sync?.peerState === 'absent' && o.sync.stalledMs >= 2000) stalledAbsent = o
      if (o.sync?.peerState === 'streaming' && o.sync.stalledMs === 0) break
      assert.ok(Date.now() - tookRole < 20_000, `the standby did not reconnect: ${d.rule} ${JSON.stringify(o.sync)}`)
      await new Promise((r) => setTimeout(r, 250))
    }
    t.diagnostic(`reconnected ${Date.now() - tookRole} ms after the restart; rules: ${[...new Set(rules)].join(', ')}`)
    assert.ok(stalledAbsent, 'the walsender was absent for longer than stallTimeout')
    assert.ok(rules.includes('primary.sync-connect-wait'), 'the wait was said')
    assert.ok(!rules.some((r) => r.includes('stalled')), `no stall counted: ${rules.join(' ')}`)
    // The same observation past the grace is a stall: fence, then degrade.
    const late = decide('primary', primaryView(stalledAbsent), cfg, Date.now(), {
      ...FRESH_MEMORY,
      role: 'primary',
      since: tookRole - 60_000,
    })
    assert.equal(late.rule, 'primary.sync-stalled')
  })

  test('stall, broken fence: commits stay blocked, nothing degrades; fence works: fence → degrade → commits proceed', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    await ensureSyncArmed(ctx, cfg)
    const observer = new Observer(ctx, cfg, {arp: 'probe'})
    c.add(() => observer.close())
    await waitFor('armed and streaming', 10_000, async () => {
      const s = (await observer.observe()).obs.sync
      return s?.armed === 'yes' && s.peerState === 'streaming' && s.stalledMs === 0
    })
    // A busy healthy standby: commits flow, the stall clock stays at zero.
    for (let i = 0; i < 5; i++) {
      await insert()
      assert.ok(((await observer.observe()).obs.sync?.stalledMs ?? -1) < 1000, 'no stall while the standby keeps up')
    }

    const wr = Number(await nodePsql(standby.node, 'SELECT pid FROM pg_stat_wal_receiver;'))
    assert.ok(wr > 0, 'walreceiver pid')
    process.kill(wr, 'SIGSTOP')
    c.add(() => {
      try {
        process.kill(wr, 'SIGCONT')
      } catch {
        // gone
      }
    })
    const stoppedAt = Date.now()
    const blocked = insert()
    blocked.catch(() => undefined)
    let d: Decision | undefined
    for (;;) {
      const o = (await observer.observe()).obs
      d = decide('primary', primaryView(o), cfg, Date.now(), {...FRESH_MEMORY, role: 'primary', since: Date.now() - 60_000})
      if (d.rule === 'primary.sync-stalled') break
      assert.ok(Date.now() - stoppedAt < 10_000, `not detected: ${d.rule} ${JSON.stringify(o.sync)}`)
      await new Promise((r) => setTimeout(r, 250))
    }
    const detectedMs = Date.now() - stoppedAt
    t.diagnostic(`stall detected ${detectedMs} ms after SIGSTOP of the walreceiver (stallTimeout 2s): ${d.reason}`)
    assert.ok(detectedMs >= 2000 && detectedMs < 2000 + 1500, `detected within stallTimeout plus one probe round: ${detectedMs} ms`)
    assert.deepEqual(d.actions, ['fencePeer', 'degradeSync', 'claimVipStandby'])
    assert.equal(await settled(blocked, 10), 'pending')

    writeFileSync(join(dir, 'fence-broken'), '')
    const broken = await run(d)
    assert.equal(broken.failed?.action, 'fencePeer', 'the fence failed, so the loop stops before degradeSync')
    await assert.rejects(
      runAction(ctx, cfg, 'degradeSync', {actions: ['degradeSync'], memory: {role: 'primary'}} as unknown as Decision),
      SafetyRefusal,
    )
    assert.equal(await settled(blocked, 1000), 'pending', 'commits stay blocked')
    assert.equal(await nodePsql(primary.node, 'SHOW synchronous_standby_names;'), '"hsstby"', 'nothing degraded')

    rmSync(join(dir, 'fence-broken'))
    const fencedAt = Date.now()
    const ok = await run(d)
    assert.deepEqual(ok.done, ['fencePeer', 'degradeSync'], String(ok.failed?.error))
    assert.equal(await settled(blocked, 5000), 'done', 'the waiting commit went through')
    t.diagnostic(`fence + degrade released the commit in ${Date.now() - fencedAt} ms`)
    assert.equal(readFileSync(join(dir, 'power'), 'utf8').trim(), 'off')
  })
})

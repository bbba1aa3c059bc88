import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {LoadEntry} from '../../../src/lib/lab/figures.js'
import {ackedBetween, degradeTick, lossReport} from '../../../src/lib/lab/heavy-figures.js'
import {heavyLoadOptions, replicationMode} from '../../../src/lib/lab/heavy.js'
import {labLayout} from '../../../src/lib/lab/layout.js'
import {pickScenarios} from '../../../src/lib/lab/run-drill.js'
import type {WatchLine} from '../../../src/lib/lab/timeline.js'

const ack = (n: number, t = n): LoadEntry => ({t, n, ok: true, ms: 1})
const fail = (n: number, t = n): LoadEntry => ({t, n, ok: false, ms: 1000, err: 'timeout'})

describe('heavy load: counting acknowledged writes lost', () => {
  it('counts an acknowledged id missing on the primary, and only acknowledged ones', () => {
    // 8 connections interleave ids; #5 was acknowledged but is missing, #6 failed and is missing.
    const entries = [ack(1), ack(2), ack(3), ack(4), ack(5), fail(6), ack(7)]
    const r = lossReport(entries, [1, 2, 3, 4, 7])
    assert.equal(r.acked, 6)
    assert.equal(r.lost, 1)
    assert.deepEqual(r.lostIds, [5])
    assert.equal(r.failedButKept, 0)
  })

  it('reports nothing lost when every acknowledged id is there, and counts failed attempts that committed', () => {
    const r = lossReport([ack(1), fail(2), ack(3)], [1, 2, 3])
    assert.deepEqual(r, {acked: 2, lost: 0, lostIds: [], failedButKept: 1})
  })

  it('lists at most `show` lost ids but counts all of them', () => {
    const entries = Array.from({length: 50}, (_, i) => ack(i + 1))
    const r = lossReport(entries, [], 3)
    assert.equal(r.lost, 50)
    assert.deepEqual(r.lostIds, [1, 2, 3])
  })

  it('acknowledgements inside a window', () => {
    const entries = [ack(1, 100), ack(2, 200), fail(3, 250), ack(4, 300)]
    assert.equal(ackedBetween(entries, 100, 300), 2)
    assert.equal(ackedBetween(entries, 300, Number.POSITIVE_INFINITY), 0)
  })
})

describe('heavy load: the degrading tick', () => {
  const line = (t: number, actions: string[], o: Partial<WatchLine> = {}): WatchLine => ({t, reason: 'r', actions, ...o})

  it('finds the first tick that ran degradeSync after the fault, with when its actions began', () => {
    const lines = [
      line(500, ['fencePeer', 'degradeSync']), // before the fault
      line(1500, ['writeHeartbeat']),
      line(4000, ['fencePeer', 'degradeSync', 'claimVipStandby'], {actionsMs: 1200}),
    ]
    assert.deepEqual(degradeTick(lines, 1000), {startedAt: 2800, degradedAt: 4000, doneAt: 4000, fencedFirst: true})
  })

  it('the degrade is done when its step returned, not when a slow later action let the line be written', () => {
    const steps = [
      'fence attempt 1 of 2 on node2: power is off after 189 ms (BMC: Chassis Power is off)',
      'fencePeer: peer node2 power is already off; nothing to do (190 ms)',
      'degradeSync: degraded to asynchronous: synchronous_standby_names cleared (23 ms)',
      'claimVipStandby: claimed VIP-S, announced with 3 gratuitous ARPs (5099 ms)',
    ]
    const t = degradeTick([line(10_000, ['fencePeer', 'degradeSync', 'claimVipStandby'], {actionsMs: 5312, steps})], 0)
    assert.deepEqual(t, {startedAt: 4688, degradedAt: 4688 + 190 + 23, doneAt: 10_000, fencedFirst: true})
  })

  it('skips a tick whose fence failed (it stopped before degrading)', () => {
    const lines = [line(2000, ['fencePeer', 'degradeSync'], {failed: 'fencePeer'}), line(3000, ['fencePeer', 'degradeSync'])]
    assert.equal(degradeTick(lines, 1000)?.doneAt, 3000)
  })

  it('says so when a tick degraded without fencing first', () => {
    assert.equal(degradeTick([line(2000, ['degradeSync'])], 0)?.fencedFirst, false)
    assert.equal(degradeTick([line(2000, ['degradeSync', 'fencePeer'])], 0)?.fencedFirst, false)
    assert.equal(degradeTick([line(2000, ['writeHeartbeat'])], 0), undefined)
  })
})

describe('heavy load: options and mode', () => {
  it('writes as fast as commits return, with no statement_timeout (it would report a waiting commit as done)', () => {
    const o = heavyLoadOptions({connections: 8})
    assert.equal(o.intervalMs, 0)
    assert.equal(o.connections, 8)
    assert.equal(o.statementTimeoutMs, 0)
    assert.ok((o.queryTimeoutMs ?? 0) > 0)
  })

  it('reads replication.mode from the lab hosts (sync when unset)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgha-heavy-'))
    try {
      const lab = labLayout('jcmode', dir)
      assert.equal(replicationMode(lab), 'sync', 'no config yet: the default')
      for (const h of Object.values(lab.hosts)) mkdirSync(h.dir, {recursive: true})
      writeFileSync(lab.hosts.node1.configFile, 'cluster: x\n')
      writeFileSync(lab.hosts.node2.configFile, 'replication:\n  mode: sync\n')
      assert.equal(replicationMode(lab), 'sync')
      writeFileSync(lab.hosts.node2.configFile, 'replication:\n  mode: async\n')
      assert.equal(replicationMode(lab), 'async')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('a plain drill leaves the heavy scenarios out; they run by name', () => {
    assert.ok(!pickScenarios([]).some((s) => s.name.startsWith('heavy-')))
    assert.deepEqual(
      pickScenarios(['heavy-failover', 'heavy-standby-loss']).map((s) => s.name),
      ['heavy-failover', 'heavy-standby-loss'],
    )
  })
})

/** The watch's side of a one-command switchover: when it runs this host's half, and the half lock's holder. */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {partnerHalfWanted, SwitchoverPartner} from '../../../src/lib/loop/switchover-partner.js'
import {silentLogger} from '../../../src/lib/log.js'
import {HalfLockBusy, heldBy, lockHalf, parseHalfLock} from '../../../src/lib/steps/switchover-lock.js'
import {newMarker} from '../../../src/lib/steps/switchover-plan.js'
import type {SwitchoverOptions, SwitchoverOutcome} from '../../../src/lib/steps/switchover.js'
import {testConfig} from '../../helpers/ha-fixtures.js'

const CFG = testConfig()
const NOW = Date.parse('2026-12-02T12:00:00Z')
const marker = (over: Record<string, unknown> = {}) => ({...newMarker('node1', 'node2', new Date(NOW), 300_000, () => 0.5), ...over})

test('the watch runs a half only for a fresh, requested marker of this pair, once per marker id', () => {
  const m = marker()
  assert.equal(partnerHalfWanted(CFG, m, NOW, new Set()), undefined)
  assert.equal(partnerHalfWanted(CFG, marker({from: 'node2', to: 'node1'}), NOW, new Set()), undefined, 'either direction')
  assert.equal(partnerHalfWanted(CFG, undefined, NOW, new Set()), 'no switchover marker')
  assert.match(partnerHalfWanted(CFG, marker({phase: 'promoted'}), NOW, new Set())!, /past its start \(phase promoted\)/)
  assert.match(partnerHalfWanted(CFG, m, NOW + 301_000, new Set())!, /is stale/)
  assert.match(partnerHalfWanted(CFG, marker({from: 'node7'}), NOW, new Set())!, /not this pair's/)
  assert.match(partnerHalfWanted(CFG, m, NOW, new Set([m.id]))!, /already ran/)
})

test('SwitchoverPartner starts the half beside the caller (never awaited), one at a time, once per marker', async () => {
  const calls: SwitchoverOptions[] = []
  let finish!: (o: SwitchoverOutcome) => void
  const p = new SwitchoverPartner({
    cfg: CFG,
    log: silentLogger,
    now: () => NOW,
    run: (opts) => {
      calls.push(opts)
      return new Promise((r) => (finish = r))
    },
  })
  const m = marker()
  p.consider(m)
  assert.equal(p.busy, true, 'consider() returned while the half runs')
  p.consider(m)
  p.consider(marker({id: 'so-other'}))
  assert.deepEqual(calls, [{to: 'node2', lockOwner: 'watch'}], 'one half at a time')
  finish({changed: true, summary: 'done', side: 'promote', plan: [], timeline: []})
  await p.settle()
  assert.equal(p.busy, false)
  p.consider(m)
  assert.equal(calls.length, 1, 'the same marker is not run twice')
})

test('the half lock says who holds it; a live holder refuses, a dead one is taken over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-hso-lock-'))
  try {
    const cfg = {...CFG, stateDir: dir}
    assert.deepEqual(parseHalfLock('123 watch\n'), {pid: 123, owner: 'watch'})
    assert.deepEqual(parseHalfLock('123\n'), {pid: 123, owner: 'cli'}, 'a lock from before owners were written')
    const release = lockHalf(cfg, 'watch')
    assert.deepEqual(heldBy(cfg), {pid: process.pid, owner: 'watch'})
    assert.throws(
      () => lockHalf(cfg, 'cli'),
      (e: unknown) => e instanceof HalfLockBusy && e.owner === 'watch' && e.pid === process.pid,
    )
    release()
    assert.equal(heldBy(cfg), undefined)
    writeFileSync(join(dir, 'switchover.lock'), '2147483646 cli\n') // no such process
    lockHalf(cfg, 'cli')()
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

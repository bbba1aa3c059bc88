import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {ScenarioResult} from '../../src/lib/lab/drill.js'
import {labLayout} from '../../src/lib/lab/layout.js'
import {prerequisites} from '../helpers/env.js'
import {cleanup, LAB_COMMANDS, labArgs, leftovers, pgha} from './lab-harness.js'

// The heavy-load scenarios on one lab in sync mode (the lab's default), through the CLI:
// 8 connections insert through VIP-M as fast as commits return, every acknowledged id is
// recorded, and after a power cut of the primary (then of the standby) the drill counts the
// acknowledged ids missing on the final primary. Zero is the promise of synchronous
// replication; the counting itself is unit-tested with a missing id (test/unit/lab/heavy.test.ts).
const name = `jcheavy${process.pid % 1000}`.slice(0, 10)
const lab = labLayout(name, `/tmp/pgha-e2e-${name}`)

describe('pgha lab drill heavy-failover heavy-standby-loss: 0 acknowledged writes lost in sync mode', {timeout: 600_000}, () => {
  let results: ScenarioResult[] = []
  let drill = {code: -1, stdout: '', stderr: ''}
  before(async () => {
    await cleanup(lab)
  })
  after(async () => {
    await cleanup(lab)
  })

  it('runs both heavy scenarios', async (t) => {
    if (!prerequisites(t, {root: true, commands: LAB_COMMANDS})) return
    drill = await pgha(['lab', 'drill', 'heavy-failover', 'heavy-standby-loss', ...labArgs(lab), '--json'], {timeoutMs: 540_000})
    const out = JSON.parse(drill.stdout)
    results = (out.result ?? out).results
    assert.ok(Array.isArray(results) && results.length === 2, `2 scenario results (exit ${drill.code}): ${drill.stderr.slice(-500)}`)
  })

  const scenario = (n: string) => results.find((r) => r.name === n)
  const common = (r: ScenarioResult) => {
    assert.deepEqual(
      r.checks.filter((c) => !c.ok).map((c) => c.text),
      [],
      `${r.name} failed checks`,
    )
    assert.equal(r.figures.replication, 'sync')
    assert.equal(r.figures.lost, 0, 'no acknowledged insert is missing on the final primary')
    assert.ok(r.figures.acked > 100, `the load wrote (${r.figures.acked} acknowledged)`)
    assert.ok(
      r.checks.some((c) => c.ok && /^no acknowledged write lost \(\d+ acknowledged, 0 missing/.test(c.text)),
      'the drill itself counted and checked the loss',
    )
    assert.ok(r.figures.maxWritableWithVipM <= 1)
  }

  it('heavy-failover: the standby took over and nothing acknowledged was lost', (t) => {
    const r = scenario('heavy-failover')
    if (!r) return t.skip('drill did not run')
    common(r)
    assert.equal(r.final[r.roles!.primary], 'off')
    assert.equal(r.final[r.roles!.standby], 'primary_standby')
    assert.ok(
      r.checks.some((c) => c.ok && /^writes go on/.test(c.text)),
      'writes came back on the new primary',
    )
  })

  it('heavy-standby-loss: commits waited, the primary fenced, degraded and went on', (t) => {
    const r = scenario('heavy-standby-loss')
    if (!r) return t.skip('drill did not run')
    common(r)
    assert.equal(r.final[r.roles!.primary], 'primary_standby')
    assert.equal(r.final[r.roles!.standby], 'off')
    for (const re of [
      /fenced .* before degrading/,
      /^no commit acknowledged from \d+ ms after the power cut/,
      /^writes go on after the degrade/,
    ])
      assert.ok(
        r.checks.some((c) => c.ok && re.test(c.text)),
        `check ${re}: ${r.checks.map((c) => c.text).join(' | ')}`,
      )
  })

  it('exits 0 when both passed, and lab down leaves nothing behind', async (t) => {
    if (!prerequisites(t, {root: true, commands: LAB_COMMANDS})) return
    assert.equal(drill.code, results.length === 2 && results.every((r) => r.passed) ? 0 : 1)
    assert.equal((await pgha(['lab', 'down', ...labArgs(lab)], {timeoutMs: 120_000})).code, 0)
    assert.deepEqual(leftovers(lab), [])
  })
})

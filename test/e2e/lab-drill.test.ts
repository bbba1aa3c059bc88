import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {resolve} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ScenarioResult} from '../../src/lib/lab/drill.js'
import {prerequisites} from '../helpers/env.js'
import {cleanup, LAB_COMMANDS, labArgs, leftovers, pgha, testLab} from './lab-harness.js'

// Every drill scenario on one lab, through the CLI a user runs, with pgha watch in both
// hosts and the shipped timings. The drill itself checks (and fails on) each deadline and
// the one-writable-primary invariant; this test also asserts the final states.
const lab = testLab('d')
const watchBuilt = existsSync(resolve(import.meta.dirname, '../../src/commands/watch.js'))

const finalOf = (r: ScenarioResult) => r.final

describe('pgha lab drill: every scenario, invariants and final states', {timeout: 900_000}, () => {
  let results: ScenarioResult[] = []
  let drill = {code: -1, stdout: '', stderr: ''}
  before(async () => {
    await cleanup(lab)
  })
  after(async () => {
    await cleanup(lab)
  })

  it('runs the drill (all scenarios)', async (t) => {
    if (!prerequisites(t, {root: true, commands: LAB_COMMANDS})) return
    if (!watchBuilt) return t.skip('pgha watch is not in this build yet')
    drill = await pgha(['lab', 'drill', ...labArgs(lab), '--json'], {timeoutMs: 840_000})
    const out = JSON.parse(drill.stdout)
    results = (out.result ?? out).results
    assert.ok(Array.isArray(results) && results.length === 8, `8 scenario results (exit ${drill.code}): ${drill.stderr.slice(-500)}`)
  })

  const scenario = (name: string) => results.find((r) => r.name === name)
  const check = (name: string, finalCheck: (r: ScenarioResult) => void) =>
    it(`${name}: passes, never two writable hosts with VIP-M, right final state`, (t) => {
      const r = scenario(name)
      if (!r) return t.skip('drill did not run')
      const failed = r.checks.filter((c) => !c.ok).map((c) => c.text)
      assert.deepEqual(failed, [], `${name} failed checks`)
      assert.ok(r.figures.maxWritableWithVipM <= 1, `max writable with VIP-M: ${r.figures.maxWritableWithVipM}`)
      assert.ok(r.figures.samples > 50, `sampled (${r.figures.samples})`)
      finalCheck(r)
    })

  check('failover', (r) => {
    assert.equal(finalOf(r)[r.roles!.primary], 'off')
    assert.equal(finalOf(r)[r.roles!.standby], 'primary_standby')
    assert.ok(r.figures.faultToWriteMs !== undefined && r.figures.faultToWriteMs < 30_000, 'writes came back')
  })
  check('failback', (r) => {
    assert.equal(finalOf(r)[r.roles!.primary], 'standby', 'the old primary returned as a standby')
    assert.equal(finalOf(r)[r.roles!.standby], 'primary', 'the survivor released VIP-S')
  })
  check('standby-loss', (r) => {
    assert.equal(finalOf(r)[r.roles!.primary], 'primary_standby')
    assert.equal(finalOf(r)[r.roles!.standby], 'off')
  })
  check('db-crash', (r) => {
    assert.equal(Object.values(finalOf(r)).filter((x) => x === 'primary' || x === 'primary_standby').length, 1)
  })
  check('isolate-primary', (r) => {
    assert.equal(finalOf(r)[r.roles!.standby], 'primary_standby')
    assert.equal(finalOf(r)[r.roles!.primary], 'off', 'the isolated primary was fenced')
  })
  check('fence-broken', (r) => {
    assert.ok(
      r.checks.some((c) => c.ok && /never writable/.test(c.text)),
      'the standby did not promote while the fence was impossible',
    )
    assert.equal(finalOf(r)[r.roles!.standby], 'primary_standby', 'it took over once the BMC answered')
  })
  check('freeze-primary', (r) => {
    assert.equal(finalOf(r)[r.roles!.standby], 'primary_standby')
    assert.equal(finalOf(r)[r.roles!.primary], 'off', 'the hung primary was fenced')
  })
  check('cold-start', (r) => {
    assert.equal(Object.values(finalOf(r)).filter((x) => x === 'primary' || x === 'primary_standby').length, 1, 'exactly one primary')
  })

  it('the drill exits 0 only when every scenario passed', (t) => {
    if (results.length === 0) return t.skip('drill did not run')
    assert.equal(drill.code, results.every((r) => r.passed) ? 0 : 1)
  })

  it('lab down leaves nothing behind', async (t) => {
    if (!prerequisites(t, {root: true, commands: LAB_COMMANDS})) return
    assert.equal((await pgha(['lab', 'down', ...labArgs(lab)], {timeoutMs: 120_000})).code, 0)
    assert.deepEqual(leftovers(lab), [])
  })
})

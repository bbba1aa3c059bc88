import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {failoverPhases, parseStep, parseTickLines} from '../../../src/lib/lab/failover-phases.js'

const at = (ms: number) => new Date(1_000_000 + ms).toISOString()
const line = (endMs: number, rule: string, ms: {observe: number; tick: number}, steps?: string[]) =>
  JSON.stringify({ts: at(endMs), level: 'info', msg: 'x', rule, ms, ...(steps ? {steps} : {})})

describe('failover phases from the survivor watch log', () => {
  it('reads a step line and a failed one', () => {
    assert.deepEqual(parseStep('fencePeer: node1 is powered off (verified) (412 ms)'), {action: 'fencePeer', ms: 412, failed: false})
    assert.deepEqual(parseStep('promote FAILED after 30 ms: no'), {action: 'promote', ms: 30, failed: true})
    assert.equal(parseStep('fence attempt 1 of 2 on node1: power is off after 300 ms (ok)'), undefined)
  })

  it('detect, fence.delay, each step and the first write, relative to the fault', () => {
    const log = [
      line(400, 'standby.steady', {observe: 100, tick: 110}),
      'not json',
      line(1300, 'standby.suspect', {observe: 200, tick: 210}),
      line(1900, 'standby.fence-wait', {observe: 150, tick: 160}),
      line(3400, 'standby.failover', {observe: 100, tick: 1000}, [
        'fence attempt 1 of 2 on node1: power is off after 300 ms (ok)',
        'fencePeer: node1 is off (300 ms)',
        'promote: promoted (200 ms)',
        'degradeSync: degraded (50 ms)',
        'claimVipPrimary: claimed (300 ms)',
        'writeHeartbeat: written (50 ms)',
      ]),
    ].join('\n')
    const lines = parseTickLines(log)
    assert.equal(lines.length, 4)
    const p = failoverPhases(lines, 1_000_000 + 500, 1_000_000 + 3300, {detect: ['standby.fence-wait'], act: 'standby.failover'})
    // fence-wait decided at 1900-160+150 = 1890 → 1390 after the fault at 500
    assert.equal(p.detectMs, 1390)
    // failover decided at 3400-1000+100 = 2500
    assert.equal(p.delayMs, 610)
    assert.deepEqual(p.stepMs, {fencePeer: 300, promote: 200, degradeSync: 50, claimVipPrimary: 300, writeHeartbeat: 50})
    assert.equal(p.stepEndMs.fencePeer, 2300)
    assert.equal(p.stepEndMs.claimVipPrimary, 2850)
    // first write at 3300: the last step ended before it is claimVipPrimary (3350)? no: 2500+850=3350 > 3300
    assert.equal(p.afterMs, 3300 - (2500 + 550))
    assert.equal(p.totalMs, 2800)
  })

  it('no acting tick: no delay, no steps', () => {
    const lines = parseTickLines(line(900, 'primary.suspect', {observe: 10, tick: 20}))
    const p = failoverPhases(lines, 1_000_000, undefined, {detect: ['primary.suspect'], act: 'primary.fence-standby'})
    assert.equal(p.detectMs, 890)
    assert.equal(p.delayMs, undefined)
    assert.deepEqual(p.stepMs, {})
    assert.equal(p.totalMs, undefined)
  })
})

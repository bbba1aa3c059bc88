import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {latencySummary, parsePgbenchLog, percentile} from '../../../src/lib/lab/pgbench-log.js'

describe('pgbench per-transaction logs', () => {
  it('reads the latency column of each transaction and counts failed ones apart', () => {
    const log = ['0 1 1520 0 1733150000 100', '0 2 2480 0 1733150000 200', '1 1 failed 0 1733150000 300', 'garbage', ''].join('\n')
    assert.deepEqual(parsePgbenchLog([log]), {latenciesUs: [1520, 2480], failed: 1})
  })

  it('nearest-rank percentiles', () => {
    const xs = Array.from({length: 100}, (_, i) => 100 - i) // 100..1, unsorted
    assert.equal(percentile(xs, 50), 50)
    assert.equal(percentile(xs, 99), 99)
    assert.equal(percentile(xs, 100), 100)
    assert.equal(percentile([7], 99), 7)
    assert.ok(Number.isNaN(percentile([], 50)))
  })

  it('summarises several client logs in milliseconds', () => {
    const a = Array.from({length: 99}, (_, i) => `0 ${i} 1000 0 0 0`).join('\n')
    const b = '1 0 50000 0 0 0\n'
    const s = latencySummary([a, b])
    assert.equal(s.transactions, 100)
    assert.equal(s.p50Ms, 1)
    assert.equal(s.p99Ms, 1)
    assert.equal(s.maxMs, 50)
  })
})

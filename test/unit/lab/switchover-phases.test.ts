import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseHalfEvents, renderPhases} from '../../../src/lib/lab/switchover-phases.js'

describe('switchover phases from the halves’ logs', () => {
  it('reads human and JSON log lines, and only the half events', () => {
    const text = [
      '2026-12-02T20:00:01.100Z INFO  switchover (demote half): stopping PostgreSQL (fast): writes stop here',
      '2026-12-02T20:00:01.150Z INFO  something else entirely',
      '{"ts":"2026-12-02T20:00:01.400Z","level":"info","msg":"switchover (promote half): node1 is down","switchover":"x"}',
      '{"ts":"2026-12-02T20:00:01.5',
      'not a log line',
    ].join('\n')
    const ev = parseHalfEvents(text, 'node2')
    assert.deepEqual(
      ev.map((e) => [e.t - Date.parse('2026-12-02T20:00:01.000Z'), e.source, e.text]),
      [
        [100, 'node2', 'demote: stopping PostgreSQL (fast): writes stop here'],
        [400, 'node2', 'promote: node1 is down'],
      ],
    )
  })

  it('renders the phases relative to the last acknowledged write, in time order', () => {
    const t0 = 1_000_000
    const rows = renderPhases(
      [
        {t: t0 + 900, source: 'node2', text: 'promote: promoted'},
        {t: t0 + 50, source: 'node1', text: 'demote: stopping'},
      ],
      t0,
      t0 + 1200,
    )
    assert.equal(rows.length, 4)
    assert.match(rows[0], /\+0\.000 s +load +last acknowledged/)
    assert.match(rows[1], /\+0\.050 s +node1 +demote: stopping/)
    assert.match(rows[2], /\+0\.900 s +node2 +promote: promoted/)
    assert.match(rows[3], /\+1\.200 s +load +first acknowledged write after it \(outage 1\.20 s\)/)
  })
})

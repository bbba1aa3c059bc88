/** check alive and status share one liveness answer: PID gone or file corrupt → CRITICAL at once. */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {aliveFromLiveness, nagiosLine} from '../../../src/lib/status/nagios.js'
import {watchLiveness} from '../../../src/lib/status/watch-liveness.js'
import {readStateFile} from '../../../src/lib/loop/watch-state.js'

const state = {
  version: 1,
  updatedAt: new Date(100_000).toISOString(),
  pid: 4242,
  role: 'primary',
  since: 'x',
  lastTick: {reason: 'steady'},
} as never
const ok = {kind: 'ok', path: '/s/state.json', state} as const

test('a fresh state file whose PID is gone is CRITICAL, not OK', () => {
  const gone = aliveFromLiveness(
    watchLiveness(ok, 'node1', 60_000, 101_000, () => false),
    30_000,
    60_000,
  )
  assert.equal(gone.state, 'CRITICAL')
  assert.match(nagiosLine('ALIVE', gone), /^PGHA ALIVE CRITICAL - pgha watch is not running: PID 4242 is gone \(state updated 1s ago/)
  assert.equal(
    aliveFromLiveness(
      watchLiveness(ok, 'node1', 60_000, 101_000, () => true),
      30_000,
      60_000,
    ).state,
    'OK',
  )
  assert.equal(
    aliveFromLiveness(
      watchLiveness(ok, 'node1', 60_000, 140_000, () => true),
      30_000,
      60_000,
    ).state,
    'WARNING',
  )
  assert.equal(
    aliveFromLiveness(
      watchLiveness(ok, 'node1', 60_000, 170_000, () => true),
      30_000,
      60_000,
    ).state,
    'CRITICAL',
  )
})

test('state.json: missing, corrupt (with why) and well-formed are told apart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-hout-live-'))
  try {
    assert.equal(readStateFile(dir).kind, 'missing')
    writeFileSync(join(dir, 'state.json'), '{"version": 1, "updat')
    const bad = readStateFile(dir)
    assert.equal(bad.kind, 'corrupt')
    const live = watchLiveness(bad, 'node1', 60_000)
    assert.match(live.line, /^state file .*state\.json is corrupt \(not JSON: .+\): .*move the file aside/)
    assert.doesNotMatch(live.line, /has not run/)
    assert.equal(aliveFromLiveness(live, 30_000, 60_000).state, 'CRITICAL')
    writeFileSync(join(dir, 'state.json'), JSON.stringify({version: 2}))
    assert.match(watchLiveness(readStateFile(dir), 'node1', 60_000).line, /corrupt \(version 2, expected 1\)/)
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state))
    assert.equal(readStateFile(dir).kind, 'ok')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

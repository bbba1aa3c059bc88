/** The hidden `pgha fsm` command: needs no config, prints the table, refuses unknown formats. */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {test} from 'node:test'
import {TRANSITIONS} from '../../../src/lib/core/transitions.js'
import {RUN_JS} from '../../helpers/paths.js'

const pgha = (...args: string[]) =>
  spawnSync(process.execPath, [RUN_JS, 'fsm', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: {...process.env, PGHA_CONFIG: '/nonexistent/pgha.yaml'},
  })

test('pgha fsm prints every row without a config file', () => {
  const r = pgha()
  assert.equal(r.status, 0, r.stderr)
  for (const row of TRANSITIONS) assert.ok(r.stdout.includes(` ${row.id} `), `missing ${row.id}`)
})

test('pgha fsm --format mermaid prints a state diagram; --json the rows', () => {
  const m = pgha('--format', 'mermaid')
  assert.equal(m.status, 0, m.stderr)
  assert.match(m.stdout, /^stateDiagram-v2\n/)
  const j = pgha('--json')
  assert.equal(j.status, 0, j.stderr)
  const out = JSON.parse(j.stdout) as {result: {rows: {id: string}[]}}
  assert.deepEqual(
    out.result.rows.map((r) => r.id),
    TRANSITIONS.map((r) => r.id),
  )
})

test('pgha fsm --format dot is a usage error (exit 2)', () => {
  const r = pgha('--format', 'dot')
  assert.equal(r.status, 2)
  assert.match(r.stderr, /--format/)
})

import assert from 'node:assert/strict'
import {test} from 'node:test'
import fc from 'fast-check'
import {restoreCommandSteps} from '../../../src/lib/steps/promote.js'
import {decodeHexText, parseServerState, SERVER_STATE_SQL} from '../../../src/lib/steps/promote-access.js'
import {parsePsqlRows} from '../../../src/lib/system/pgctl.js'

/** What `psql -A -t -F '\t'` prints for SERVER_STATE_SQL's row (restore_command hex-encoded). */
const psqlOutput = (value: string, sourcefile: string) =>
  `t\t15\t${Buffer.from(value, 'utf8').toString('hex')}\t${sourcefile.endsWith('postgresql.auto.conf') ? 't' : 'f'}`
const parseRestoreCommand = (row: string[] | undefined) => parseServerState(row).restoreCommand

test('restore_command: any value survives the psql round trip exactly (tab, newline, quotes, backslash, unicode)', () => {
  const awkward = ["cp '/a/%f'\t%p", 'a\nb', 'say "hi" \\ \'there\'', '\t', 'Δ ünï %f', '']
  for (const value of awkward) {
    const rc = parseRestoreCommand(parsePsqlRows(psqlOutput(value, '/data/postgresql.auto.conf'))[0])
    assert.deepEqual(rc, {value, fromAutoConf: true}, JSON.stringify(value))
  }
  fc.assert(
    fc.property(fc.string({unit: 'binary'}), fc.boolean(), (value, auto) => {
      const rc = parseRestoreCommand(parsePsqlRows(psqlOutput(value, auto ? '/d/postgresql.auto.conf' : '/etc/pg/postgresql.conf'))[0])
      assert.equal(rc.value, value)
      assert.equal(rc.fromAutoConf, auto)
    }),
  )
})

test('restore_command from ALTER SYSTEM with a tab is put back with ALTER SYSTEM SET, never RESET', () => {
  const value = 'cp \'/a/%f\'\t"%p"'
  const steps = restoreCommandSteps(15, parseRestoreCommand(parsePsqlRows(psqlOutput(value, '/d/postgresql.auto.conf'))[0]))
  assert.equal(steps.restore, `ALTER SYSTEM SET restore_command = 'cp ''/a/%f''\t"%p"';\nSELECT pg_catalog.pg_reload_conf();`)
})

test('the state query sends restore_command hex-encoded', () => {
  assert.match(SERVER_STATE_SQL, /encode\(pg_catalog\.convert_to\(setting, 'UTF8'\), 'hex'\)/)
})

test('decodeHexText refuses what is not hex', () => {
  assert.equal(decodeHexText('6869'), 'hi')
  assert.equal(decodeHexText(undefined), '')
  assert.throws(() => decodeHexText('cp x'), /not hex/)
})

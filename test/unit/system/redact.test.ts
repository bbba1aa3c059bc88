/** The secret-redaction layer: registered secrets never come back out of a child, a log or an envelope. */
import assert from 'node:assert/strict'
import {afterEach, test} from 'node:test'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createLogger} from '../../../src/lib/log.js'
import {registerPassfileSecrets} from '../../../src/lib/system/pg.js'
import {testConfig} from '../../helpers/ha-fixtures.js'
import {realExec} from '../../../src/lib/system/exec.js'
import {clearSecrets, MASK, redact, redactDeep, registerSecret, secretForms} from '../../../src/lib/system/redact.js'

afterEach(() => clearSecrets())

test('a registered secret is masked raw, URL-encoded, JSON-escaped and shell-quoted', () => {
  const pw = `p@ss w'rd"\\9`
  registerSecret(pw)
  for (const form of [pw, encodeURIComponent(pw), JSON.stringify(pw).slice(1, -1), pw.replace(/'/g, `'\\''`)]) {
    assert.equal(redact(`-P ${form} end`), `-P ${MASK} end`, form)
  }
  assert.ok(secretForms(pw).length >= 4)
  assert.equal(redact('nothing secret here'), 'nothing secret here')
})

test('short values are not treated as secrets; unregistered text is untouched', () => {
  registerSecret('abc')
  registerSecret('')
  assert.equal(redact('abc abc'), 'abc abc')
})

test('redactDeep masks strings at every depth of an envelope, leaving other values', () => {
  registerSecret('hunter22')
  const out = redactDeep({status: 'error', exitCode: 1, error: {message: 'rejected hunter22', details: ['x hunter22 y'], fix: undefined}})
  assert.deepEqual(out, {status: 'error', exitCode: 1, error: {message: `rejected ${MASK}`, details: [`x ${MASK} y`], fix: undefined}})
})

test('a real child that echoes the password from its env: stdout and stderr come back masked', async () => {
  const pw = `pw-${process.pid}-Zq`
  const r = await realExec.run(['sh', '-c', 'echo "user admin pass $IPMI_PASSWORD"; echo "-P $IPMI_PASSWORD rejected" >&2; exit 1'], {
    timeoutMs: 5000,
    env: {IPMI_PASSWORD: pw},
  })
  assert.equal(r.exitCode, 1)
  assert.equal(r.stdout, `user admin pass ${MASK}`)
  assert.equal(r.stderr, `-P ${MASK} rejected`)
})

test('a secret sent on stdin (secrets option) is masked when the child echoes it', async () => {
  const pw = `stdin-${process.pid}-pw`
  const r = await realExec.run(['cat'], {timeoutMs: 5000, input: `password=${pw}\n`, secrets: [pw]})
  assert.equal(r.stdout, `password=${MASK}`)
})

test('log lines and fields never carry a registered secret (human and json formats)', () => {
  registerSecret('s3cr%et pw')
  const lines: string[] = []
  for (const format of ['human', 'json'] as const) {
    const log = createLogger({level: 'debug', format, sink: (l) => lines.push(l), color: false})
    log.debug('agent said -P s3cr%et pw', {stderr: 'pass=s3cr%25et%20pw'})
  }
  assert.equal(lines.length, 2)
  for (const l of lines) {
    assert.doesNotMatch(l, /s3cr/)
    assert.match(l, /\*\*\*\*/)
  }
})

test('every password in the passfile (which psql, pg_basebackup and pg_rewind read themselves) is masked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-hout-redact-'))
  try {
    const file = join(dir, 'pgpass')
    writeFileSync(file, '# comment\n*:*:*:replicator:repl\\:pw1\n*:5432:pgha:pgha:hb-pw-2\n', {mode: 0o600})
    registerPassfileSecrets(testConfig(), {PGPASSFILE: file})
    assert.equal(redact('pg_basebackup: password repl:pw1 / hb-pw-2 rejected'), `pg_basebackup: password ${MASK} / ${MASK} rejected`)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {test} from 'node:test'
import {parseDurationFlag, parseHostPortFlag} from '../../../src/flags.js'
import {UsageError} from '../../../src/lib/errors.js'

test('duration flags: one parser, one error text naming the flag, the range and the value', () => {
  assert.equal(parseDurationFlag('timeout', '500ms'), 500)
  assert.equal(parseDurationFlag('timeout', '2m'), 120_000)
  for (const bad of ['abc', '', '-1s', '0', '1000h']) {
    assert.throws(
      () => parseDurationFlag('max-wait', bad, {max: 86_400_000}),
      (e: unknown) => {
        assert.ok(e instanceof UsageError)
        assert.equal(e.exitCode, 2)
        assert.equal(e.message, `--max-wait: expected a duration from 1ms to 24h (e.g. 500ms, 30s, 2m, 1h), found ${JSON.stringify(bad)}`)
        return true
      },
    )
  }
  assert.throws(() => parseDurationFlag('timeout', '500ms', {min: 1000}), /from 1s to/)
  // Above Node's timer limit a timeout would fire at once: never accepted, whatever max says.
  assert.throws(() => parseDurationFlag('timeout', '600h', {max: Number.MAX_SAFE_INTEGER}), /to 2147483647ms/)
})

test('HOST:PORT flags', () => {
  assert.deepEqual(parseHostPortFlag('source', '192.0.2.12:5432'), {host: '192.0.2.12', port: 5432})
  for (const bad of ['192.0.2.12', 'h:0', 'h:70000', 'a b:1'])
    assert.throws(() => parseHostPortFlag('source', bad), /--source: expected HOST:PORT/)
})

test('the same one line and exit 2 from every command that takes a duration', () => {
  for (const argv of [
    ['fence-peer', '--max-wait', 'soon'],
    ['rejoin', '--timeout', 'soon'],
    ['switchover', '--partner-timeout', 'soon'],
    ['heartbeat', '--timeout', 'soon'],
  ]) {
    const r = spawnSync(process.execPath, ['bin/run.js', ...argv, '-c', 'examples/node1.yaml'], {encoding: 'utf8', timeout: 20_000})
    assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`)
    const flag = argv[1]
    assert.match(
      r.stderr.trim(),
      new RegExp(
        `^pgha: ${flag}: expected a duration from \\S+ to \\S+ \\(e\\.g\\. 500ms, 30s, 2m, 1h\\), found "soon" — pass e\\.g\\. ${flag} \\S+$`,
      ),
    )
  }
})

import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {formatPlanned, shellQuote} from '../../../src/base-command.js'
import {describeFailure, type Exec, realExec, SystemContext, wrapArgv} from '../../../src/lib/system/exec.js'
import {readJson, writeJsonAtomic} from '../../../src/lib/loop/state.js'

describe('argv wrapping', () => {
  it('runs as the OS user via runuser when root, sudo -n -u otherwise', () => {
    assert.deepEqual(wrapArgv(['pg_ctl', 'status'], {asUser: 'postgres'}, {uid: 0, name: 'root'}), [
      'runuser',
      '-u',
      'postgres',
      '--',
      'pg_ctl',
      'status',
    ])
    assert.deepEqual(wrapArgv(['pg_ctl', 'status'], {asUser: 'postgres'}, {uid: 1000, name: 'dba'}), [
      'sudo',
      '-n',
      '-u',
      'postgres',
      '--',
      'pg_ctl',
      'status',
    ])
    assert.deepEqual(wrapArgv(['pg_ctl', 'status'], {asUser: 'postgres'}, {uid: 101, name: 'postgres'}), ['pg_ctl', 'status'])
  })
  it('prefixes privileged commands with sudo -n only when not root', () => {
    assert.deepEqual(wrapArgv(['ip', 'addr'], {privileged: true}, {uid: 0, name: 'root'}), ['ip', 'addr'])
    assert.deepEqual(wrapArgv(['ip', 'addr'], {privileged: true}, {uid: 1000, name: 'dba'}), ['sudo', '-n', '--', 'ip', 'addr'])
  })
})

describe('SystemContext', () => {
  const recorder = (): Exec & {calls: string[][]} => {
    const calls: string[][] = []
    return {
      calls,
      async run(argv) {
        calls.push(argv)
        return {argv, exitCode: 0, stdout: 'x', stderr: '', timedOut: false, durationMs: 1}
      },
    }
  }
  it('records changes under dry-run and still runs probes', async () => {
    const ex = recorder()
    const ctx = new SystemContext(ex, true)
    await ctx.probe(['ip', '-j', 'addr'], {timeoutMs: 1000})
    await ctx.change(['ip', 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0'], {timeoutMs: 1000}, 'claim VIP-M')
    assert.equal(ctx.sqlChange('local', 'CHECKPOINT', 'flush'), false)
    assert.deepEqual(ex.calls, [['ip', '-j', 'addr']])
    assert.equal(ctx.plan.length, 2)
    assert.equal(formatPlanned(ctx.plan[0]).startsWith('$ ip addr add 192.0.2.100/24 dev eth0'), true)
  })
  it('really runs changes without dry-run', async () => {
    const ex = recorder()
    const ctx = new SystemContext(ex, false)
    await ctx.change(['true'], {timeoutMs: 1000}, 'x')
    assert.equal(ctx.sqlChange('local', 'CHECKPOINT', 'flush'), true)
    assert.deepEqual(ex.calls, [['true']])
    assert.equal(ctx.plan.length, 0)
  })
})

describe('realExec', () => {
  it('bounds a hanging command by its timeout', async () => {
    const r = await realExec.run(['sleep', '30'], {timeoutMs: 200})
    assert.equal(r.timedOut, true)
    assert.ok(r.durationMs < 5000, `took ${r.durationMs} ms`)
    assert.match(describeFailure(r), /^sleep 30 timed out after \d+ ms/)
  })
  it('reports a missing command as exit 127 with a clear message', async () => {
    const r = await realExec.run(['pgha-no-such-binary'], {timeoutMs: 1000})
    assert.equal(r.exitCode, 127)
    assert.match(r.stderr, /command not found/)
  })
  it('passes secrets by stdin, not argv', async () => {
    const r = await realExec.run(['cat'], {timeoutMs: 2000, input: 's3cret'})
    assert.equal(r.stdout, 's3cret')
    assert.ok(!r.argv.join(' ').includes('s3cret'))
  })
})

describe('display quoting and state file', () => {
  it('quotes only what needs it', () => {
    assert.equal(shellQuote('eth0:1'), 'eth0:1')
    assert.equal(shellQuote("it's"), `'it'\\''s'`)
  })
  it('writes JSON atomically and reads it back', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pgha-state-'))
    t.after(() => rmSync(dir, {recursive: true, force: true}))
    const f = join(dir, 'sub', 'state.json')
    writeJsonAtomic(f, {role: 'primary', n: 1})
    writeJsonAtomic(f, {role: 'standby', n: 2})
    assert.deepEqual(readJson(f), {role: 'standby', n: 2})
    assert.equal(readJson(join(dir, 'none.json')), undefined)
    writeFileSync(join(dir, 'bad.json'), '{')
    assert.equal(readJson(join(dir, 'bad.json')), undefined)
    assert.ok(readFileSync(f, 'utf8').endsWith('\n'))
  })
})

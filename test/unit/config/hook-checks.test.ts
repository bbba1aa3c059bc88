/**
 * Hook programs are checked at config load: run[0] must be an existing regular file with an
 * execute bit. Real files in a temp dir, in-process and through the real CLI (exit 2, one line
 * naming hooks[N].run[0], nothing changed on disk).
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {hookProgramProblems} from '../../../src/lib/config/hook-checks.js'
import {validateConfig} from '../../../src/lib/config/load.js'
import {ConfigError} from '../../../src/lib/errors.js'
import {fuzzBase, prepareFuzzDir, snapshot} from '../../helpers/config-fuzz.js'
import {RUN_JS} from '../../helpers/paths.js'

const dir = mkdtempSync(join(tmpdir(), 'pgha-jfhook-'))
const world = join(dir, 'world')
mkdirSync(world)
prepareFuzzDir(world)
const good = join(dir, 'page-dba')
writeFileSync(good, '#!/bin/sh\nexit 0\n', {mode: 0o755})
const plain = join(dir, 'not-exec')
writeFileSync(plain, '#!/bin/sh\nexit 0\n', {mode: 0o644})
chmodSync(plain, 0o644)
const folder = join(dir, 'hooks.d')
mkdirSync(folder)
const link = join(dir, 'link-to-good')
symlinkSync(good, link)
const missing = join(dir, 'nope')
const hooks = (...programs: string[]) => ({hooks: programs.map((p) => ({run: [p, '--team', 'db']}))})

describe('hook program paths checked at load', () => {
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('an executable file (or a symlink to one) passes', () => {
    assert.deepEqual(hookProgramProblems(hooks(good, link) as never), [])
  })

  it('missing, a directory, not executable, not a regular file: one line each naming hooks[N].run[0]', () => {
    const p = hookProgramProblems(hooks(good, missing, folder, plain, '/dev/null') as never)
    assert.deepEqual(p, [
      `hooks[1].run[0]: ${missing} does not exist; install the hook program there or fix the path`,
      `hooks[2].run[0]: ${folder} is a directory; point it at the hook program inside it`,
      `hooks[3].run[0]: ${plain} is not executable (mode 644); run chmod 755 ${plain}`,
      'hooks[4].run[0]: /dev/null is not a regular file; point it at the hook program',
    ])
  })

  it('validateConfig reports it with the other file checks, and skips it with checkFiles: false', () => {
    const raw = {...fuzzBase(world), ...hooks(folder)}
    assert.throws(
      () => validateConfig(raw, 'x.yaml'),
      (e: unknown) => e instanceof ConfigError && e.details?.length === 1 && /^hooks\[0\]\.run\[0\]: .* is a directory/.test(e.details[0]),
    )
    assert.equal(validateConfig(raw, 'x.yaml', {checkFiles: false}).hooks.length, 1)
    assert.equal(validateConfig({...fuzzBase(world), ...hooks(good)}, 'x.yaml').hooks[0].run[0], good)
  })

  it('through the CLI: pgha config exits 2 with one line, and nothing changes on disk', async () => {
    const file = join(dir, 'cfg.json')
    writeFileSync(file, JSON.stringify({...fuzzBase(world), ...hooks(plain)}))
    const before = snapshot(dir)
    const r = await new Promise<{code: number; stderr: string}>((done) =>
      execFile(
        process.execPath,
        [RUN_JS, 'config', '--config', file],
        {env: {...process.env, PGHA_CONFIG: ''}, timeout: 60_000, encoding: 'utf8'},
        (err, _out, stderr) => done({code: err ? Number((err as {code?: number}).code) : 0, stderr}),
      ),
    )
    assert.equal(r.code, 2, r.stderr)
    const problems = r.stderr.split('\n').filter((l) => l.startsWith('  - '))
    assert.deepEqual(problems, [`  - hooks[0].run[0]: ${plain} is not executable (mode 644); run chmod 755 ${plain}`], r.stderr)
    assert.equal(snapshot(dir), before)
  })
})

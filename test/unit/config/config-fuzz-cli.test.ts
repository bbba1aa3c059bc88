/**
 * Config fuzz through the real CLI: a sample of the generated broken configs (same generator and
 * seed as config-fuzz.test) for `pgha config`, `pgha watch --once --dry-run` and
 * `pgha start-db --dry-run`: exit 2, the key named on stderr, nothing touched on disk.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import fc from 'fast-check'
import {fuzzBase, namesKey, prepareFuzzDir, snapshot, variantArbitrary} from '../../helpers/config-fuzz.js'
import {RUN_JS} from '../../helpers/paths.js'

const SEED = Number(process.env.PGHA_FUZZ_SEED ?? 20261202)
const PER_COMMAND = 30
const PARALLEL = 3

function pgha(args: string[], cwd: string): Promise<{code: number | null; stderr: string; stdout: string}> {
  return new Promise((done) => {
    const env = {...process.env, PGHA_CONFIG: ''}
    execFile(process.execPath, [RUN_JS, ...args], {cwd, env, timeout: 60_000, encoding: 'utf8'}, (err, stdout, stderr) => {
      done({code: err ? ((err as {code?: number}).code ?? null) : 0, stdout, stderr})
    })
  })
}

describe('config fuzz through the CLI', () => {
  const world = mkdtempSync(join(tmpdir(), 'pgha-hcf-cliw-'))
  const files = mkdtempSync(join(tmpdir(), 'pgha-hcf-clic-'))
  after(() => {
    rmSync(world, {recursive: true, force: true})
    rmSync(files, {recursive: true, force: true})
  })
  prepareFuzzDir(world)
  const base = fuzzBase(world)
  // A different slice of the stream than the in-process test's first runs, still deterministic.
  const variants = fc.sample(variantArbitrary(base), {seed: SEED + 1, numRuns: PER_COMMAND})

  for (const command of [['config'], ['watch', '--once', '--dry-run'], ['start-db', '--dry-run']]) {
    it(`pgha ${command.join(' ')}: ${PER_COMMAND} broken configs refused with exit 2 and the key named (seed ${SEED + 1})`, async () => {
      const before = snapshot(world)
      const failures: string[] = []
      let next = 0
      const worker = async () => {
        for (let i = next++; i < variants.length; i = next++) {
          const v = variants[i]
          const file = join(files, `${command[0]}-${i}.json`)
          writeFileSync(file, JSON.stringify(v.raw))
          const r = await pgha([...command, '--config', file], files)
          const lines = r.stderr.split('\n').map((l) => l.replace(/^ {2}- /, ''))
          // One line per problem: a control character in a value or key must not start a new line.
          const stray = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('pgha: ') && !l.startsWith('  - '))
          if (r.code !== 2 || !namesKey(lines, v.key) || stray.length > 0)
            failures.push(`#${i} ${v.kind} on ${v.key}: exit ${r.code}\n${r.stderr}${r.stdout}`)
        }
      }
      await Promise.all(Array.from({length: PARALLEL}, worker))
      assert.deepEqual(failures, [], `seed ${SEED + 1} (rerun: PGHA_FUZZ_SEED=${SEED}):\n${failures.join('\n')}`)
      assert.equal(snapshot(world), before, 'a refused config changed files under its directories')
      assert.ok(!existsSync(base.stateDir) && !existsSync(base.archive.mountpoint), 'stateDir or archive.mountpoint was created')
    })
  }
  it("the same base config is accepted by the CLI (the refusals are the variants' own)", async () => {
    const file = join(files, 'base.json')
    writeFileSync(file, JSON.stringify(base))
    const r = await pgha(['config', '--config', file], files)
    assert.equal(r.code, 0, r.stderr)
  })
})

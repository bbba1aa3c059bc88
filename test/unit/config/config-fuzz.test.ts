/**
 * Config fuzz, in-process: ≥ 500 generated broken configs through loadConfig (the function every
 * command uses), each must be refused with exit 2, name the offending key, and touch nothing on disk.
 * Deterministic: PGHA_FUZZ_SEED overrides the seed; a failure prints it.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import fc from 'fast-check'
import {loadConfig} from '../../../src/lib/config/load.js'
import {ConfigError, EXIT} from '../../../src/lib/errors.js'
import {fuzzBase, knownBadVariants, namesKey, prepareFuzzDir, snapshot, variantArbitrary, type Variant} from '../../helpers/config-fuzz.js'

export const FUZZ_SEED = Number(process.env.PGHA_FUZZ_SEED ?? 20261202)
const RUNS = 600

describe('config fuzz (in-process, loadConfig)', () => {
  const world = mkdtempSync(join(tmpdir(), 'pgha-hcf-world-'))
  const files = mkdtempSync(join(tmpdir(), 'pgha-hcf-cfg-'))
  after(() => {
    rmSync(world, {recursive: true, force: true})
    rmSync(files, {recursive: true, force: true})
  })
  prepareFuzzDir(world)
  const base = fuzzBase(world)

  it("the base config is valid (so every defect is the variant's own)", async () => {
    const file = join(files, 'base.json')
    writeFileSync(file, JSON.stringify(base))
    const {config} = await loadConfig({path: file, env: {}})
    assert.equal(config.cluster, 'fuzz')
  })

  it('the generator covers every kind of defect', () => {
    const kinds = new Map<string, number>()
    for (const v of fc.sample(variantArbitrary(base), {seed: FUZZ_SEED, numRuns: RUNS})) kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1)
    for (const k of ['typo', 'wrong type', 'section type', 'boundary', 'metacharacter', 'fence option', 'removed', 'known bad']) {
      assert.ok((kinds.get(k) ?? 0) >= 20, `only ${kinds.get(k) ?? 0} "${k}" variants in ${RUNS}: ${JSON.stringify([...kinds])}`)
    }
  })

  it(`${RUNS} broken configs: exit 2, the key named, nothing touched (seed ${FUZZ_SEED})`, async () => {
    const before = snapshot(world)
    let n = 0
    const check = async (v: Variant) => {
      const file = join(files, `v${n++}.json`)
      writeFileSync(file, JSON.stringify(v.raw))
      let err: unknown
      try {
        await loadConfig({path: file, env: {}})
      } catch (error) {
        err = error
      }
      assert.ok(err instanceof ConfigError, `${v.kind} on ${v.key} was accepted (or threw ${err})`)
      assert.equal(err.exitCode, EXIT.USAGE)
      assert.ok(
        // eslint-disable-next-line no-control-regex
        !(err.details ?? []).some((d) => /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/.test(d)),
        `${v.kind} on ${v.key}: a problem line carries a raw control character: ${JSON.stringify(err.details)}`,
      )
      assert.ok(
        namesKey(err.details ?? [], v.key),
        `${v.kind}: no problem line names ${v.key}:\n${[err.message, ...(err.details ?? [])].join('\n')}`,
      )
    }
    for (const v of knownBadVariants(base)) await check(v)
    try {
      await fc.assert(fc.asyncProperty(variantArbitrary(base), check), {seed: FUZZ_SEED, numRuns: RUNS})
    } catch (error) {
      throw new Error(`config fuzz failed with seed ${FUZZ_SEED} (rerun: PGHA_FUZZ_SEED=${FUZZ_SEED}): ${(error as Error).message}`)
    }
    assert.ok(n >= 500, `only ${n} variants ran`)
    assert.equal(snapshot(world), before, "validation changed files under the config's directories")
    assert.ok(!existsSync(base.stateDir) && !existsSync(base.archive.mountpoint), 'stateDir or archive.mountpoint was created')
  })
})

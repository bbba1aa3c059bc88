/** docs/configuration.md is generated from the schema; it must match, and every limit it states must be what validation enforces. */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {parse} from 'yaml'
import {configKeyRows, renderConfigurationDoc} from '../../../src/lib/config/describe.js'
import {KEY_DOCS} from '../../../src/lib/config/key-docs.js'
import {validateConfig} from '../../../src/lib/config/load.js'
import {TIMER_MAX_MS} from '../../../src/lib/config/schema.js'
import {parseDuration, parseSize} from '../../../src/lib/config/units.js'
import {ConfigError} from '../../../src/lib/errors.js'

const example = () => parse(readFileSync('examples/node1.yaml', 'utf8')) as Record<string, any>

function setAt(obj: Record<string, any>, key: string, value: unknown): void {
  const path = key.split('.')
  let o = obj
  for (const p of path.slice(0, -1)) o = o[p] ??= {}
  o[path.at(-1)!] = value
}

function problems(key: string, value: unknown): string[] {
  const raw = example()
  // probeTimeout is also bounded by 10 × interval; give it room so only its own limit is tested.
  if (key === 'timing.probeTimeout') raw.timing.interval = '10m'
  setAt(raw, key, value)
  try {
    validateConfig(raw, 'doc.yaml', {checkFiles: false})
    return []
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.details ?? []
  }
}

describe('docs/configuration.md', () => {
  it('is what the renderer produces from the schema', () => {
    const onDisk = readFileSync('docs/configuration.md', 'utf8')
    assert.ok(
      onDisk === renderConfigurationDoc(),
      'docs/configuration.md is out of date with the schema: run `npm run docs:config` and commit the result',
    )
  })
  it('documents every schema key, and only those', () => {
    const keys = configKeyRows().map((r) => r.key)
    assert.deepEqual(
      Object.keys(KEY_DOCS).filter((k) => !keys.includes(k)),
      [],
      'entries in key-docs.ts that are not config keys',
    )
    assert.ok(keys.length >= 50, `only ${keys.length} keys`)
    for (const r of configKeyRows()) assert.ok(r.meaning.length > 5 && r.type, r.key)
  })
  it('states range limits that validation really enforces (accepts min and max, refuses just outside)', () => {
    let checked = 0
    for (const r of configKeyRows()) {
      const m = /^(\S+) to (\S+)$/.exec(r.limits[0] ?? '')
      if (!m) continue
      const [lo, hi] = [m[1], m[2]]
      const step =
        r.type === 'duration'
          ? (v: string, d: number) => `${parseDuration(v)! + d}ms`
          : r.type === 'size'
            ? (v: string, d: number) => parseSize(v)! + d
            : (v: string, d: number) => Number(v) + d
      const at = (v: string) => (r.type === 'duration' || r.type === 'size' ? v : Number(v))
      assert.deepEqual(problems(r.key, at(lo)), [], `${r.key} = ${lo} (documented minimum) refused`)
      assert.deepEqual(problems(r.key, at(hi)), [], `${r.key} = ${hi} (documented maximum) refused`)
      assert.ok(
        problems(r.key, step(hi, 1)).some((l) => l.startsWith(`${r.key}:`)),
        `${r.key} above ${hi} accepted`,
      )
      if (r.type !== 'size' || parseSize(lo)! > 0)
        assert.ok(
          problems(r.key, step(lo, -1)).some((l) => l.startsWith(`${r.key}:`)) || Number(step(lo, -1)) < 0,
          `${r.key} below ${lo} accepted`,
        )
      if (r.type === 'duration') assert.ok(parseDuration(hi)! <= TIMER_MAX_MS, `${r.key} max ${hi} overflows Node timers`)
      checked++
    }
    assert.ok(checked >= 18, `only ${checked} keys with a range`)
  })
})

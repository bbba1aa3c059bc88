/** Generated docs (runbook, commands, the fsm diagram in design.md, configuration) match the code. */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {REPO_ROOT} from '../../helpers/paths.js'

const ROOT = REPO_ROOT
const genDocs = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts/gen-docs.mjs'), '--check', ...args], {cwd: ROOT, encoding: 'utf8', timeout: 180_000})

test('every generated page in docs/ is fresh (else: run `npm run docs`)', () => {
  const r = genDocs()
  assert.equal(r.status, 0, `${r.stderr.trim()}\nrun \`npm run docs\` and commit the regenerated pages`)
})

test('the check fails, naming the page, when a generated page is stale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-docs-fresh-'))
  try {
    cpSync(join(ROOT, 'docs'), dir, {recursive: true})
    const runbook = join(dir, 'runbook.md')
    writeFileSync(runbook, readFileSync(runbook, 'utf8').replace('| `standby.failover` |', '| `standby.fail-over` |'))
    const design = join(dir, 'design.md')
    writeFileSync(design, readFileSync(design, 'utf8').replace('stateDiagram-v2', 'stateDiagram'))
    const r = genDocs('--docs', dir)
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /docs\/runbook\.md/)
    assert.match(r.stderr, /docs\/design\.md/)
    assert.doesNotMatch(r.stderr, /docs\/commands\.md/)
    assert.match(r.stderr, /run `npm run docs`/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

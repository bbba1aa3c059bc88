#!/usr/bin/env node
// Runs the compiled tests (dist/test/**/*.test.js) with node:test, one file at a time
// (integration tests start real clusters and namespaces; 2 cores). Optional args filter
// by path substring: `node scripts/run-tests.mjs unit`.
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : []
  })
}
const filters = process.argv.slice(2)
const files = walk('dist/test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
if (files.length === 0) {
  console.error('run-tests: no test files matched')
  process.exit(1)
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=600000', ...files], {stdio: 'inherit'})
process.exit(r.status ?? 1)

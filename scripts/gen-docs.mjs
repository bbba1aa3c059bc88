#!/usr/bin/env node
// Regenerates every generated page or section under docs/ from the compiled code (run
// `npm run build` first; `npm run docs` does both):
//   docs/runbook.md        the warn/alert rules of the transition table + src/lib/core/runbook.ts
//   docs/commands.md       `oclif readme` between <!-- commands --> and <!-- commandsstop -->
//   docs/design.md         the mermaid diagram between <!-- fsm:start --> and <!-- fsm:end -->
//   docs/configuration.md  renderConfigurationDoc() from the config schema
// `--check` writes nothing and exits 1 naming every stale page. `--docs DIR` works on another
// copy of docs/ (the freshness test uses it to prove the check can fail).
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const check = args.includes('--check')
const docsAt = args.indexOf('--docs')
const docsDir = docsAt >= 0 ? resolve(args[docsAt + 1]) : join(root, 'docs')
const dist = (p) => pathToFileURL(join(root, 'dist/src', p)).href

if (!existsSync(join(root, 'dist/src/lib/core/transitions.js'))) {
  console.error('gen-docs: dist/ is missing — run `npm run build` first (or `npm run docs`)')
  process.exit(2)
}

/** Replace the text between two marker lines (markers kept). */
function replaceBetween(text, start, end, body, page) {
  const a = text.indexOf(start)
  const b = text.indexOf(end)
  if (a < 0 || b < a) throw new Error(`${page}: markers ${start} … ${end} not found`)
  return text.slice(0, a + start.length) + '\n' + body + '\n' + text.slice(b)
}

/** `oclif readme` on a temp copy of the page, at a fixed width so the output does not depend on the terminal. */
function commandsPage(current) {
  const tmp = mkdtempSync(join(tmpdir(), 'pgha-docs-'))
  try {
    const page = join(tmp, 'commands.md')
    writeFileSync(page, current)
    const r = spawnSync(process.execPath, [join(root, 'node_modules/oclif/bin/run.js'), 'readme', '--readme-path', page, '--no-aliases'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: {...process.env, COLUMNS: '120', OCLIF_SKIP_NEW_VERSION_CHECK: 'true', NO_COLOR: '1'},
    })
    if (r.status !== 0) throw new Error(`oclif readme failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim()}`)
    return readFileSync(page, 'utf8')
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}

const {renderRunbookDoc} = await import(dist('lib/core/runbook-doc.js'))
const {renderTableMermaid} = await import(dist('lib/core/fsm-render.js'))
const {renderConfigurationDoc} = await import(dist('lib/config/describe.js'))

const pages = [
  {file: 'runbook.md', render: () => renderRunbookDoc()},
  {file: 'commands.md', render: (cur) => commandsPage(cur)},
  {
    file: 'design.md',
    render: (cur) =>
      replaceBetween(cur, '<!-- fsm:start -->', '<!-- fsm:end -->', '```mermaid\n' + renderTableMermaid() + '\n```', 'design.md'),
  },
  {file: 'configuration.md', render: () => renderConfigurationDoc()},
]

const stale = []
for (const {file, render} of pages) {
  const path = join(docsDir, file)
  const current = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const next = render(current)
  if (next === current) continue
  stale.push(file)
  if (!check) {
    writeFileSync(path, next)
  }
}
if (check && stale.length > 0) {
  console.error(`gen-docs: stale generated docs: ${stale.map((f) => `docs/${f}`).join(', ')} — run \`npm run docs\` and commit the result`)
  process.exit(1)
}
console.log(
  check
    ? 'gen-docs: every generated page is fresh'
    : stale.length > 0
      ? `gen-docs: wrote ${stale.map((f) => `docs/${f}`).join(', ')}`
      : 'gen-docs: nothing to update',
)

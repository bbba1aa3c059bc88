/**
 * The oclif manifest that `npm run build` writes: it lists exactly the bundled commands (so
 * oclif loads only the one that runs), and a manifest from another version is not trusted:
 * the CLI falls back to reading the commands and still runs them. The bundle is what runs: a
 * check loads no module from node_modules. Real CLI, no PostgreSQL.
 */
import assert from 'node:assert/strict'
import {cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {after, describe, test} from 'node:test'
import {realExec} from '../../../src/lib/system/exec.js'
import {Cleanups} from '../../helpers/pg.js'
import {REPO, writeUnreachableConfig} from '../../helpers/unreachable-config.js'

const COMMANDS = join(REPO, 'dist', 'bundle', 'commands')
const COMPILED = join(REPO, 'dist', 'src', 'commands')

function commandIds(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return commandIds(p, base)
    return name.endsWith('.js') ? [relative(base, p).replace(/\.js$/, '').split('/').join(':')] : []
  })
}

describe('oclif manifest', () => {
  const c = new Cleanups()
  after(() => c.run())

  const tmp = (label: string) => {
    const d = mkdtempSync(join(tmpdir(), `pgha-manifest-${label}-`))
    c.add(() => rmSync(d, {recursive: true, force: true}))
    return d
  }

  test('npm run build wrote a manifest of this version listing every bundled command, one per compiled command', () => {
    const manifest = JSON.parse(readFileSync(join(REPO, 'oclif.manifest.json'), 'utf8')) as {
      version: string
      commands: Record<string, {relativePath?: string[]}>
    }
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {version: string}
    assert.equal(manifest.version, pkg.version)
    assert.deepEqual(Object.keys(manifest.commands).sort(), commandIds(COMMANDS).sort())
    assert.deepEqual(commandIds(COMMANDS).sort(), commandIds(COMPILED).sort(), 'every compiled command is bundled')
    // relativePath is what lets oclif import one command file instead of all of them.
    assert.deepEqual(manifest.commands['check:lag'].relativePath, ['dist', 'bundle', 'commands', 'check', 'lag.js'])
  })

  test('pgha check lag runs from the bundle: no CommonJS module of node_modules is loaded', async () => {
    // Preloaded before bin/run.js: at exit, list the CommonJS modules Node loaded from node_modules.
    const probe =
      'data:text/javascript,' +
      encodeURIComponent(
        "import {createRequire} from 'node:module'; const r = createRequire('file:///'); process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(r.cache).filter((k) => k.includes('/node_modules/')))))",
      )
    const config = writeUnreachableConfig(tmp('cfg'))
    const r = await realExec.run([process.execPath, '--import', probe, join(REPO, 'bin', 'run.js'), 'check', 'lag', '-c', config], {
      timeoutMs: 60_000,
    })
    assert.equal(r.exitCode, 2, r.stdout + r.stderr)
    assert.match(r.stdout, /^PGHA LAG CRITICAL - the local database does not answer/)
    const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '))
    assert.ok(line, `the probe reported: ${r.stderr}`)
    assert.deepEqual(JSON.parse(line.slice('LOADED '.length)), [])
  })

  test('a manifest from another version is ignored: commands still run', async () => {
    // A copy of the package root whose manifest claims another version; dist and node_modules are shared.
    const root = tmp('root')
    cpSync(join(REPO, 'bin'), join(root, 'bin'), {recursive: true})
    cpSync(join(REPO, 'package.json'), join(root, 'package.json'))
    symlinkSync(join(REPO, 'dist'), join(root, 'dist'))
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'))
    const manifest = JSON.parse(readFileSync(join(REPO, 'oclif.manifest.json'), 'utf8')) as {
      version: string
      commands: Record<string, unknown>
    }
    delete manifest.commands['check:lag'] // stale: it would not find the command if it were trusted
    writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify({...manifest, version: '0.0.1'}))
    const config = writeUnreachableConfig(tmp('cfg'))
    const r = await realExec.run([process.execPath, join(root, 'bin', 'run.js'), 'check', 'lag', '-c', config], {timeoutMs: 60_000})
    assert.equal(r.exitCode, 2, r.stdout + r.stderr)
    assert.match(r.stdout, /^PGHA LAG CRITICAL - the local database does not answer/)
    assert.match(r.stderr, /Mismatched version in pgha plugin manifest/)
  })

  test('without a manifest the commands run too (plain tsc build)', async () => {
    const root = tmp('bare')
    cpSync(join(REPO, 'bin'), join(root, 'bin'), {recursive: true})
    cpSync(join(REPO, 'package.json'), join(root, 'package.json'))
    symlinkSync(join(REPO, 'dist'), join(root, 'dist'))
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'))
    const config = writeUnreachableConfig(tmp('cfg'))
    const r = await realExec.run([process.execPath, join(root, 'bin', 'run.js'), 'check', 'lag', '-c', config], {timeoutMs: 60_000})
    assert.equal(r.exitCode, 2, r.stdout + r.stderr)
    assert.match(r.stdout, /^PGHA LAG CRITICAL/)
  })
})

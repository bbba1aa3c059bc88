/**
 * The Debian package, for real on this machine: scripts/package.sh builds it, dpkg -i installs
 * it, the installed pgha runs on its own runtime, systemd-analyze accepts the unit, dpkg -r
 * then dpkg -P leave nothing of it. Also: it refuses to replace a /usr/bin/pgha no package
 * owns. Needs root; installs and purges the package `pgha` (refuses if it is installed already).
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {realExec, type RunResult} from '../../../src/lib/system/exec.js'
import {prerequisites} from '../../helpers/env.js'
import {Cleanups} from '../../helpers/pg.js'
import {REPO, writeUnreachableConfig} from '../../helpers/unreachable-config.js'

const BIN = '/usr/bin/pgha'
const EXAMPLE = '/etc/pgha/pgha.config.yaml.example'
const run = (argv: string[], timeoutMs = 120_000, env?: Record<string, string | undefined>): Promise<RunResult> =>
  realExec.run(argv, {timeoutMs, env})
const out = (r: RunResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`

/** dpkg's state of the package: installed, config-files, not-installed… or 'not known'. */
async function packageState(): Promise<string> {
  const r = await run(['dpkg-query', '-W', '-f', '${Status}', 'pgha'], 10_000)
  return r.exitCode === 0 ? r.stdout.trim().split(' ').pop()! : 'not known'
}
const absent = (state: string) => state === 'not known' || state === 'not-installed'

describe('Debian package', () => {
  const c = new Cleanups()
  after(() => c.run())

  test('builds, installs, runs, and removes cleanly', async (t) => {
    if (!prerequisites(t, {root: true, commands: ['dpkg', 'dpkg-deb', 'systemd-analyze']})) return
    const before = await packageState()
    assert.ok(absent(before), `package pgha is on this machine already (${before}): this test installs and purges it — dpkg -P pgha first`)
    const etcBefore = existsSync('/etc/pgha')
    assert.ok(!existsSync(BIN), `${BIN} exists and is not from this test: move it away first`)
    const dir = mkdtempSync(join(tmpdir(), 'pgha-package-'))
    c.add(() => rmSync(dir, {recursive: true, force: true}))
    // Whatever fails below, leave the machine without the package.
    c.add(async () => {
      if (!absent(await packageState())) await run(['dpkg', '-P', 'pgha'], 60_000)
    })

    const built = await run(['bash', join(REPO, 'scripts', 'package.sh'), dir], 300_000)
    assert.equal(built.exitCode, 0, out(built))
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {version: string}).version
    const deb = join(dir, `pgha_${version}_amd64.deb`)
    assert.ok(existsSync(deb), `no ${deb}: ${out(built)}`)
    const contents = (await run(['dpkg-deb', '-c', deb])).stdout
    for (const p of [
      './usr/bin/pgha',
      './usr/lib/pgha/node',
      './usr/lib/pgha/oclif.manifest.json',
      './usr/lib/pgha/node_modules/pg/',
      './lib/systemd/system/pgha.service',
      `.${EXAMPLE}`,
      './usr/share/doc/pgha/README.md',
    ]) {
      assert.ok(contents.includes(` ${p}\n`) || contents.endsWith(` ${p}`), `${p} missing from the package`)
    }
    for (const dev of ['typescript', 'oclif', 'fast-check', '@types/pg'])
      assert.ok(!contents.includes(`/node_modules/${dev}/`), `devDependency ${dev} is in the package`)
    assert.ok(!contents.includes('/dist/test/'), 'tests are in the package')

    // A /usr/bin/pgha that no package owns is never replaced.
    writeFileSync(BIN, '#!/bin/sh\necho not-the-package\n', {mode: 0o755})
    c.add(() => {
      if (existsSync(BIN) && readFileSync(BIN, 'utf8').includes('not-the-package')) rmSync(BIN)
    })
    const refused = await run(['dpkg', '-i', deb])
    assert.notEqual(refused.exitCode, 0, out(refused))
    assert.match(refused.stderr, /\/usr\/bin\/pgha already exists and no package owns it/)
    assert.equal(readFileSync(BIN, 'utf8'), '#!/bin/sh\necho not-the-package\n')
    assert.ok(absent(await packageState()), 'the refused package is on the machine')
    rmSync(BIN)

    const installed = await run(['dpkg', '-i', deb])
    assert.equal(installed.exitCode, 0, out(installed))
    assert.equal(await packageState(), 'installed')
    const files = (await run(['dpkg', '-L', 'pgha'])).stdout.split('\n').filter(Boolean)
    // Directories (and /lib, a link to one on merged-/usr Debian) are not the package's own files.
    const owned = files.filter((f) => existsSync(f) && !statSync(f).isDirectory())
    assert.ok(owned.includes(BIN) && owned.includes('/usr/lib/pgha/node') && owned.includes(EXAMPLE), files.slice(0, 20).join('\n'))

    // Its own runtime: no node on PATH is needed.
    const v = await run([BIN, '--version'], 60_000, {PATH: '/nonexistent'})
    assert.equal(v.exitCode, 0, out(v))
    assert.match(v.stdout, new RegExp(`^pgha/${version.replace(/\./g, '\\.')} linux-x64 node-v\\d+`))
    // The untouched example names the files a DBA still has to create (README "Install on a host").
    const cfg = await run([BIN, 'config', '-c', EXAMPLE], 60_000)
    assert.equal(cfg.exitCode, 2, out(cfg))
    assert.match(cfg.stderr, /postgres\.passfile: \/etc\/pgha\/pgpass does not exist/)
    assert.match(cfg.stderr, /fence\.passwordFile: \/etc\/pgha\/fence\.password does not exist/)
    // A check and status run from the package's own node_modules (pg, execa, zod…).
    const config = writeUnreachableConfig(dir)
    const lag = await run([BIN, 'check', 'lag', '-c', config], 60_000)
    assert.equal(lag.exitCode, 2, out(lag))
    assert.match(lag.stdout, /^PGHA LAG CRITICAL - the local database does not answer/)
    const status = await run([BIN, 'status', '-c', config], 60_000)
    assert.equal(status.exitCode, 0, out(status))
    assert.match(status.stdout, /node2 +127\.0\.0\.2 +unreachable/)

    const verify = await run(['systemd-analyze', 'verify', '/lib/systemd/system/pgha.service'], 60_000)
    assert.equal(verify.exitCode, 0, out(verify))

    const removed = await run(['dpkg', '-r', 'pgha'])
    assert.equal(removed.exitCode, 0, out(removed))
    assert.deepEqual(
      owned.filter((f) => f !== EXAMPLE && existsSync(f)),
      [],
      'files left after dpkg -r',
    )
    assert.ok(existsSync(EXAMPLE), 'dpkg -r removed the conffile')
    assert.ok(!existsSync('/usr/lib/pgha'), '/usr/lib/pgha left after dpkg -r')
    const purged = await run(['dpkg', '-P', 'pgha'])
    assert.equal(purged.exitCode, 0, out(purged))
    assert.ok(!existsSync(EXAMPLE), 'dpkg -P left the conffile')
    assert.ok(absent(await packageState()))
    if (!etcBefore) assert.ok(!existsSync('/etc/pgha'), 'dpkg -P left /etc/pgha')
  })
})

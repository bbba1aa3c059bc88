/**
 * pg_ctl start hands -D and -l to /bin/sh inside double quotes: `$(...)` or backticks in
 * postgres.logFile, postgres.datadir or postgres.bindir would run. start-db (real and
 * --dry-run) must refuse such a config with exit 2 and run nothing (real primary, port 55605).
 */
import assert from 'node:assert/strict'
import {existsSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {isNodeRunning, stopNode} from '../../../src/lib/lab/pgcluster.js'
import {runCli} from '../../helpers/cli.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, startPrimary, tempRoot, type TestNode, writePassfile} from '../../helpers/pg.js'

describe('no shell runs what postgres.logFile / datadir hold', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let root = ''
  let ready = false

  const writeConfig = (name: string, postgres: Record<string, unknown>) => {
    const p = primary.cfg.postgres
    const file = join(root, `${name}.yaml`)
    writeFileSync(
      file,
      YAML.stringify({
        cluster: 'hpginject',
        node: {name: 'node1', address: '192.0.2.11'},
        peer: {name: 'node2', address: '192.0.2.12'},
        network: {interface: 'hpgnone0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
        postgres: {bindir: p.bindir, datadir: p.datadir, port: p.port, socketDir: p.socketDir, stepTimeout: '20s', ...postgres},
        fence: {agent: 'none'},
        stateDir: join(root, 'state'),
      }),
    )
    return file
  }

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    root = tempRoot(c, 'hpg-inject')
    primary = await startPrimary(c, root, writePassfile(root), 55605)
    await stopNode(primary.node)
    ready = true
  })
  after(() => c.run())

  for (const dryRun of [true, false]) {
    test(`logFile with $(touch …): start-db${dryRun ? ' --dry-run' : ''} exits 2 naming the key, creates nothing, starts nothing`, async (t) => {
      if (!ready && !prerequisites(t, need)) return
      const pwned = join(root, `PWNED-log-${dryRun}`)
      const cfg = writeConfig(`log-${dryRun}`, {logFile: join(root, `pg$(touch ${pwned}).log`)})
      const r = await runCli(cfg, ['start-db', '--force', '--yes', ...(dryRun ? ['--dry-run'] : [])], {cwd: root})
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.match(r.stdout + r.stderr, /postgres\.logFile/)
      assert.match(r.stdout + r.stderr, /shell/)
      assert.equal(existsSync(pwned), false, 'the shell ran the $(...) in logFile')
      assert.equal(await isNodeRunning(primary.node), false)
    })
  }

  test('datadir with $(touch …) (a symlink to the real data directory): refused, nothing runs', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const link = join(root, 'pg$(touch PWNED-datadir)')
    symlinkSync(primary.node.dataDir, link)
    const cfg = writeConfig('datadir', {datadir: link})
    const r = await runCli(cfg, ['start-db', '--force', '--yes'], {cwd: root})
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stdout + r.stderr, /postgres\.datadir/)
    assert.equal(existsSync(join(root, 'PWNED-datadir')), false, 'the shell ran the $(...) in datadir')
    assert.equal(await isNodeRunning(primary.node), false)
  })

  test('a plain logFile still starts the server (and the log is written there)', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const log = join(root, "odd name's server.log")
    const r = await runCli(writeConfig('plain', {logFile: log}), ['start-db', '--force', '--yes', '--json'], {cwd: root})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(await isNodeRunning(primary.node), true)
    assert.equal(existsSync(log), true)
  })
})

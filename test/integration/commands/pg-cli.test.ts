/**
 * The PostgreSQL commands through the real CLI (node bin/run.js, after the build) against a real
 * primary on 127.0.0.1:55421: exit codes, the --json envelope, confirmation and refusals.
 * network.interface names a device that does not exist, so arping cannot vouch for VIP-M.
 */
import assert from 'node:assert/strict'
import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {realExec} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, tempRoot, type TestNode, writePassfile} from '../../helpers/pg.js'
import {RUN_JS} from '../../helpers/paths.js'

interface CliResult {
  code: number
  stdout: string
  stderr: string
  json?: {status: string; exitCode: number; dryRun?: boolean; plan?: unknown[]; result?: Record<string, unknown>; error?: {message: string}}
}

describe('pgha PostgreSQL commands through the CLI', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let configFile = ''
  let root = ''
  let ready = false

  const cli = async (...args: string[]): Promise<CliResult> => {
    const r = await realExec.run([process.execPath, RUN_JS, ...args, '--config', configFile], {
      timeoutMs: 60_000,
      env: {PGHA_CONFIG: undefined},
    })
    let json: CliResult['json']
    if (args.includes('--json')) json = JSON.parse(r.stdout)
    return {code: r.exitCode, stdout: r.stdout, stderr: r.stderr, json}
  }

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    root = tempRoot(c, 'pgcli')
    const passfile = writePassfile(root)
    primary = await startPrimary(c, root, passfile, 55421)
    const p = primary.cfg.postgres
    configFile = join(root, 'pgha.config.yaml')
    writeFileSync(
      configFile,
      YAML.stringify({
        cluster: 'clitest',
        node: {name: 'node1', address: '192.0.2.11'},
        peer: {name: 'node2', address: '192.0.2.12'},
        network: {interface: 'pghanone0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
        postgres: {bindir: p.bindir, datadir: p.datadir, port: p.port, socketDir: p.socketDir, passfile, stepTimeout: '30s'},
        fence: {agent: 'none'},
        timing: {probeTimeout: '2s'},
        stateDir: join(root, 'state'),
      }),
    )
    ready = true
  })
  after(() => c.run())

  test('detect-role --json: exit 0 and the envelope with role and evidence', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await cli('detect-role', '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json?.status, 'ok')
    assert.equal(r.json?.exitCode, 0)
    assert.equal(r.json?.result?.role, 'primary')
    assert.equal(r.json?.result?.running, true)
    assert.ok((r.json?.result?.evidence as string[]).includes('pg_is_in_recovery() = false'))
  })

  test('heartbeat before init fails with exit 1; init (dry run, then real) makes it work', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const failed = await cli('heartbeat', '--json')
    assert.equal(failed.code, 1)
    assert.equal(failed.json?.status, 'error')
    assert.match(failed.json!.error!.message, /heartbeat via local .* failed/)

    const pwFile = join(root, 'hb.password')
    writeFileSync(pwFile, HB_PASSWORD + '\n', {mode: 0o644})
    chmodSync(pwFile, 0o644)
    const loose = await cli('init', '--password-file', pwFile, '--json')
    assert.equal(loose.code, 2, 'a password file readable by others is refused')
    chmodSync(pwFile, 0o600)

    const planned = await cli('init', '--password-file', pwFile, '--dry-run', '--json')
    assert.equal(planned.code, 0, planned.stderr)
    assert.equal(planned.json?.dryRun, true)
    assert.ok(JSON.stringify(planned.json?.plan).includes('CREATE DATABASE'))
    assert.ok(!planned.stdout.includes(HB_PASSWORD) && !planned.stderr.includes(HB_PASSWORD))
    assert.equal((await cli('heartbeat', '--json')).code, 1, 'dry run created nothing')

    const done = await cli('init', '--password-file', pwFile, '--json')
    assert.equal(done.code, 0, done.stderr)
    assert.equal(done.json?.result?.changed, true)
    const hb = await cli('heartbeat', '--json')
    assert.equal(hb.code, 0, hb.stderr)
    assert.equal(hb.json?.result?.role, 'primary')
    assert.equal(hb.json?.result?.ok, true)
  })

  test('stop-db asks first (exit 2 without a terminal), stops with --yes, is idempotent', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const unasked = await cli('stop-db', '--json')
    assert.equal(unasked.code, 2)
    assert.equal((await cli('detect-role', '--json')).json?.result?.running, true)
    const stopped = await cli('stop-db', '--yes', '--json')
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.equal(stopped.json?.result?.changed, true)
    const again = await cli('stop-db', '--json')
    assert.equal(again.code, 0, 'already stopped: nothing to confirm')
    assert.equal(again.json?.result?.changed, false)
    const human = await cli('detect-role')
    assert.equal(human.code, 0)
    assert.match(human.stdout, /^primary \(stopped, PostgreSQL \d+\)/m)
  })

  test('start-db refuses a primary (exit 3) while VIP-M cannot be vouched for; --force starts it', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const refused = await cli('start-db', '--json')
    assert.equal(refused.code, 3, refused.stdout + refused.stderr)
    assert.match(refused.json!.error!.message, /refusing to start a primary/)
    assert.equal((await cli('detect-role', '--json')).json?.result?.running, false)
    const forced = await cli('start-db', '--force', '--json')
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(forced.json?.result?.changed, true)
  })

  test('promote on a primary is a no-op; bad flags exit 2', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const p = await cli('promote', '--yes', '--json')
    assert.equal(p.code, 0, p.stderr)
    assert.equal(p.json?.result?.changed, false)
    assert.equal((await cli('heartbeat', '--target', 'nowhere')).code, 2)
    assert.equal((await cli('stop-db', '--mode', 'gentle')).code, 2)
  })
})

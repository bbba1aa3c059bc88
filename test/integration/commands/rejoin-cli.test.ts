/**
 * rejoin / switchover / pause / resume through the real CLI (node bin/run.js, after the build)
 * against a real primary + standby on 127.0.0.1:55530/55531: exit codes, --json, --dry-run plans.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {realExec} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {makePair, type Node, type Pair, psql} from '../../helpers/pg-pair.js'
import {RUN_JS} from '../../helpers/paths.js'

describe('rejoin, switchover, pause, resume through the CLI', () => {
  let pair: Pair | undefined
  const files: Record<string, string> = {}
  const need = {root: true, commands: ['runuser']}

  const cli = async (node: 'a' | 'b', ...args: string[]) => {
    const r = await realExec.run([process.execPath, RUN_JS, ...args, '--config', files[node]], {
      timeoutMs: 120_000,
      env: {PGHA_CONFIG: undefined},
    })
    const json = args.includes('--json') ? JSON.parse(r.stdout || '{}') : undefined
    return {code: r.exitCode, stdout: r.stdout, stderr: r.stderr, json}
  }

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    pair = await makePair({portA: 55530, portB: 55531, walLogHints: true, tag: 'cli'})
    const write = (n: Node, key: 'a' | 'b') => {
      const p = n.cfg.postgres
      files[key] = join(pair!.root, `${n.name}.yaml`)
      writeFileSync(
        files[key],
        YAML.stringify({
          cluster: 'clitest',
          node: {name: n.cfg.node.name, address: '192.0.2.11'},
          peer: {name: n.cfg.peer.name, address: '192.0.2.12'},
          // A device that does not exist: nothing here may touch a real interface.
          network: {interface: 'pghanone0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
          postgres: {bindir: p.bindir, datadir: p.datadir, port: p.port, socketDir: p.socketDir, passfile: p.passfile, stepTimeout: '30s'},
          fence: {agent: 'none'},
          stateDir: join(pair!.root, `state-${n.name}`),
        }),
      )
    }
    write(pair.a, 'a')
    write(pair.b, 'b')
  })
  after(() => pair?.cleanup())

  test('bad --window and --timeout: exit 2, one line, nothing changed', async (t) => {
    if (!pair && !prerequisites(t, need)) return
    const r = await cli('b', 'rejoin', '--window', '25:00-01:00', '--yes')
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /--window "25:00-01:00" has an hour above 23/)
    assert.equal(r.stderr.trim().split('\n').length, 1)
    const s = await cli('b', 'switchover', '--timeout', 'soon', '--yes')
    assert.equal(s.code, 2)
    assert.match(s.stderr, /--timeout: expected a duration from 1s to 24h .*found "soon"/)
    assert.equal(psql(pair!.b, 'SELECT pg_is_in_recovery()'), 't')
  })

  test('rejoin on a standby already streaming from the source: exit 0, nothing to do', async (t) => {
    if (!pair && !prerequisites(t, need)) return
    const r = await cli('b', 'rejoin', '--source', `127.0.0.1:${pair!.a.port}`, '--json', '--yes')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.result.changed, false)
    assert.equal(r.json.result.method, 'none')
  })

  test('rejoin from a source that is a standby is refused (exit 3) before any prompt or change', async (t) => {
    if (!pair && !prerequisites(t, need)) return
    const r = await cli('a', 'rejoin', '--source', `127.0.0.1:${pair!.b.port}`)
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stderr, /is a standby, not a writable primary/)
    assert.equal(psql(pair!.a, 'SELECT pg_is_in_recovery()'), 'f')
  })

  test('switchover --dry-run on the standby prints the two-host plan and changes nothing', async (t) => {
    if (!pair && !prerequisites(t, need)) return
    const r = await cli('b', 'switchover', '--dry-run', '--peer', `127.0.0.1:${pair!.a.port}`)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /would switch over node1 → node2/)
    assert.match(r.stdout, /\[node1, demote half\] pg_ctl stop -m fast/)
    assert.match(r.stdout, /\[node2, promote half\] wait until node1 is gone .*claiming VIP-M/)
    assert.equal(psql(pair!.a, "SELECT coalesce(switchover, 'none') FROM pgha.cluster_state", 'pgha'), 'none')
  })

  test('pause / resume on the primary: idempotent, replicated, --json', async (t) => {
    if (!pair && !prerequisites(t, need)) return
    const dry = await cli('a', 'pause', '--dry-run')
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /UPDATE pgha.cluster_state SET paused = true/)
    assert.equal(psql(pair!.a, 'SELECT paused FROM pgha.cluster_state', 'pgha'), 'f')
    const p1 = await cli('a', 'pause', '--json')
    assert.equal(p1.code, 0, p1.stderr)
    assert.equal(p1.json.result.changed, true)
    const p2 = await cli('a', 'pause', '--json')
    assert.equal(p2.json.result.changed, false)
    assert.equal(psql(pair!.a, 'SELECT paused FROM pgha.cluster_state', 'pgha'), 't')
    const r = await cli('a', 'resume')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /cluster resumed/)
    assert.equal(psql(pair!.a, 'SELECT paused FROM pgha.cluster_state', 'pgha'), 'f')
  })
})

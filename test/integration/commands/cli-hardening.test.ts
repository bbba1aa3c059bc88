/**
 * Issue 9 hardening through the real CLI (node bin/run.js): exit codes of unknown commands and
 * checks, Ctrl-C at a real prompt (a pseudo-terminal from `script`), a fence agent that echoes
 * the password, a network.interface that does not exist, a corrupt state.json, check alive
 * after kill -9 of a real watch, and promote on a real primary without --yes.
 * PostgreSQL on 55650; every name starts with hout.
 */
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {realExec} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, startPrimary, tempRoot, waitFor, writePassfile} from '../../helpers/pg.js'
import {RUN_JS} from '../../helpers/paths.js'

const PORT = 55650
const MISSING_IFACE = 'houtnope0'
const FENCE_PASSWORD = `hout%pw ${process.pid}'q`

interface Cli {
  code: number
  stdout: string
  stderr: string
}

describe('pgha CLI hardening (issue 9)', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser', 'script', 'ip']}
  let root = ''
  let ready = false
  const files = {base: '', lo: '', fence: '', pg: ''}

  const pgha = async (config: string, ...args: string[]): Promise<Cli> => {
    const r = await realExec.run([process.execPath, RUN_JS, ...args, '--config', config], {
      timeoutMs: 60_000,
      env: {PGHA_CONFIG: undefined},
    })
    return {code: r.exitCode, stdout: r.stdout, stderr: r.stderr}
  }

  before(async () => {
    if (!isRoot() || !need.commands.every(hasCommand)) return
    root = tempRoot(c, 'hout')
    const passfile = writePassfile(root)
    const primary = await startPrimary(c, root, passfile, PORT, 'houtpg')
    const p = primary.cfg.postgres
    const emptyData = join(root, 'houtdata')
    mkdirSync(emptyData)
    const fenceScript = join(root, 'hout-fence.sh')
    // A verbose agent: echoes its ipmitool line (password included) and fails.
    writeFileSync(
      fenceScript,
      '#!/bin/sh\necho "ipmitool -H $PGHA_FENCE_ADDRESS -U $PGHA_FENCE_USER -P $PGHA_FENCE_PASSWORD chassis power $1" >&2\necho "session rejected for password $PGHA_FENCE_PASSWORD" >&2\nexit 1\n',
      {mode: 0o755},
    )
    const pwFile = join(root, 'hout-fence.password')
    writeFileSync(pwFile, FENCE_PASSWORD + '\n', {mode: 0o600})
    const config = (name: string, over: Record<string, unknown>) => {
      const file = join(root, `${name}.yaml`)
      writeFileSync(
        file,
        YAML.stringify({
          cluster: 'hout',
          node: {name: 'node1', address: '192.0.2.11'},
          peer: {name: 'node2', address: '192.0.2.12'},
          network: {interface: MISSING_IFACE, gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
          postgres: {bindir: p.bindir, datadir: emptyData, port: PORT + 1, socketDir: root, passfile, stepTimeout: '20s'},
          fence: {agent: 'none'},
          timing: {probeTimeout: '1s', interval: '500ms'},
          stateDir: join(root, `${name}-state`),
          ...over,
        }),
      )
      return file
    }
    files.base = config('hout-base', {})
    files.lo = config('hout-lo', {
      network: {interface: 'lo', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    })
    files.fence = config('hout-fence', {
      fence: {
        agent: 'command',
        command: [fenceScript, '{action}'],
        address: '192.0.2.201',
        user: 'admin',
        passwordFile: pwFile,
        timeout: '3s',
      },
    })
    files.pg = config('hout-pg', {
      postgres: {bindir: p.bindir, datadir: p.datadir, port: p.port, socketDir: p.socketDir, passfile, stepTimeout: '20s'},
    })
    ready = true
  })
  after(() => c.run())

  test('an unknown command is a usage error (exit 2, one line); an unknown check is Nagios UNKNOWN (exit 3)', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const cmd = await pgha(files.base, 'statsu')
    assert.equal(cmd.code, 2, cmd.stderr)
    assert.equal(cmd.stderr.trim(), 'pgha: unknown command "statsu" — did you mean "pgha status"? (pgha --help lists the commands)')
    const check = await pgha(files.base, 'check', 'nothing')
    assert.equal(check.code, 3, check.stdout + check.stderr)
    assert.match(check.stdout, /^PGHA CHECK UNKNOWN - unknown check "nothing": the checks are alive, lag\n?$/)
  })

  test('Ctrl-C at a real confirmation prompt: one line, exit 2, nothing changed', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const shell = `${process.execPath} ${RUN_JS} release-vips --config ${files.lo}`
    const child = spawn('script', ['-qec', shell, '/dev/null'], {stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    let sent = false
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (!sent && /release VIP-S/.test(out)) {
        sent = true
        setTimeout(() => child.stdin.write('\x03'), 200)
      }
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    const code = await new Promise<number | null>((r) => child.on('exit', r))
    clearTimeout(timer)
    assert.ok(sent, `no prompt seen: ${JSON.stringify(out)}`)
    assert.equal(code, 2, out)
    assert.match(out, /pgha: cancelled at the prompt: nothing was changed/)
    assert.doesNotMatch(out, /SIGINT|force closed/)
  })

  test('a fence agent that echoes the password: neither human output, --json nor debug logs contain it', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const runs = [
      await pgha(files.fence, 'fence-peer', '--action', 'status'),
      await pgha(files.fence, 'fence-peer', '--action', 'off', '--yes'),
      await pgha(files.fence, 'fence-peer', '--action', 'off', '--yes', '--json'),
      await pgha(files.fence, 'fence-peer', '--action', 'off', '--yes', '--log-level', 'debug'),
      await pgha(files.fence, 'fence-peer', '--action', 'off', '--yes', '--log-level', 'debug', '--log-format', 'json'),
    ]
    const forms = [FENCE_PASSWORD, encodeURIComponent(FENCE_PASSWORD), 'hout%pw']
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr)
      const all = r.stdout + r.stderr
      for (const f of forms) assert.ok(!all.includes(f), `leaked ${f}: ${all}`)
      // The agent's words still arrive, with the secret masked.
      assert.match(all, /session rejected for password \*\*\*\*/)
    }
    const json = JSON.parse(runs[2].stdout) as {status: string; error: {message: string}}
    assert.equal(json.status, 'error')
    assert.match(json.error.message, /\*\*\*\*/)
  })

  test('network.interface that does not exist is named by watch --once, status and claim-vip (exit 2)', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const reason = `network.interface ${MISSING_IFACE} does not exist on this host — fix network.interface`
    const once = await pgha(files.base, 'watch', '--once', '--dry-run')
    assert.match(once.stdout, /rule {5}any\.no-interface \(alert\)/)
    assert.ok(once.stdout.includes(reason), once.stdout)
    assert.doesNotMatch(once.stdout, /may be isolated/)
    const status = await pgha(files.base, 'status')
    assert.equal(status.code, 0, status.stderr)
    assert.ok(status.stdout.includes(`PROBLEM: ${reason}`), status.stdout)
    for (const args of [
      ['claim-vip', 'primary'],
      ['release-vips', '--yes'],
      ['claim-vip', 'standby', '--dry-run'],
    ]) {
      const r = await pgha(files.base, ...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr.trim(), `pgha: ${reason} (ip link lists the names)`)
    }
  })

  test('a corrupt state.json is reported as corrupt by status and check alive, not as "has not run"', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const stateDir = join(root, 'hout-lo-state')
    mkdirSync(stateDir, {recursive: true})
    writeFileSync(join(stateDir, 'state.json'), '{"version": 1, "updatedAt": "20')
    const status = await pgha(files.lo, 'status')
    assert.match(status.stdout, /watch on node1: state file \S+state\.json is corrupt \(not JSON: [^)]+\)/)
    assert.doesNotMatch(status.stdout, /has not run/)
    const alive = await pgha(files.lo, 'check', 'alive')
    assert.equal(alive.code, 2, alive.stdout)
    assert.match(alive.stdout, /^PGHA ALIVE CRITICAL - state file \S+ is corrupt/)
  })

  test('check alive is CRITICAL at once after kill -9 of a real watch, like status', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const child: ChildProcess = spawn(process.execPath, [RUN_JS, 'watch', '--config', files.base], {
      stdio: 'ignore',
      env: {...process.env, PGHA_CONFIG: undefined},
    })
    c.add(() => child.kill('SIGKILL'))
    const stateFile = join(root, 'hout-base-state', 'state.json')
    await waitFor('the watch writes state.json', 30_000, async () => {
      try {
        return (JSON.parse(readFileSync(stateFile, 'utf8')) as {pid: number}).pid === child.pid
      } catch {
        return false
      }
    })
    const ok = await pgha(files.base, 'check', 'alive')
    assert.equal(ok.code, 0, ok.stdout)
    assert.match(ok.stdout, /^PGHA ALIVE OK - pgha watch alive/)
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    const gone = await pgha(files.base, 'check', 'alive')
    assert.equal(gone.code, 2, gone.stdout)
    assert.match(gone.stdout, new RegExp(`^PGHA ALIVE CRITICAL - pgha watch is not running: PID ${child.pid} is gone`))
    const status = await pgha(files.base, 'status')
    assert.match(status.stdout, new RegExp(`not running \\(PID ${child.pid} is gone\\)`))
  })

  test('promote on a primary without --yes (no terminal) says there is nothing to do, exit 0', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await pgha(files.pg, 'promote')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'already primary (not in recovery); nothing to promote')
    const j = await pgha(files.pg, 'promote', '--json')
    assert.equal(JSON.parse(j.stdout).result.summary, 'already primary (not in recovery); nothing to promote')
  })
})

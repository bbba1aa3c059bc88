/**
 * Monitoring and paging on real parts: the lab's two hosts run `pgha watch` with a hook (a
 * script appending its environment and stdin to a file) and the HTTP API on their own address.
 * A real HAProxy in the gateway namespace routes PostgreSQL clients by `/primary`, written like
 * a Patroni setup's. Scenario: steady pair (HAProxy → node1, promtool accepts both nodes'
 * /metrics) → node1 powered off (node2 fences and fails over: the hook sees fence, failover,
 * role_change; HAProxy follows to node2) → node1 powered on (rejoins; failback) → switchover
 * back to node1 (both hooks see switchover; HAProxy follows) → node2 (the standby) powered off
 * (node1 fences it and degrades sync: a hook `on: [degrade, rearm]` sees degrade) → node2
 * powered on (rejoins, catches up: the same hook sees rearm). Lab and ports: hk*, 18610-18611.
 */
import assert from 'node:assert/strict'
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {chmodSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import YAML from 'yaml'
import {ipmiPower} from '../../src/lib/lab/bmcs.js'
import {PG_BINDIR} from '../../src/lib/lab/host-config.js'
import {sleep} from '../../src/lib/lab/host.js'
import {enableWatch, labDown, labUp, pghaInHost} from '../../src/lib/lab/lab.js'
import {labLayout, LAB_GATEWAY, LAB_NODES, LOAD_DB, LOAD_USER, type LabNode} from '../../src/lib/lab/layout.js'
import {readSecretFile} from '../../src/lib/config/load.js'
import {readWatchState} from '../../src/lib/loop/watch-state.js'
import {prerequisites} from '../helpers/env.js'
import {LAB_COMMANDS} from './lab-harness.js'

const tag = `hk${process.pid % 10000}`
const lab = labLayout(tag, `/tmp/pgha-e2e-${tag}`)
const PROXY_PORT = 18610
const STATS_PORT = 18611
const API_PORT = 8008
const hookLog = (n: LabNode) => join(lab.dir, `hook-${n}.log`)
/** The log of a second hook, configured `on: [degrade, rearm]` only. */
const syncHookLog = (n: LabNode) => join(lab.dir, `hook-sync-${n}.log`)
const roleOf = (n: LabNode) => readWatchState(lab.hosts[n].stateDir)?.role

interface HookCall {
  env: Record<string, string>
  stdin: Record<string, unknown>
}

/** Each call: one line of env (PGHA_*=… joined by \x1f), one line of stdin JSON. */
function hookCalls(n: LabNode, log = hookLog(n)): HookCall[] {
  if (!existsSync(log)) return []
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean)
  const calls: HookCall[] = []
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const env = Object.fromEntries(
      lines[i]
        .split('\x1f')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    )
    calls.push({env, stdin: JSON.parse(lines[i + 1])})
  }
  return calls
}
const events = (n: LabNode) => hookCalls(n).map((c) => c.env.PGHA_EVENT)

function inGateway(argv: string[], opts: {env?: NodeJS.ProcessEnv; timeout?: number} = {}): string {
  return execFileSync('ip', ['netns', 'exec', lab.gatewayNetns, ...argv], {
    timeout: opts.timeout ?? 10_000,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** The server a client reaches through HAProxy (inet_server_addr of the backend), or undefined. */
function proxied(): string | undefined {
  try {
    return inGateway(
      [
        `${PG_BINDIR}/psql`,
        '-XAtq',
        '-h',
        LAB_GATEWAY,
        '-p',
        String(PROXY_PORT),
        '-U',
        LOAD_USER,
        '-d',
        LOAD_DB,
        '-c',
        "SELECT host(inet_server_addr()) || ' ' || pg_is_in_recovery()",
      ],
      {env: {...process.env, PGPASSWORD: readSecretFile(lab.loadPassfile), PGCONNECT_TIMEOUT: '3'}, timeout: 8000},
    ).trim()
  } catch {
    return undefined
  }
}

async function until(what: string, limitMs: number, pred: () => boolean): Promise<number> {
  const started = Date.now()
  while (!pred()) {
    if (Date.now() - started > limitMs)
      throw new Error(
        `${what}: not within ${limitMs / 1000} s (node1 ${roleOf('node1')}, node2 ${roleOf('node2')}; hooks node1 ${events('node1')}, node2 ${events('node2')}; proxy ${proxied()})`,
      )
    await sleep(300)
  }
  return Date.now() - started
}

function promtoolAccepts(n: LabNode): string {
  const text = inGateway(['curl', '-sf', '--max-time', '5', `http://${lab.hosts[n].address}:${API_PORT}/metrics`])
  const lint = execFileSync('promtool', ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  assert.equal(lint.trim(), '', `promtool on ${n}: ${lint}`)
  return text
}

function haproxyConfig(): string {
  const servers = LAB_NODES.map((n) => `  server ${n} ${lab.hosts[n].address}:5432 maxconn 100 check port ${API_PORT}`)
  return [
    'global',
    '  maxconn 200',
    '',
    'defaults',
    '  mode tcp',
    '  retries 2',
    '  timeout client 30m',
    '  timeout connect 2s',
    '  timeout server 30m',
    '  timeout check 2s',
    '',
    'listen stats',
    '  mode http',
    `  bind ${LAB_GATEWAY}:${STATS_PORT}`,
    '  stats enable',
    '  stats uri /',
    '',
    'listen primary',
    `  bind ${LAB_GATEWAY}:${PROXY_PORT}`,
    '  option httpchk OPTIONS /primary',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions',
    ...servers,
    '',
  ].join('\n')
}

describe('hooks, HTTP API and HAProxy in the lab: failover, rejoin, switchover', {timeout: 900_000}, () => {
  let proxy: ChildProcess | undefined
  let up = false
  before(async () => {
    await labDown(lab).catch(() => undefined)
  })
  after(async () => {
    proxy?.kill('SIGKILL')
    await labDown(lab).catch(() => undefined)
  })

  it('a steady pair: HAProxy routes to the primary by /primary; promtool accepts both /metrics', async (t) => {
    if (!prerequisites(t, {root: true, commands: [...LAB_COMMANDS, 'haproxy', 'promtool', 'curl']})) return
    await labUp(lab, () => undefined, {watch: false})
    up = true
    const hook = join(lab.dir, 'record-hook')
    writeFileSync(
      hook,
      '#!/bin/sh\n# one line of PGHA_* variables, then the event JSON from stdin\nout="$1"\nenv | grep "^PGHA_" | sort | tr "\\n" "\\037" >> "$out"\necho >> "$out"\ncat >> "$out"\n',
    )
    chmodSync(hook, 0o755)
    for (const n of LAB_NODES) {
      const file = lab.hosts[n].configFile
      const cfg = YAML.parse(readFileSync(file, 'utf8'))
      cfg.hooks = [
        {run: [hook, hookLog(n)], timeout: '10s'},
        {on: ['degrade', 'rearm'], run: [hook, syncHookLog(n)], timeout: '10s'},
      ]
      cfg.api = {listen: `${lab.hosts[n].address}:${API_PORT}`}
      writeFileSync(file, YAML.stringify(cfg))
    }
    await enableWatch(lab, () => undefined)
    const cfgFile = join(lab.dir, 'haproxy.cfg')
    writeFileSync(cfgFile, haproxyConfig())
    execFileSync('haproxy', ['-c', '-f', cfgFile], {stdio: 'pipe', timeout: 10_000})
    proxy = spawn('ip', ['netns', 'exec', lab.gatewayNetns, 'haproxy', '-db', '-f', cfgFile], {stdio: 'ignore'})
    await until('node1 primary, node2 standby', 90_000, () => roleOf('node1') === 'primary' && roleOf('node2') === 'standby')
    await until('HAProxy routes to node1', 30_000, () => proxied() === `${lab.hosts.node1.address} false`)
    const m1 = promtoolAccepts('node1')
    assert.match(m1, new RegExp(`pgha_primary\\{cluster="${tag}",node="node1"\\} 1`))
    assert.match(m1, /pgha_xlog_location\{[^}]*\} [1-9]\d*/)
    const m2 = promtoolAccepts('node2')
    assert.match(m2, new RegExp(`pgha_replica\\{cluster="${tag}",node="node2"\\} 1`))
    assert.match(m2, /pgha_xlog_replayed_location\{[^}]*\} [1-9]\d*/)
    const stats = inGateway(['curl', '-sf', '--max-time', '5', `http://${LAB_GATEWAY}:${STATS_PORT}/;csv`])
    assert.match(stats, /^primary,node1,.*,UP,/m)
    assert.match(stats, /^primary,node2,.*,DOWN,/m)
    assert.ok(events('node1').includes('role_change'), `node1 became primary through a hook-visible role change: ${events('node1')}`)
  })

  it('primary power-off: node2 fences and fails over, its hook sees it, HAProxy follows', async (t) => {
    if (!up) return t.skip('lab not up')
    const before2 = hookCalls('node2').length
    const off = await ipmiPower(lab, 'node1', 'off')
    assert.equal(off.power, 'off', off.result.stderr)
    const took = await until('HAProxy routes to node2, writable', 60_000, () => proxied() === `${lab.hosts.node2.address} false`)
    t.diagnostic(`HAProxy followed the failover in ${(took / 1000).toFixed(1)} s`)
    await until('node2 hook saw failover', 20_000, () => events('node2').slice(before2).includes('failover'))
    const calls = hookCalls('node2').slice(before2)
    assert.deepEqual(
      calls
        .map((c) => c.env.PGHA_EVENT)
        .filter((e) => ['fence', 'failover', 'role_change'].includes(e))
        .slice(0, 3),
      ['fence', 'failover', 'role_change'],
    )
    const fo = calls.find((c) => c.env.PGHA_EVENT === 'failover')!
    assert.equal(fo.env.PGHA_NODE, 'node2')
    assert.equal(fo.env.PGHA_PEER, 'node1')
    assert.equal(fo.env.PGHA_CLUSTER, tag)
    assert.equal(fo.env.PGHA_ROLE, 'primary_standby')
    assert.equal(fo.env.PGHA_PREVIOUS_ROLE, 'standby')
    assert.equal(fo.env.PGHA_RULE, 'standby.failover')
    assert.match(fo.env.PGHA_REASON, /^the primary failed \d+ checks in a row/)
    assert.ok(!Number.isNaN(Date.parse(fo.env.PGHA_TIME)))
    assert.equal(fo.stdin.event, 'failover')
    assert.deepEqual(fo.stdin.done, ['fencePeer', 'promote', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'])
    const m = promtoolAccepts('node2')
    assert.match(m, /pgha_failovers_total\{[^}]*\} 1/)
    assert.match(m, /pgha_fences_total\{[^}]*\} 1/)
  })

  it('node1 returns and rejoins; a switchover back to node1 reaches both hooks; HAProxy follows', async (t) => {
    if (!up) return t.skip('lab not up')
    const on = await ipmiPower(lab, 'node1', 'on')
    assert.equal(on.power, 'on', on.result.stderr)
    await until('node2 primary, node1 standby', 240_000, () => roleOf('node2') === 'primary' && roleOf('node1') === 'standby')
    assert.ok(events('node1').includes('rejoin'), `node1's hook saw its rejoin: ${events('node1')}`)
    assert.ok(events('node2').includes('failback'), `node2's hook saw the failback: ${events('node2')}`)
    promtoolAccepts('node1')
    const b1 = hookCalls('node1').length
    const b2 = hookCalls('node2').length
    const first = pghaInHost(lab, 'node2', ['switchover', '--yes', '--json'], 240_000)
    await sleep(500)
    const second = pghaInHost(lab, 'node1', ['switchover', '--yes', '--json'], 240_000)
    const [a, b] = await Promise.all([first, second])
    assert.equal(a.exitCode, 0, a.stderr + a.stdout)
    assert.equal(b.exitCode, 0, b.stderr + b.stdout)
    await until('HAProxy routes to node1 again', 90_000, () => proxied() === `${lab.hosts.node1.address} false`)
    await until(
      'both hooks saw the switchover',
      30_000,
      () => events('node1').slice(b1).includes('switchover') && events('node2').slice(b2).includes('switchover'),
    )
    const sw = hookCalls('node2')
      .slice(b2)
      .find((c) => c.env.PGHA_EVENT === 'switchover')!
    assert.equal(sw.env.PGHA_RULE, 'any.switchover')
    assert.equal(sw.env.PGHA_PREVIOUS_ROLE, 'primary')
  })

  it('standby power-off: node1 fences it and degrades sync, the degrade hook sees it; node2 returns, rearm', async (t) => {
    if (!up) return t.skip('lab not up')
    const before = hookCalls('node1', syncHookLog('node1')).length
    const off = await ipmiPower(lab, 'node2', 'off')
    assert.equal(off.power, 'off', off.result.stderr)
    const syncEvents = () => hookCalls('node1', syncHookLog('node1')).map((c) => c.env.PGHA_EVENT)
    await until('node1 degrade hook saw degrade', 60_000, () => syncEvents().slice(before).includes('degrade'))
    const calls = hookCalls('node1', syncHookLog('node1')).slice(before)
    assert.ok(
      calls.every((c) => ['degrade', 'rearm'].includes(c.env.PGHA_EVENT)),
      `the on: [degrade, rearm] hook ran only for those: ${calls.map((c) => c.env.PGHA_EVENT)}`,
    )
    const dg = calls.find((c) => c.env.PGHA_EVENT === 'degrade')!
    assert.equal(dg.stdin.event, 'degrade')
    assert.equal(dg.stdin.rule, 'primary.fence-standby')
    assert.match(String(dg.stdin.reason), /^the standby failed \d+ checks in a row/)
    assert.equal(dg.stdin.node, 'node1')
    assert.equal(dg.stdin.peer, 'node2')
    assert.equal(dg.stdin.role, 'primary_standby')
    assert.equal(dg.stdin.previousRole, 'primary')
    assert.deepEqual((dg.stdin.done as string[]).slice(0, 2), ['fencePeer', 'degradeSync'])
    assert.equal(dg.env.PGHA_RULE, dg.stdin.rule)
    assert.equal(dg.env.PGHA_ROLE, 'primary_standby')
    assert.ok(events('node1').includes('fence'), `the all-events hook saw the fence too: ${events('node1')}`)
    const on = await ipmiPower(lab, 'node2', 'on')
    assert.equal(on.power, 'on', on.result.stderr)
    await until('node1 degrade hook saw rearm', 240_000, () => syncEvents().slice(before).includes('rearm'))
    const rearm = hookCalls('node1', syncHookLog('node1'))
      .slice(before)
      .find((c) => c.env.PGHA_EVENT === 'rearm')!
    assert.equal(rearm.stdin.rule, 'primary.arm-sync')
    assert.equal(rearm.stdin.node, 'node1')
    assert.equal(rearm.stdin.peer, 'node2')
    assert.match(String(rearm.stdin.reason), /re-arming synchronous replication/)
  })
})

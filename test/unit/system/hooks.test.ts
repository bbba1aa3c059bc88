/**
 * The hook runner with real processes (small sh scripts in a temp dir), and the real watch
 * loop with a hook that sleeps 30 s: the loop must never wait for it.
 */
import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {type PghaEvent, tickEvents} from '../../../src/lib/core/events.js'
import {WatchLoop} from '../../../src/lib/loop/loop.js'
import type {Decision} from '../../../src/lib/core/types.js'
import {WatchPublisher} from '../../../src/lib/loop/watch-publish.js'
import {createLogger} from '../../../src/lib/log.js'
import {HookRunner} from '../../../src/lib/system/hooks.js'
import {standbyObs, testConfig} from '../../helpers/ha-fixtures.js'

function tmp(t: {after: (fn: () => void) => void}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-hooks-'))
  t.after(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

function script(dir: string, name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, `#!/bin/sh\n${body}\n`)
  chmodSync(p, 0o755)
  return p
}

function logged() {
  const lines: {level: string; msg: string}[] = []
  return {lines, log: createLogger({level: 'debug', format: 'json', sink: (l) => lines.push(JSON.parse(l))})}
}

const WHO = {cluster: 'prod', node: 'node2', peer: 'node1'}
const failoverEvents = (): PghaEvent[] =>
  tickEvents(
    {
      at: '2026-12-02T03:00:00.000Z',
      from: 'standby',
      role: 'primary_standby',
      committed: true,
      rule: 'standby.failover',
      reason: 'the primary failed 3 checks in a row',
      severity: 'alert',
      done: ['fencePeer', 'promote', 'claimVipPrimary', 'writeHeartbeat'],
    },
    'standby.fence-wait',
    WHO,
  )

test('a hook gets the PGHA_* environment and the event as JSON on stdin, in order, filtered by `on`', async (t) => {
  const dir = tmp(t)
  const out = join(dir, 'out')
  const hook = script(
    dir,
    'record',
    `{ echo "event=$PGHA_EVENT role=$PGHA_ROLE previous=$PGHA_PREVIOUS_ROLE rule=$PGHA_RULE node=$PGHA_NODE peer=$PGHA_PEER cluster=$PGHA_CLUSTER secret=\${IPMI_PASSWORD:-none} args=$*"; cat; } >> ${out}`,
  )
  const {log, lines} = logged()
  process.env.IPMI_PASSWORD = 'do-not-leak'
  t.after(() => delete process.env.IPMI_PASSWORD)
  const r = new HookRunner([{on: ['fence', 'failover'], run: [hook, '--team', 'db'], timeout: 5000}], log, {scrubEnv: ['IPMI_PASSWORD']})
  r.fire(failoverEvents())
  await r.idle()
  const text = readFileSync(out, 'utf8').trim().split('\n')
  assert.equal(text.length, 4, text.join('\n'))
  assert.equal(
    text[0],
    'event=fence role=primary_standby previous=standby rule=standby.failover node=node2 peer=node1 cluster=prod secret=none args=--team db',
  )
  assert.equal(JSON.parse(text[1]).event, 'fence')
  assert.match(text[2], /^event=failover /)
  assert.equal(JSON.parse(text[3]).reason, 'the primary failed 3 checks in a row')
  assert.equal(r.stats.succeeded, 2)
  assert.ok(lines.some((l) => l.level === 'info' && /hooks\[0\] .*record for event failover done/.test(l.msg)))
})

test('a failing hook and a hook past its timeout are logged with their output, bounded; the hook is killed', async (t) => {
  const dir = tmp(t)
  const fails = script(dir, 'fails', 'echo "smtp relay refused" >&2; exit 3')
  const slow = script(dir, 'slow', `echo started; exec sleep 30`)
  const chatty = script(dir, 'chatty', `i=0; while [ $i -lt 2000 ]; do echo "line $i of a very chatty hook"; i=$((i+1)); done`)
  const {log, lines} = logged()
  const r = new HookRunner(
    [
      {run: [fails], timeout: 5000},
      {run: [slow], timeout: 300},
      {run: [chatty], timeout: 5000},
    ],
    log,
  )
  const t0 = Date.now()
  r.fire(failoverEvents().slice(0, 1))
  await r.idle()
  assert.ok(Date.now() - t0 < 5000, 'the slow hook was killed at its timeout, not waited for')
  assert.equal(r.stats.failed, 1)
  assert.equal(r.stats.timedOut, 1)
  const err = lines.find((l) => /fails for event fence exited 3/.test(l.msg))
  assert.ok(err && /smtp relay refused/.test(err.msg), JSON.stringify(lines))
  assert.ok(lines.some((l) => /slow for event fence still ran at its timeout 300 ms: killed: started/.test(l.msg)))
  const chattyLine = lines.find((l) => /chatty for event fence done/.test(l.msg))!
  assert.ok(chattyLine.msg.length < 600, `bounded log line (${chattyLine.msg.length} chars)`)
  assert.match(chattyLine.msg, /line 1999 of a very chatty hook$/)
})

test('a hook that is not there is one clear log line; a full queue drops the oldest event, loudly', async (t) => {
  const dir = tmp(t)
  const {log, lines} = logged()
  const r = new HookRunner(
    [
      {run: [join(dir, 'missing')], timeout: 1000},
      {run: [script(dir, 'slow', 'exec sleep 30')], timeout: 30_000},
    ],
    log,
    {maxQueue: 1},
  )
  r.fire(failoverEvents())
  assert.equal(r.stats.dropped, 4, 'each hook: 4 events, 1 running, 1 queued, 2 dropped')
  await new Promise((res) => setTimeout(res, 300))
  assert.ok(
    lines.some((l) => /missing for event .* exited 127.*command not found/.test(l.msg)),
    JSON.stringify(lines),
  )
  assert.ok(lines.some((l) => /queue full .* dropped event/.test(l.msg)))
  const t0 = Date.now()
  await r.close()
  assert.ok(Date.now() - t0 < 3000, 'close() killed the sleeping hook')
  assert.equal(r.running, 0)
})

test('the real watch loop never waits for a hook: a hook sleeping 30 s, ticks keep their interval', async (t) => {
  const dir = tmp(t)
  const started = join(dir, 'started')
  const finished = join(dir, 'finished')
  const hook = script(dir, 'pager', `echo "$PGHA_EVENT" >> ${started}; sleep 30; echo done >> ${finished}`)
  const cfg = {...testConfig(), stateDir: dir}
  const interval = 100
  cfg.timing = {...cfg.timing, interval}
  const {log} = logged()
  const hooks = new HookRunner([{run: [hook], timeout: 30_000}], log)
  t.after(() => hooks.close())
  const publisher = new WatchPublisher({cfg, startedAt: Date.now(), fire: (e) => hooks.fire(e), hookStats: () => hooks.stats})
  // Every tick a new alert condition (two alternating rules), so every tick fires the hook.
  let n = 0
  const decide = (): Decision => ({
    next: 'standby',
    rule: n++ % 2 ? 'standby.stale' : 'standby.vips-missing',
    reason: 'alerting',
    actions: [],
    memory: {peerFailures: 0, fenceAttempts: 0, archiveMountTried: false},
    severity: 'alert',
  })
  const starts: number[] = []
  const loop = new WatchLoop(
    {
      cfg,
      decide,
      log,
      persist: () => {},
      notify: async () => {},
      observe: async () => {
        starts.push(Date.now())
        if (starts.length >= 12) loop.stop()
        return {obs: standbyObs(), flags: {paused: false, switchover: false, source: 'local', note: ''}, notes: [], ms: 1, probeMs: {}}
      },
      runAction: async () => ({changed: false, summary: ''}),
      onTick: (r, prev) => void publisher.onTick(r, prev),
    },
    {role: 'standby'},
  )
  const first = await loop.tick()
  assert.equal(first.severity, 'alert')
  // Structural: tick() has resolved while the hook it fired is still running.
  assert.equal(hooks.running, 1)
  await new Promise((res) => setTimeout(res, 200))
  assert.ok(existsSync(started), 'the hook started')
  await loop.run()
  const gaps = starts.slice(1).map((s, i) => s - starts[i])
  assert.ok(Math.max(...gaps.slice(1)) < interval + 400, `ticks every ~${interval} ms while the hook sleeps: ${gaps.join(', ')}`)
  assert.equal(hooks.running, 1, 'still the first run, 30 s long')
  assert.ok(hooks.queued > 0, 'later events wait in the bounded queue')
  assert.ok(!existsSync(finished))
  assert.ok(publisher.counters.ticks >= 12)
})

/**
 * npm run bench:monitoring — what monitoring costs the watch loop, and what a scrape costs.
 *
 *  1. per tick: WatchPublisher.onTick (events + snapshot + counters) and HookRunner.fire with a
 *     hook configured for every event — the only monitoring work the loop itself does;
 *  2. per request: /metrics and /primary over a real socket on 127.0.0.1:18630 (sequential
 *     requests after a warm-up; latency percentiles), with 0 and then 50 idle connections open;
 *  3. while a hook sleeps 30 s and 200 /metrics requests run: the loop's tick-start jitter at a
 *     100 ms interval.
 * Targets: onTick + fire < 50 µs per tick; /metrics p99 < 5 ms; jitter p99 < 20 ms.
 */
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {WatchLoop} from '../src/lib/loop/loop.js'
import type {Decision} from '../src/lib/core/types.js'
import {WatchPublisher} from '../src/lib/loop/watch-publish.js'
import type {TickReport} from '../src/lib/loop/watch-state.js'
import {silentLogger} from '../src/lib/log.js'
import {HookRunner} from '../src/lib/system/hooks.js'
import {ApiServer} from '../src/lib/system/http-api.js'
import {standbyObs, testConfig} from '../test/helpers/ha-fixtures.js'

const say = (s: string) => process.stdout.write(s + '\n')
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]
const PORT = 18630
/** Requests per series before the measured 300. */
const WARMUP = 30

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-bench-mon-'))
  const hook = join(dir, 'sleepy')
  writeFileSync(hook, '#!/bin/sh\nexec sleep 30\n')
  chmodSync(hook, 0o755)
  const cfg = {...testConfig(), stateDir: dir}
  cfg.timing = {...cfg.timing, interval: 100}
  const hooks = new HookRunner([{run: [hook], timeout: 30_000}], silentLogger, {maxQueue: 32})
  const pub = new WatchPublisher({cfg, startedAt: Date.now(), fire: (e) => hooks.fire(e), hookStats: () => hooks.stats})
  const report = (i: number): TickReport => ({
    at: new Date().toISOString(),
    from: 'standby',
    role: 'standby',
    next: 'standby',
    committed: true,
    rule: i % 2 ? 'standby.stale' : 'standby.steady',
    reason: 'bench',
    severity: i % 2 ? 'alert' : 'info',
    actions: [],
    done: [],
    steps: [],
    notes: [],
    ms: {observe: 3, actions: 0, tick: 4},
    probeMs: {},
    obs: standbyObs(),
    flags: {paused: false, switchover: false, source: 'local', note: ''},
    dryRun: false,
  })
  const N = 20_000
  let t0 = performance.now()
  for (let i = 0; i < N; i++) pub.onTick(report(i), i ? report(i - 1).rule : undefined)
  const perTick = ((performance.now() - t0) * 1000) / N
  say(
    `onTick + fire (an alert event every 2nd tick, one hook busy): ${perTick.toFixed(2)} µs per tick (target < 50 µs); ${hooks.stats.dropped} events dropped by the full queue, as designed`,
  )

  const api = new ApiServer(pub, silentLogger, {maxConnections: 64})
  await api.listen(`127.0.0.1:${PORT}`)
  const idle: Socket[] = []
  for (const idleCount of [0, 50]) {
    while (idle.length < idleCount) idle.push(connect(PORT, '127.0.0.1').on('error', () => {}))
    for (const path of ['/metrics', '/primary']) {
      // Not counted: the first fetch() loads and compiles Node's HTTP client (undici) in this
      // process, and the JIT warms up on both sides; that is the client's cost, not the API's.
      for (let i = 0; i < WARMUP; i++) await (await fetch(`http://127.0.0.1:${PORT}${path}`)).arrayBuffer()
      const ms: number[] = []
      for (let i = 0; i < 300; i++) {
        t0 = performance.now()
        const r = await fetch(`http://127.0.0.1:${PORT}${path}`)
        await r.arrayBuffer()
        ms.push(performance.now() - t0)
      }
      say(
        `GET ${path}: p50 ${pct(ms, 0.5).toFixed(2)} ms, p99 ${pct(ms, 0.99).toFixed(2)} ms over 300 requests (after ${WARMUP} not counted) with ${idleCount} idle connections open (target p99 < 5 ms)`,
      )
    }
  }
  const size = (await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text()).length
  say(`/metrics body: ${size} bytes`)

  let n = 0
  const decide = (): Decision => ({
    next: 'standby',
    rule: n++ % 2 ? 'standby.stale' : 'standby.vips-missing',
    reason: 'bench',
    actions: [],
    memory: {peerFailures: 0, fenceAttempts: 0, archiveMountTried: false},
    severity: 'alert',
  })
  const starts: number[] = []
  const loop: WatchLoop = new WatchLoop(
    {
      cfg,
      decide,
      log: silentLogger,
      persist: () => {},
      notify: async () => {},
      observe: async () => {
        starts.push(performance.now())
        if (starts.length >= 60) loop.stop()
        return {obs: standbyObs(), flags: {paused: false, switchover: false, source: 'local', note: ''}, notes: [], ms: 1, probeMs: {}}
      },
      runAction: async () => ({changed: false, summary: ''}),
      onTick: (r, p) => void pub.onTick(r, p),
    },
    {role: 'standby'},
  )
  const scrapes = (async () => {
    for (let i = 0; i < 200 && !loop.stopped; i++) await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).arrayBuffer()
  })()
  await loop.run()
  await scrapes
  const jitter = starts.slice(1).map((s, i) => Math.abs(s - starts[i] - 100))
  say(
    `tick-start jitter at a 100 ms interval, a hook sleeping 30 s and /metrics scraped: p50 ${pct(jitter, 0.5).toFixed(1)} ms, p99 ${pct(jitter, 0.99).toFixed(1)} ms, max ${Math.max(...jitter).toFixed(1)} ms (target p99 < 20 ms)`,
  )
  idle.forEach((s) => s.destroy())
  await api.close()
  await hooks.close()
  rmSync(dir, {recursive: true, force: true})
}

await main()

/**
 * The HTTP API on a real socket (ports 18600-18609): status codes per role, HEAD/OPTIONS
 * without a body, Prometheus's own `promtool check metrics` on /metrics in every role, and
 * slow clients (one that never sends, one that never reads) neither block answers nor a tick.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {connect, type Socket} from 'node:net'
import {test} from 'node:test'
import {WatchLoop} from '../../../src/lib/loop/loop.js'
import type {Decision, Observations, Role} from '../../../src/lib/core/types.js'
import {WatchPublisher} from '../../../src/lib/loop/watch-publish.js'
import {silentLogger} from '../../../src/lib/log.js'
import {ApiServer} from '../../../src/lib/system/http-api.js'
import {prerequisites} from '../../helpers/env.js'
import {bootObs, primaryObs, standbyObs, survivorObs, testConfig} from '../../helpers/ha-fixtures.js'
import {Cleanups} from '../../helpers/pg.js'

const ROLE_OBS: [Role, Observations][] = [
  ['primary', primaryObs()],
  ['standby', standbyObs()],
  ['primary_standby', survivorObs()],
  ['starting', bootObs('primary')],
]

async function harness(c: Cleanups, port: number) {
  const cfg = testConfig()
  let obs: Observations = bootObs('primary')
  let role: Role = 'starting'
  const publisher = new WatchPublisher({
    cfg,
    startedAt: Date.now(),
    fire: () => {},
    hookStats: () => ({started: 0, succeeded: 0, failed: 0, timedOut: 0, dropped: 0}),
    wal: () =>
      role === 'starting'
        ? undefined
        : {at: Date.now(), inRecovery: role === 'standby', location: 50_331_648, replayed: 50_331_000, received: 50_331_648, timeline: 2},
  })
  const decide = (): Decision => ({
    next: role,
    rule: `${role}.steady`,
    reason: 'steady',
    actions: [],
    memory: {peerFailures: 0, fenceAttempts: 0, archiveMountTried: false},
    severity: 'info',
  })
  const loop = new WatchLoop(
    {
      cfg,
      decide,
      log: silentLogger,
      persist: () => {},
      notify: async () => {},
      observe: async () => ({obs, flags: {paused: false, switchover: false, source: 'local', note: ''}, notes: [], ms: 1, probeMs: {}}),
      runAction: async () => ({changed: false, summary: ''}),
      onTick: (r, p) => void publisher.onTick(r, p),
    },
    {role},
  )
  const api = new ApiServer(publisher, silentLogger, {requestTimeoutMs: 1000, maxConnections: 8})
  await api.listen(`127.0.0.1:${port}`)
  c.add(() => api.close())
  const become = async (r: Role, o: Observations) => {
    role = r
    obs = o
    loop.role = r
    await loop.tick()
  }
  return {loop, become, base: `http://127.0.0.1:${port}`}
}

test('status codes per role, like Patroni; HEAD and OPTIONS carry no body', async (t) => {
  const c = new Cleanups()
  t.after(() => c.run())
  const h = await harness(c, 18600)
  const expect: Record<Role, Record<string, number>> = {
    primary: {
      '/primary': 200,
      '/read-write': 200,
      '/': 200,
      '/replica': 503,
      '/read-only': 200,
      '/health': 200,
      '/readiness': 200,
      '/liveness': 200,
    },
    primary_standby: {'/primary': 200, '/replica': 503, '/read-only': 200, '/health': 200},
    standby: {
      '/primary': 503,
      '/replica': 200,
      '/replica?lag=16kB': 200,
      '/replica?lag=100': 503,
      '/read-only': 200,
      '/health': 200,
      '/readiness': 200,
    },
    starting: {'/primary': 503, '/replica': 503, '/read-only': 503, '/health': 503, '/readiness': 503, '/liveness': 200},
  }
  for (const [role, obs] of ROLE_OBS) {
    await h.become(role, obs)
    for (const [path, code] of Object.entries(expect[role])) {
      const r = await fetch(h.base + path)
      assert.equal(r.status, code, `${role} GET ${path}`)
      const body = (await r.json()) as {pgha: {role: string}}
      assert.equal(body.pgha.role, role)
      for (const method of ['HEAD', 'OPTIONS']) {
        const b = await fetch(h.base + path, {method})
        assert.equal(b.status, code, `${role} ${method} ${path}`)
        assert.equal((await b.text()).length, 0)
      }
    }
  }
  assert.equal((await fetch(h.base + '/nope')).status, 404)
  assert.equal((await fetch(h.base + '/primary', {method: 'POST'})).status, 405)
  assert.equal((await fetch(h.base + '/replica?lag=lots')).status, 400)
})

test('promtool check metrics accepts /metrics in every role', async (t) => {
  if (!prerequisites(t, {commands: ['promtool']})) return
  const c = new Cleanups()
  t.after(() => c.run())
  const h = await harness(c, 18601)
  for (const [role, obs] of ROLE_OBS) {
    await h.become(role, obs)
    const r = await fetch(h.base + '/metrics')
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const text = await r.text()
    assert.match(text, /pgha_tick_duration_seconds_bucket\{cluster="test",node="node1",le="\+Inf"\} \d+/)
    assert.match(text, new RegExp(`pgha_role\\{cluster="test",node="node1",role="${role}"\\} 1`))
    // promtool exits non-zero on a format error and prints lint problems; both fail the test.
    const out = execFileSync('promtool', ['check', 'metrics'], {
      input: text,
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    assert.equal(out.trim(), '', `promtool lint for ${role}: ${out}`)
  }
  // promtool is not a rubber stamp: a broken exposition fails it.
  assert.throws(() =>
    execFileSync('promtool', ['check', 'metrics'], {input: '# TYPE x counter\nx{a="1" 1\n', stdio: 'pipe', timeout: 10_000}),
  )
})

test('slow clients: an idle connection and a non-reader never delay an answer or a tick, and are cut off', async (t) => {
  const c = new Cleanups()
  t.after(() => c.run())
  const h = await harness(c, 18602)
  await h.become('primary', primaryObs())
  const sockets: Socket[] = []
  c.add(() => sockets.forEach((s) => s.destroy()))
  const open = () =>
    new Promise<Socket>((res) => {
      const s = connect(18602, '127.0.0.1', () => res(s))
      s.on('error', () => {})
      sockets.push(s)
    })
  const idle = await open() // connects, never sends
  const half = await open()
  half.write('GET /metrics HTTP/1.1\r\nHost: x\r\n') // headers never finished
  const reader = await open()
  reader.pause() // asks a lot, never reads
  for (let i = 0; i < 200; i++) reader.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
  const t0 = performance.now()
  const r = await fetch(h.base + '/primary')
  assert.equal(r.status, 200)
  const answerMs = performance.now() - t0
  const t1 = performance.now()
  for (let i = 0; i < 5; i++) await h.loop.tick()
  const tickMs = (performance.now() - t1) / 5
  assert.ok(answerMs < 500, `answered in ${answerMs.toFixed(0)} ms beside slow clients`)
  assert.ok(tickMs < 100, `a tick took ${tickMs.toFixed(1)} ms beside slow clients`)
  const closed = (s: Socket) => new Promise<void>((res) => (s.destroyed ? res() : s.once('close', () => res())))
  const t2 = performance.now()
  const gone = await Promise.race([
    Promise.all([closed(idle), closed(half)]).then(() => true),
    new Promise<boolean>((res) => setTimeout(() => res(false), 5000).unref()),
  ])
  assert.ok(gone && performance.now() - t2 < 5000, 'idle and half-sent connections are closed after the request timeout')
})

test('the connection cap refuses more clients instead of queueing them forever', async (t) => {
  const c = new Cleanups()
  t.after(() => c.run())
  const h = await harness(c, 18603)
  await h.become('standby', standbyObs())
  const sockets: Socket[] = []
  c.add(() => sockets.forEach((s) => s.destroy()))
  for (let i = 0; i < 8; i++) {
    await new Promise<void>((res) => {
      const s = connect(18603, '127.0.0.1', () => res())
      s.on('error', () => {})
      sockets.push(s)
    })
  }
  await assert.rejects(fetch(h.base + '/replica', {signal: AbortSignal.timeout(3000)}))
  sockets.forEach((s) => s.destroy())
  await new Promise((res) => setTimeout(res, 100))
  assert.equal((await fetch(h.base + '/replica')).status, 200)
})

test('a port in use is one clear error, not a crash', async (t) => {
  const c = new Cleanups()
  t.after(() => c.run())
  await harness(c, 18604)
  const second = new ApiServer(
    {
      snapshot: () => {
        throw new Error('unused')
      },
      metrics: () => '',
    },
    silentLogger,
  )
  await assert.rejects(second.listen('127.0.0.1:18604'), /^Error: api\.listen 127\.0\.0\.1:18604: the port is in use$/)
})

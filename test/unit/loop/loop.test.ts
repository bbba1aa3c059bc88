/**
 * The watch loop with its dependencies injected: fake observations (the fixtures decide's
 * tests use), the real decide() or a scripted one, fake actions, a real atomic state file in
 * a temp dir, and a logger whose lines we read.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {decide} from '../../../src/lib/core/decide.js'
import {type LoopDeps, WatchLoop} from '../../../src/lib/loop/loop.js'
import type {ObserveMemory, ObserveResult} from '../../../src/lib/observe/observe.js'
import {statePath, writeJsonAtomic} from '../../../src/lib/loop/state.js'
import type {ActionName, Decision, Observations} from '../../../src/lib/core/types.js'
import {readWatchState, tickLogLevel} from '../../../src/lib/loop/watch-state.js'
import {createLogger} from '../../../src/lib/log.js'
import {FREE, SILENT, standbyObs, testConfig} from '../../helpers/ha-fixtures.js'

const FLAGS = {paused: false, switchover: false, source: 'local' as const, note: 'flags read from the local database'}

function seen(obs: Observations): ObserveResult {
  return {obs, flags: FLAGS, notes: [], ms: 3, probeMs: {}}
}

interface Harness {
  deps: LoopDeps
  lines: {level: string; msg: string; [k: string]: unknown}[]
  ran: ActionName[]
  observed: ObserveMemory[]
  dir: string
}

function harness(
  t: {after: (fn: () => void) => void},
  over: Partial<LoopDeps> & {obs?: () => Observations; fail?: ActionName} = {},
): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-loop-'))
  t.after(() => rmSync(dir, {recursive: true, force: true}))
  const cfg = {...testConfig(), stateDir: dir}
  const lines: Harness['lines'] = []
  const ran: ActionName[] = []
  const observed: ObserveMemory[] = []
  const log = createLogger({level: 'debug', format: 'json', sink: (l) => lines.push(JSON.parse(l))})
  const deps: LoopDeps = {
    cfg,
    observe: async (m) => {
      observed.push(m)
      return seen(over.obs ? over.obs() : standbyObs())
    },
    decide,
    runAction: async (a) => {
      ran.push(a)
      if (a === over.fail) throw new Error(`${a} broke: BMC does not answer`)
      return {changed: true, summary: `${a} done`}
    },
    persist: (s) => writeJsonAtomic(statePath(dir), s),
    log,
    notify: async () => {},
    ...over,
  }
  return {deps, lines, ran, observed, dir}
}

const scripted = (d: Partial<Decision>) => (): Decision => ({
  next: 'primary_standby',
  reason: 'the primary failed 3 checks in a row: fencing it',
  rule: 'standby.failover',
  actions: ['fencePeer', 'promote', 'claimVipPrimary', 'writeHeartbeat'],
  memory: {peerFailures: 3, fenceAttempts: 1, archiveMountTried: false},
  severity: 'alert',
  ...d,
})

test('the role is committed only after every action succeeded; the transition is persisted and logged', async (t) => {
  const h = harness(t, {decide: scripted({})})
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  const r = await loop.tick()
  assert.deepEqual(h.ran, ['fencePeer', 'promote', 'claimVipPrimary', 'writeHeartbeat'])
  assert.equal(r.committed, true)
  assert.equal(loop.role, 'primary_standby')
  const s = readWatchState(h.dir)!
  assert.equal(s.role, 'primary_standby')
  assert.equal(s.lastTransition?.from, 'standby')
  assert.equal(s.lastTransition?.to, 'primary_standby')
  assert.equal(s.lastTransition?.rule, 'standby.failover')
  assert.equal(s.pid, process.pid)
  assert.equal(h.lines.length, 1, 'one line per tick')
  assert.equal(h.lines[0].msg, 'the primary failed 3 checks in a row: fencing it')
  assert.equal(h.lines[0].role, 'primary_standby')
  assert.equal(h.lines[0].from, 'standby')
  assert.deepEqual(h.lines[0].actions, ['fencePeer', 'promote', 'claimVipPrimary', 'writeHeartbeat'])
})

test('the first failed action stops the tick, keeps the old role and is handed to the next decide() as its own argument', async (t) => {
  const previousSeen: unknown[] = []
  const h = harness(t, {decide: (_r, _o, _c, _n, _m, previous) => (previousSeen.push(previous), scripted({})()), fail: 'promote'})
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  const r = await loop.tick()
  assert.deepEqual(h.ran, ['fencePeer', 'promote'], 'nothing runs after the failure')
  assert.equal(r.committed, false)
  assert.equal(loop.role, 'standby')
  assert.deepEqual(r.failed, {action: 'promote', error: 'promote broke: BMC does not answer'})
  assert.equal(loop.memory.fenceAttempts, 1, 'memory is kept even when an action failed')
  const s = readWatchState(h.dir)!
  assert.equal(s.role, 'standby')
  assert.equal(s.lastTransition, undefined)
  assert.equal(s.lastTick.failed?.action, 'promote')
  assert.equal(h.lines[0].level, 'error')
  assert.equal(h.lines[0].failed, 'promote: promote broke: BMC does not answer')
  await loop.tick()
  assert.deepEqual(previousSeen, [
    undefined,
    {rule: 'standby.failover', done: ['fencePeer'], failed: {action: 'promote', error: 'promote broke: BMC does not answer'}},
  ])
})

test('with the real decide(): a silent primary is counted checkTimes times, then fenced and promoted', async (t) => {
  let ticks = 0
  // The first tick sees the primary: a standby that never saw one gets the cold-start grace (next test).
  const h = harness(t, {obs: () => (ticks++ === 0 ? standbyObs() : standbyObs({viaVipPrimary: SILENT, vipPrimary: FREE, peer: SILENT}))})
  h.deps.cfg = {...h.deps.cfg, fence: {...h.deps.cfg.fence, delay: 0}}
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  const reasons: string[] = []
  for (let i = 0; i < 4; i++) reasons.push((await loop.tick()).reason)
  assert.match(reasons[0], /^the primary answers through VIP-M/)
  assert.match(reasons[1], /the primary does not answer through VIP-M .*check 1 of 3/)
  assert.match(reasons[2], /check 2 of 3/)
  assert.match(reasons[3], /^the primary failed 3 checks in a row .*fencing it .* then promoting and claiming VIP-M/)
  assert.deepEqual(h.ran, ['fencePeer', 'promote', 'degradeSync', 'claimVipPrimary', 'writeHeartbeat'])
  assert.equal(loop.role, 'primary_standby')
  assert.deepEqual(
    h.lines.filter((l) => l.level !== 'info' && l.level !== 'debug').map((l) => l.level),
    ['warn', 'warn', 'error'],
  )
})

test('with the real decide(): a standby that never saw its primary waits startupDelay before counting (cold start)', async (t) => {
  const h = harness(t, {obs: () => standbyObs({viaVipPrimary: SILENT, vipPrimary: FREE, peer: SILENT})})
  h.deps.cfg = {...h.deps.cfg, fence: {...h.deps.cfg.fence, delay: 0}}
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  const ticks = [await loop.tick(), await loop.tick(), await loop.tick(), await loop.tick()]
  assert.deepEqual(new Set(ticks.map((d) => d.rule)), new Set(['standby.primary-unseen']), 'no check counted')
  assert.match(ticks[0].reason, /has not since this node became standby: a primary starting at the same time waits timing\.startupDelay/)
  assert.deepEqual(h.ran, [], 'nothing fenced')
})

test('state.json is replaced atomically: no temp file is left, a reader always sees a whole file', async (t) => {
  const h = harness(t)
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  for (let i = 0; i < 5; i++) await loop.tick()
  assert.deepEqual(readdirSync(h.dir), ['state.json'])
  const s = readWatchState(h.dir)!
  assert.equal(s.lastTick.rule, 'standby.steady')
  assert.match(s.lastTick.reason, /^the primary answers through VIP-M/)
  assert.equal(s.observations.local.inRecovery, 'yes')
  assert.ok(Date.now() - Date.parse(s.updatedAt) < 5000)
})

test('a steady loop logs at debug, with an info line every Nth tick and whenever the rule changes', async (t) => {
  let dead = false
  const h = harness(t, {obs: () => (dead ? standbyObs({viaVipPrimary: SILENT, vipPrimary: FREE}) : standbyObs())})
  const loop = new WatchLoop(h.deps, {role: 'standby', steadyLogEvery: 3})
  for (let i = 0; i < 7; i++) await loop.tick()
  dead = true
  await loop.tick()
  assert.deepEqual(
    h.lines.map((l) => l.level),
    ['info', 'debug', 'debug', 'info', 'debug', 'debug', 'info', 'warn'],
  )
  assert.equal(tickLogLevel({severity: 'info', actions: ['claimVipStandby']}, false, 5, 60), 'info', 'a tick with actions is always info')
})

test('stop() during an action: that action finishes, the next never starts, the role is kept, run() resolves', async (t) => {
  let loop!: WatchLoop
  const h = harness(t, {
    decide: scripted({}),
    runAction: async (a) => {
      h.ran.push(a)
      if (a === 'fencePeer') loop.stop() // SIGTERM arrives while the fence runs
      await new Promise((r) => setTimeout(r, 20))
      return {changed: true, summary: `${a} done`}
    },
  })
  loop = new WatchLoop(h.deps, {role: 'standby'})
  await loop.run()
  assert.deepEqual(h.ran, ['fencePeer'])
  assert.equal(loop.role, 'standby')
  assert.equal(loop.ticks, 1)
  const s = readWatchState(h.dir)!
  assert.equal(s.lastTick.failed?.action, 'promote')
  assert.match(s.lastTick.failed!.error, /stopping/)
  assert.match(String(h.lines.at(-1)!.msg), /^pgha watch stopped \(role standby, 1 ticks\)/)
})

test('run() ticks every interval and sooner when the decision waits for a deadline (fence.delay)', async (t) => {
  const times: number[] = []
  let loop!: WatchLoop
  const h = harness(t, {
    decide: (role, _o, _c, now) => {
      times.push(now)
      if (times.length === 3) loop.stop()
      return {
        next: role,
        reason: 'waiting fence.delay',
        rule: 'standby.fence-wait',
        actions: [],
        memory: {peerFailures: 3, fenceAttempts: 0, archiveMountTried: false},
        severity: 'warn',
        wait: {until: now + 30, for: 'fence.delay'},
      }
    },
  })
  h.deps.cfg = {...h.deps.cfg, timing: {...h.deps.cfg.timing, interval: 5000}}
  loop = new WatchLoop(h.deps, {role: 'standby'})
  const started = Date.now()
  await loop.run()
  assert.equal(times.length, 3)
  assert.ok(Date.now() - started < 2000, `three ticks well inside one 5 s interval (${Date.now() - started} ms)`)
})

test('a decide() that finds no row is logged loudly and nothing is done', async (t) => {
  const h = harness(t, {
    decide: () => {
      throw new Error('no transition matches role standby (...): the transition table has a hole')
    },
  })
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  const r = await loop.tick()
  assert.equal(r.rule, 'error.no-transition')
  assert.deepEqual(h.ran, [])
  assert.equal(h.lines[0].level, 'error')
  assert.match(String(h.lines[0].msg), /transition table has a hole/)
})

test('under dry run the actions go through (the dry-run context records them) but the role is never committed', async (t) => {
  const h = harness(t, {decide: scripted({})})
  const loop = new WatchLoop(h.deps, {role: 'standby', dryRun: true})
  const r = await loop.tick()
  assert.equal(r.committed, false)
  assert.equal(loop.role, 'standby')
  assert.equal(h.lines[0].dryRun, true)
})

test('READY=1 and STATUS= after the first tick', async (t) => {
  const sent: string[][] = []
  const h = harness(t, {notify: async (f) => void sent.push(f)})
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  await loop.tick()
  await loop.tick()
  assert.equal(sent.length, 1)
  assert.equal(sent[0][0], 'READY=1')
  assert.match(sent[0][1], /^STATUS=standby: the primary answers through VIP-M/)
  assert.ok(existsSync(statePath(h.dir)))
})

test('actions of one decision share one carry; the next decision gets a fresh one', async (t) => {
  const carries: {action: ActionName; carry: Record<string, unknown>; hadCheck: boolean}[] = []
  const h = harness(t, {
    decide: scripted({}),
    runAction: async (action, _d, _note, carry) => {
      carries.push({action, carry: carry as Record<string, unknown>, hadCheck: carry.vipMCheck !== undefined})
      if (action === 'fencePeer') (carry as Record<string, unknown>).vipMCheck = Promise.resolve({state: 'free', detail: 'test'})
      return {changed: true, summary: `${action} done`}
    },
  })
  const loop = new WatchLoop(h.deps, {role: 'standby'})
  await loop.tick()
  await loop.tick()
  const [first, second] = [carries.filter((_, i) => i < carries.length / 2), carries.filter((_, i) => i >= carries.length / 2)]
  assert.ok(first.length > 1, 'the scripted decision has several actions')
  assert.ok(
    first.every((c) => c.carry === first[0].carry),
    'one carry for every action of a decision',
  )
  assert.deepEqual(
    first.map((c) => c.hadCheck),
    [false, true, true, true],
    'what fencePeer put there reaches the later actions',
  )
  assert.notEqual(second[0].carry, first[0].carry, 'a fresh carry per decision')
  assert.equal(second[0].hadCheck, false)
})

/**
 * A cold start spares a live peer, against real PostgreSQL servers (ports 55750-55753): the
 * watch loop's own probe (PgProbe + the port probe, as observe() runs them) asks each server
 * for the heartbeat, and decide() turns the answer into the startup and primary decisions.
 *  - a server whose heartbeat role does not exist yet (pgha init's role not replayed): alive
 *  - a standby with hot_standby off, which answers 57P03 like one still replaying WAL: alive
 *  - a closed port, and a port that accepts but never answers: silent → fenced
 */
import assert from 'node:assert/strict'
import {createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, test} from 'node:test'
import type {Config} from '../../../src/lib/config/schema.js'
import {decide} from '../../../src/lib/core/decide.js'
import {bounded, portProbe, toDbProbe} from '../../../src/lib/observe/observe-probes.js'
import {PgProbe} from '../../../src/lib/system/pg-probe.js'
import {type DbProbe, FRESH_MEMORY} from '../../../src/lib/core/types.js'
import {isRoot, hasCommand, prerequisites} from '../../helpers/env.js'
import {bootObs, local, primaryObs, testConfig, WRITABLE} from '../../helpers/ha-fixtures.js'
import {Cleanups, startPrimary, startStandby, tempRoot, type TestNode, writePassfile} from '../../helpers/pg.js'
import {heartbeatEndpoint} from '../../../src/lib/steps/heartbeat.js'

const NO_INIT_PORT = 55750
const HOT_STANDBY_OFF_PORT = 55751
const CLOSED_PORT = 55752
const MUTE_PORT = 55753
const NOW = 50_000_000
/** The deciding node's config (ipmitool fencing, 1 s probes): only its rules matter here. */
const CFG = testConfig()

/** The probe observe() runs against the peer: heartbeat and port in parallel, both bounded. */
async function probePeer(cfg: Config): Promise<DbProbe> {
  const t = cfg.timing.probeTimeout
  const {endpoint, peerAddr} = heartbeatEndpoint(cfg, 'peer')
  const p = new PgProbe(cfg, 'peer', endpoint, peerAddr, false)
  try {
    const [hb, port] = await Promise.all([
      bounded(p.heartbeat(t), t + 150, (why) => ({
        ok: false,
        target: 'peer' as const,
        address: '',
        latencyMs: t,
        error: `timeout: ${why}`,
      })),
      bounded(portProbe(p.endpoint, t), t + 150, () => 'unknown' as const),
    ])
    return toDbProbe(hb, port, t)
  } finally {
    p.close()
  }
}

/** The peer as seen from a node whose config points peer.address:postgres.port at `port`. */
const peerCfg = (base: Config, port: number): Config => ({
  ...base,
  peer: {...base.peer, address: '127.0.0.1'},
  postgres: {...base.postgres, port},
  timing: {...base.timing, probeTimeout: 1000},
})

const startup = (peer: DbProbe) =>
  decide('starting', bootObs('primary', {local: local(WRITABLE, 'primary'), peer}), CFG, NOW, {
    ...FRESH_MEMORY,
    role: 'starting',
    since: NOW - 60_000,
  })

describe('cold start: a peer whose PostgreSQL answers is not fenced, a silent one is', () => {
  const c = new Cleanups()
  let noInit: TestNode
  let hotStandbyOff: TestNode
  let mute: Server
  const sockets: Socket[] = []
  let ready = false
  const need = {root: true, commands: ['runuser']}

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const root = tempRoot(c, 'hsocold')
    const passfile = writePassfile(root)
    noInit = await startPrimary(c, root, passfile, NO_INIT_PORT, 'noinit')
    hotStandbyOff = await startStandby(c, root, passfile, noInit.node, HOT_STANDBY_OFF_PORT, {hot_standby: 'off'}, 'hsoff')
    mute = createServer((s) => sockets.push(s)) // accepts, never speaks: a hung host
    await new Promise<void>((r) => mute.listen(MUTE_PORT, '127.0.0.1', r))
    c.add(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy()
          mute.close(() => r())
        }),
    )
    ready = true
  })
  after(() => c.run())

  test('heartbeat role not there yet (28000/3D000): rejected, alive → start as primary with VIP-M only, no fence', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const peer = await probePeer(peerCfg(noInit.cfg, NO_INIT_PORT))
    assert.equal(peer.heartbeat, 'rejected', JSON.stringify(peer))
    assert.equal(peer.port, 'yes')
    // SCRAM hides whether the role exists (28P01); trust or peer auth says so (28000).
    assert.match(peer.answer ?? '', /(does not exist|authentication failed).*\((28000|28P01|3D000)\)/)
    const d = startup(peer)
    assert.equal(d.rule, 'starting.primary-peer-not-ready', d.reason)
    assert.equal(d.next, 'primary')
    assert.deepEqual(d.actions, ['startDb', 'claimVipPrimary', 'writeHeartbeat'])
    assert.match(d.reason, /alive but not ready, it rejects the heartbeat: .*not fencing it.*timing\.peerStartTimeout 5m/)
  })

  test('standby that is not accepting connections (57P03): starting, alive → no fence; the primary waits for it', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const peer = await probePeer(peerCfg(hotStandbyOff.cfg, HOT_STANDBY_OFF_PORT))
    assert.equal(peer.heartbeat, 'starting', JSON.stringify(peer))
    assert.match(peer.answer ?? '', /\(57P03\)/)
    const d = startup(peer)
    assert.equal(d.rule, 'starting.primary-peer-not-ready', d.reason)
    assert.ok(!d.actions.includes('fencePeer'))
    // As primary: not counted as failed while timing.peerStartTimeout runs, and the reason says which it is.
    const p = decide('primary', primaryObs({viaVipStandby: peer, peer}), CFG, NOW, {
      ...FRESH_MEMORY,
      role: 'primary',
      since: NOW - 60_000,
      peerNotReadySince: NOW - 30_000,
    })
    assert.equal(p.rule, 'primary.standby-not-ready', p.reason)
    assert.match(p.reason, /alive but not ready, not yet accepting connections: .*\(57P03\).*270s of timing\.peerStartTimeout 5m left/)
    assert.equal(p.memory.peerFailures, 0)
  })

  test('closed port, and a port that never answers: silent → fenced before starting as primary', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const closed = await probePeer(peerCfg(noInit.cfg, CLOSED_PORT))
    assert.deepEqual([closed.heartbeat, closed.port], ['failed', 'no'])
    const hung = await probePeer(peerCfg(noInit.cfg, MUTE_PORT))
    assert.deepEqual([hung.heartbeat, hung.port], ['timeout', 'yes'])
    for (const peer of [closed, hung]) {
      const d = startup(peer)
      assert.equal(d.rule, 'starting.fence-then-primary', d.reason)
      assert.equal(d.actions[0], 'fencePeer')
    }
  })
})

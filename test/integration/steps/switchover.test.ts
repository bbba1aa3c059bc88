import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import pg from 'pg'
import {SafetyRefusal} from '../../../src/lib/errors.js'
import {createLogger} from '../../../src/lib/log.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {ensurePaused, readClusterState} from '../../../src/lib/steps/pause.js'
import {runSwitchover, type SwitchoverNetwork, type SwitchoverOutcome} from '../../../src/lib/steps/switchover.js'
import {prerequisites} from '../../helpers/env.js'
import {makePair, type Node, psql, sourceOf, waitFor, WRITER} from '../../helpers/pg-pair.js'
import {syncTick} from '../../helpers/sync-tick.js'

/**
 * Both hosts run on 127.0.0.1 (no namespaces): VIP moves are recorded, not performed, and
 * clients connect to each server directly. The ordering of the recorded VIP moves is checked.
 */
type Holders = Record<'primary' | 'standby', string | undefined>
function recorder(host: string, events: string[], holders: Holders): SwitchoverNetwork {
  const vip = (w: 'primary' | 'standby') => (w === 'primary' ? 'VIP-M' : 'VIP-S')
  return {
    // Like ensureVipClaimed: refuse while another host holds it (the real step sees it by ARP).
    claim: async (w) => {
      if (holders[w] && holders[w] !== host) throw new SafetyRefusal(`${vip(w)} is held by ${holders[w]}`)
      holders[w] = host
      events.push(`${host} claim ${vip(w)}`)
    },
    release: async (w) => {
      if (holders[w] === host) holders[w] = undefined
      events.push(`${host} release ${vip(w)}`)
    },
  }
}

const ctx = (name: string, lines: string[]) =>
  new SystemContext(undefined, false, createLogger({level: 'info', sink: (l) => lines.push(`[${name}] ${l}`)}))
const tcp = (n: Node) => ({kind: 'tcp' as const, ...sourceOf(n)})

/** A client that writes as fast as it can, to whichever server accepts writes; counts acknowledged commits. */
function startWriter(nodes: Node[]) {
  const acked: number[] = []
  const ackTimes: number[] = []
  let stop = false
  let next = 1_000_000
  let target = 0
  let client: pg.Client | undefined
  const done = (async () => {
    while (!stop) {
      try {
        if (!client) {
          client = new pg.Client({
            host: nodes[target].socketDir,
            port: nodes[target].port,
            user: WRITER.user,
            password: WRITER.password,
            database: 'postgres',
            connectionTimeoutMillis: 1000,
            query_timeout: 2000,
          })
          client.on('error', () => undefined)
          await client.connect()
        }
        const id = next++
        await client.query("INSERT INTO t (id, origin) VALUES ($1, 'writer')", [id])
        acked.push(id)
        ackTimes.push(Date.now())
      } catch {
        await client?.end().catch(() => undefined)
        client = undefined
        target = (target + 1) % nodes.length
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    await client?.end().catch(() => undefined)
  })()
  return {
    acked,
    async stop() {
      stop = true
      await done
      let gap = 0
      for (let i = 1; i < ackTimes.length; i++) gap = Math.max(gap, ackTimes[i] - ackTimes[i - 1])
      return {acked: acked.length, maxGapMs: gap}
    },
  }
}

describe('switchover with real PostgreSQL', {concurrency: false}, () => {
  it('swaps roles under continuous writes with zero acknowledged writes lost', async (t) => {
    if (!prerequisites(t, {root: true})) return
    const p = await makePair({portA: 55520, portB: 55521, walLogHints: true, tag: 'switchover'})
    t.after(() => p.cleanup())
    const events: string[] = []
    const holders: Holders = {primary: 'node1', standby: 'node2'}
    const lines: string[] = []
    const writer = startWriter([p.a, p.b])
    await new Promise((r) => setTimeout(r, 1000))

    const common = {partnerTimeoutMs: 30_000, timeoutMs: 120_000}
    const demote = runSwitchover(ctx('node1', lines), p.a.cfg, {
      ...common,
      peer: tcp(p.b),
      source: sourceOf(p.b),
      network: recorder('node1', events, holders),
    })
    await new Promise((r) => setTimeout(r, 300)) // the primary's half starts first; it waits for the standby's
    const promote = runSwitchover(ctx('node2', lines), p.b.cfg, {...common, peer: tcp(p.a), network: recorder('node2', events, holders)})
    let a: SwitchoverOutcome, b: SwitchoverOutcome
    try {
      ;[a, b] = await Promise.all([demote, promote])
    } catch (error) {
      t.diagnostic(lines.join('\n'))
      throw error
    }
    await new Promise((r) => setTimeout(r, 1000))
    const w = await writer.stop()

    t.diagnostic(`writer: ${w.acked} acknowledged writes, longest gap between acknowledgements (write outage) ${w.maxGapMs} ms`)
    t.diagnostic(`promote half: outage ${b.outageMs} ms from old primary gone to VIP-M claimed; timeline ${JSON.stringify(b.timeline)}`)
    t.diagnostic(`demote half: ${a.summary}`)
    if (process.env.PGHA_TEST_VERBOSE === '1') t.diagnostic(lines.join('\n'))
    assert.deepEqual(holders, {primary: 'node2', standby: 'node1'})
    assert.ok(
      b.timeline.some((e) => /node1 holds VIP-S and cleared the marker/.test(e.event)),
      'the marker outlives the VIP-S hand-over',
    )
    console.log(`switchover write outage: ${w.maxGapMs} ms over ${w.acked} acknowledged writes`)
    assert.equal(a.side, 'demote')
    assert.equal(b.side, 'promote')
    assert.ok(w.acked > 100, 'the writer really wrote before and after')
    assert.equal(psql(p.b, 'SELECT pg_is_in_recovery()'), 'f')
    assert.equal(psql(p.a, 'SELECT pg_is_in_recovery()'), 't')
    assert.equal(a.rewound, false, 'pg_rewind found nothing to undo: the old primary had no WAL the new one lacks')
    // Zero acknowledged-write loss: every acknowledged id is on the new primary …
    const ids = `{${writer.acked.join(',')}}`
    assert.equal(psql(p.b, `SELECT count(*) FROM t WHERE id = ANY('${ids}'::bigint[])`), String(w.acked))
    // … and replicates to the old one, now its standby.
    await waitFor(
      () => psql(p.a, `SELECT count(*) FROM t WHERE id = ANY('${ids}'::bigint[])`) === String(w.acked),
      15_000,
      'old primary streams the new rows',
    )
    assert.equal((await readClusterState(p.b.cfg, tcp(p.b), 5000)).switchover, null, 'marker cleared')
    // Sync mode: switchover leaves the new primary unarmed; its watch's next tick arms it toward the old primary, which streams.
    assert.equal(psql(p.b, 'SHOW synchronous_standby_names'), '')
    const arm = await syncTick(p.b.cfg)
    assert.equal(arm.decision.rule, 'primary.arm-sync', `${arm.decision.reason} ${JSON.stringify(arm.sync)}`)
    assert.equal(psql(p.b, 'SHOW synchronous_standby_names'), '"node1"')
    await waitFor(
      () => psql(p.b, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'node1'") === 'sync',
      10_000,
      'node1 sync',
    )
    // VIP-M moves only after the old primary let go; VIP-S only after the new primary let go.
    const at = (e: string) => events.indexOf(e)
    assert.ok(at('node1 release VIP-M') >= 0 && at('node1 release VIP-M') < at('node2 claim VIP-M'), events.join(', '))
    assert.ok(at('node2 release VIP-S') >= 0 && at('node2 release VIP-S') < at('node1 claim VIP-S'), events.join(', '))
  })

  it('dry run prints the plan; a half alone gives up, clears its marker and changes nothing; pause/resume flip the replicated flag', async (t) => {
    if (!prerequisites(t, {root: true})) return
    const p = await makePair({portA: 55522, portB: 55523, walLogHints: false, tag: 'swalone'})
    t.after(() => p.cleanup())
    const lines: string[] = []
    const dry = new SystemContext(undefined, true)
    const plan = await runSwitchover(dry, p.b.cfg, {peer: tcp(p.a)})
    assert.equal(plan.changed, false)
    assert.match(plan.plan.join('\n'), /CHECKPOINT_SHUTDOWN/)
    assert.match(plan.plan.join('\n'), /\[node1, demote half\] pg_ctl stop -m fast/)
    assert.equal((await readClusterState(p.a.cfg, tcp(p.a), 5000)).switchover, null)

    await assert.rejects(
      runSwitchover(ctx('node2', lines), p.b.cfg, {
        peer: tcp(p.a),
        network: recorder('node2', [], {primary: 'node1', standby: 'node2'}),
        partnerTimeoutMs: 2000,
      }),
      /did not stop the primary .* nothing was changed/,
    )
    assert.equal(psql(p.a, 'SELECT pg_is_in_recovery()'), 'f')
    assert.equal((await readClusterState(p.a.cfg, tcp(p.a), 5000)).switchover, null, 'marker cleared after giving up')

    const paused = await ensurePaused(new SystemContext(), p.b.cfg, true, {
      candidates: [
        {label: 'local', endpoint: tcp(p.b)},
        {label: 'peer', endpoint: tcp(p.a)},
      ],
    })
    assert.equal(paused.changed, true)
    assert.match(paused.summary, /peer/)
    await waitFor(async () => (await readClusterState(p.b.cfg, tcp(p.b), 5000)).paused, 10_000, 'pause flag replicated to the standby')
    const again = await ensurePaused(new SystemContext(), p.a.cfg, true, {candidates: [{label: 'local', endpoint: tcp(p.a)}]})
    assert.equal(again.changed, false)
    const resumed = await ensurePaused(new SystemContext(), p.a.cfg, false, {candidates: [{label: 'local', endpoint: tcp(p.a)}]})
    assert.equal(resumed.changed, true)
    assert.equal((await readClusterState(p.a.cfg, tcp(p.a), 5000)).paused, false)
  })
})

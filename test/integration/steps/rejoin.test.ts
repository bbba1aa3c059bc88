import assert from 'node:assert/strict'
import {existsSync, readFileSync, renameSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {createLogger} from '../../../src/lib/log.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {ensureRejoinedAsStandby} from '../../../src/lib/steps/rejoin.js'
import {parseQuietWindow, type QuietWindow} from '../../../src/lib/steps/quiet-window.js'
import {prerequisites} from '../../helpers/env.js'
import {BINDIR, makePair, type Node, type Pair, pgCtl, psql, sourceOf, waitFor} from '../../helpers/pg-pair.js'
import {syncTick} from '../../helpers/sync-tick.js'

const lines: string[] = []
const ctx = () => new SystemContext(undefined, false, createLogger({level: 'info', sink: (l) => lines.push(l)}))

/**
 * Real divergence: B is promoted while A keeps taking writes, then A loses power
 * (immediate stop: a crashed, not cleanly shut down data directory).
 */
async function diverge(p: Pair): Promise<void> {
  psql(p.a, "INSERT INTO t SELECT g, 'before' FROM generate_series(1, 1000) g;")
  await waitFor(() => psql(p.b, 'SELECT count(*) FROM t') === '1000', 30_000, 'B replays the common rows')
  pgCtl(p.b, 'promote')
  await waitFor(() => psql(p.b, 'SELECT pg_is_in_recovery()') === 'f', 30_000, 'B promoted')
  psql(p.b, "INSERT INTO t SELECT g, 'new-primary' FROM generate_series(1001, 1500) g;")
  psql(
    p.a,
    "INSERT INTO t SELECT g, 'lost-on-old-primary' FROM generate_series(2001, 2300) g; UPDATE t SET origin = 'changed-on-old' WHERE id <= 200;",
  )
  psql(p.a, 'CHECKPOINT;')
  pgCtl(p.a, '-m', 'immediate', 'stop')
}

function assertHasNewPrimaryRows(a: Node): void {
  assert.equal(psql(a, 'SELECT pg_is_in_recovery()'), 't')
  assert.equal(psql(a, "SELECT count(*) FROM t WHERE origin = 'new-primary'"), '500')
  assert.equal(psql(a, "SELECT count(*) FROM t WHERE origin IN ('lost-on-old-primary', 'changed-on-old')"), '0')
  assert.equal(psql(a, 'SELECT count(*) FROM t'), '1500')
}

describe('rejoin with real PostgreSQL', {concurrency: false}, () => {
  it('takes the pg_rewind path after real divergence and a power cut, then streams', async (t) => {
    if (!prerequisites(t, {root: true, commands: [join(BINDIR, 'pg_rewind')]})) return
    const p = await makePair({portA: 55510, portB: 55511, walLogHints: true, tag: 'rewind'})
    t.after(() => p.cleanup())
    await diverge(p)
    const state = readFileSync(join(p.root, 'node1', 'server.log'), 'utf8') // evidence on failure
    assert.ok(state.length > 0)

    // Quiet window that opens later than --max-wait: exit 2 at once, nothing touched.
    const tenAm = () => new Date(2026, 0, 10, 10, 0, 0)
    const win = (s: string) => parseQuietWindow(s) as QuietWindow
    await assert.rejects(
      ensureRejoinedAsStandby(ctx(), p.a.cfg, {source: sourceOf(p.b), window: win('13:00-14:00'), maxWaitMs: 3_600_000, now: tenAm}),
      (e: Error & {exitCode?: number}) => {
        assert.equal(e.exitCode, 2)
        assert.match(e.message, /quiet window 13:00-14:00 opens in 3h, later than --max-wait 1h/)
        return true
      },
    )
    assert.ok(!existsSync(join(p.a.datadir, 'standby.signal')) && !existsSync(join(p.a.datadir, 'postmaster.pid')), 'nothing changed')

    // Inside --max-wait: it waits for the window (the clock and the sleep are injected), then copies.
    const waits: number[] = []
    const sleep = async (ms: number) => {
      waits.push(ms)
      await new Promise((r) => setTimeout(r, Math.min(ms, 250)))
    }
    const out = await ensureRejoinedAsStandby(ctx(), p.a.cfg, {
      source: sourceOf(p.b),
      timeoutMs: 120_000,
      window: win('10:30-11:00'),
      maxWaitMs: 3_600_000,
      now: tenAm,
      sleep,
    })
    assert.equal(waits[0], 30 * 60_000, 'waited until 10:30 before touching anything')
    t.diagnostic(`${out.summary}; phases ${JSON.stringify(out.phases)}`)
    assert.equal(out.changed, true)
    assert.equal(out.method, 'rewind', out.summary)
    assert.match(out.why, /wal_log_hints is on/)
    assert.equal(out.rewindNotNeeded, false)
    assert.ok(
      lines.some((l) => /not shut down cleanly .*single-user/.test(l)),
      'the crashed target went through single-user crash recovery',
    )
    assertHasNewPrimaryRows(p.a)
    assert.equal(psql(p.b, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'node1' AND state = 'streaming'"), '1')
    // The host's own config survived pg_rewind copying the source's files, included ones too:
    // its port lives in pgha-node.conf, which postgresql.conf includes.
    assert.match(readFileSync(join(p.a.datadir, 'postgresql.conf'), 'utf8'), /^include_if_exists = 'pgha-node\.conf'$/m)
    assert.match(readFileSync(join(p.a.datadir, 'pgha-node.conf'), 'utf8'), new RegExp(`^port = ${p.a.port}$`, 'm'))
    const auto = readFileSync(join(p.a.datadir, 'postgresql.auto.conf'), 'utf8')
    assert.match(auto, /primary_conninfo = 'host=127\.0\.0\.1 port=55511 user=replicator passfile=/)
    // application_name = the node name, so the primary can name it in synchronous_standby_names.
    assert.match(auto, /^primary_conninfo = '[^'\n]*application_name=node1[ ']/m)
    assert.doesNotMatch(auto + JSON.stringify(out), /secret/, 'no password in the config or the outcome')

    // New writes on the new primary arrive: it really streams.
    psql(p.b, "INSERT INTO t VALUES (9999, 'after-rejoin');")
    await waitFor(() => psql(p.a, 'SELECT count(*) FROM t WHERE id = 9999') === '1', 10_000, 'row streamed to the rejoined standby')
    // Sync mode: the new primary's next watch tick names the rejoined standby and commits wait for it.
    const arm = await syncTick(p.b.cfg)
    assert.equal(arm.decision.rule, 'primary.arm-sync', `${arm.decision.reason} ${JSON.stringify(arm.sync)}`)
    await waitFor(
      () => psql(p.b, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'node1'") === 'sync',
      10_000,
      'node1 sync',
    )

    const again = await ensureRejoinedAsStandby(ctx(), p.a.cfg, {source: sourceOf(p.b), timeoutMs: 60_000})
    assert.equal(again.changed, false)
    assert.match(again.summary, /already a standby streaming/)
  })

  it('takes the pg_basebackup path with wal_log_hints off and keeps the old directory aside', async (t) => {
    if (!prerequisites(t, {root: true, commands: [join(BINDIR, 'pg_basebackup')]})) return
    const p = await makePair({portA: 55512, portB: 55513, walLogHints: false, tag: 'basebackup'})
    t.after(() => p.cleanup())
    await diverge(p)

    const dry = new SystemContext(undefined, true)
    const planned = await ensureRejoinedAsStandby(dry, p.a.cfg, {source: sourceOf(p.b)})
    assert.equal(planned.changed, false)
    assert.equal(planned.method, 'basebackup')
    assert.ok(
      dry.plan.some((a) => a.kind === 'exec' && a.argv.some((x) => x.endsWith('pg_basebackup'))),
      'dry run plans pg_basebackup',
    )
    assert.ok(existsSync(join(p.a.datadir, 'PG_VERSION')) && !existsSync(join(p.a.datadir, 'standby.signal')), 'dry run changed nothing')

    const out = await ensureRejoinedAsStandby(ctx(), p.a.cfg, {source: sourceOf(p.b), timeoutMs: 120_000})
    t.diagnostic(`${out.summary}; phases ${JSON.stringify(out.phases)}`)
    assert.equal(out.method, 'basebackup', out.summary)
    assert.match(out.why, /wal_log_hints is off and data checksums are off/)
    assert.ok(out.keptAside && existsSync(join(out.keptAside, 'PG_VERSION')), 'old data directory kept')
    assert.ok(!existsSync(join(out.keptAside!, 'standby.signal')), 'the kept directory is the old primary, untouched')
    assertHasNewPrimaryRows(p.a)

    // A rebuilt host with no data directory at all: a full copy straight into place, with this
    // host's port and socket directory (the copy brought the source's).
    pgCtl(p.a, '-m', 'fast', 'stop')
    renameSync(p.a.datadir, `${p.a.datadir}.gone`)
    const fresh = await ensureRejoinedAsStandby(ctx(), p.a.cfg, {source: sourceOf(p.b), timeoutMs: 120_000})
    assert.equal(fresh.method, 'basebackup')
    assert.match(fresh.summary, /into the empty/)
    assertHasNewPrimaryRows(p.a)
    assert.equal(psql(p.a, 'SHOW port'), String(p.a.port))
  })

  it('falls back to pg_basebackup when pg_rewind fails (the old primary recycled the WAL it needs)', async (t) => {
    if (!prerequisites(t, {root: true, commands: [join(BINDIR, 'pg_rewind')]})) return
    const p = await makePair({portA: 55516, portB: 55517, walLogHints: true, tag: 'fallback', walKeepSize: '0'})
    t.after(() => p.cleanup())
    psql(p.a, "INSERT INTO t SELECT g, 'before' FROM generate_series(1, 1000) g;")
    await waitFor(() => psql(p.b, 'SELECT count(*) FROM t') === '1000', 30_000, 'B replays the common rows')
    pgCtl(p.b, 'promote')
    await waitFor(() => psql(p.b, 'SELECT pg_is_in_recovery()') === 'f', 30_000, 'B promoted')
    psql(p.b, "INSERT INTO t SELECT g, 'new-primary' FROM generate_series(1001, 1500) g;")
    // The old primary runs on for a while: new segments and checkpoints recycle the WAL back to
    // the last common checkpoint, which pg_rewind must read.
    for (let i = 0; i < 4; i++)
      psql(
        p.a,
        "INSERT INTO t SELECT g, 'lost-on-old-primary' FROM generate_series(2001 + 100 * " +
          i +
          ', 2100 + 100 * ' +
          i +
          ') g; SELECT pg_switch_wal(); CHECKPOINT;',
      )
    pgCtl(p.a, '-m', 'fast', 'stop')

    const out = await ensureRejoinedAsStandby(ctx(), p.a.cfg, {source: sourceOf(p.b), timeoutMs: 120_000})
    t.diagnostic(out.summary)
    assert.equal(out.method, 'basebackup')
    assert.match(out.why, /^pg_rewind failed \(.*\), falling back to a full copy$/)
    assert.ok(out.keptAside && existsSync(join(out.keptAside, 'PG_VERSION')))
    assert.equal(psql(p.a, 'SELECT pg_is_in_recovery()'), 't')
    assert.equal(psql(p.a, "SELECT count(*) FROM t WHERE origin = 'new-primary'"), '500')
    assert.equal(psql(p.a, "SELECT count(*) FROM t WHERE origin = 'lost-on-old-primary'"), '0')
  })

  it('falls back to pg_basebackup when the rewound server cannot stream (the new primary recycled WAL from the fork on)', async (t) => {
    if (!prerequisites(t, {root: true, commands: [join(BINDIR, 'pg_rewind')]})) return
    const p = await makePair({portA: 55518, portB: 55519, walLogHints: true, tag: 'recycled', walKeepSize: '0'})
    t.after(() => p.cleanup())
    const cfg = {...p.a.cfg, postgres: {...p.a.cfg.postgres, stepTimeout: 10_000}} // give up on the rewound server sooner
    psql(p.a, "INSERT INTO t SELECT g, 'before' FROM generate_series(1, 1000) g;")
    await waitFor(() => psql(p.b, 'SELECT count(*) FROM t') === '1000', 30_000, 'B replays the common rows')
    pgCtl(p.b, 'promote')
    await waitFor(() => psql(p.b, 'SELECT pg_is_in_recovery()') === 'f', 30_000, 'B promoted')
    psql(p.b, "INSERT INTO t SELECT g, 'new-primary' FROM generate_series(1001, 1500) g;")
    psql(p.a, "INSERT INTO t SELECT g, 'lost-on-old-primary' FROM generate_series(2001, 2300) g;")
    pgCtl(p.a, '-m', 'immediate', 'stop')
    for (let i = 0; i < 4; i++)
      psql(
        p.b,
        `INSERT INTO t SELECT g, 'x' FROM generate_series(${5000 + 100 * i}, ${5099 + 100 * i}) g; SELECT pg_switch_wal(); CHECKPOINT;`,
      )
    psql(p.b, "DELETE FROM t WHERE origin = 'x';")
    const out = await ensureRejoinedAsStandby(ctx(), cfg, {source: sourceOf(p.b), timeoutMs: 180_000})
    t.diagnostic(`${out.summary}; ${out.why}`)
    assert.equal(out.method, 'basebackup')
    assert.match(out.why, /^the rewound server did not stream .* falling back to a full copy$/)
    assert.equal(psql(p.a, 'SELECT pg_is_in_recovery()'), 't')
    assert.equal(psql(p.a, "SELECT count(*) FROM t WHERE origin = 'new-primary'"), '500')
    assert.equal(psql(p.a, "SELECT count(*) FROM t WHERE origin = 'lost-on-old-primary'"), '0')
  })

  it('refuses to copy from a standby (exit 3) and changes nothing', async (t) => {
    if (!prerequisites(t, {root: true})) return
    const p = await makePair({portA: 55514, portB: 55515, walLogHints: true, tag: 'refuse'})
    t.after(() => p.cleanup())
    await assert.rejects(
      ensureRejoinedAsStandby(ctx(), p.a.cfg, {source: sourceOf(p.b), timeoutMs: 30_000}),
      (e: Error & {exitCode?: number}) => {
        assert.equal(e.exitCode, 3)
        assert.match(e.message, /is a standby, not a writable primary/)
        return true
      },
    )
    await assert.rejects(ensureRejoinedAsStandby(ctx(), p.a.cfg, {source: sourceOf(p.a), timeoutMs: 30_000}), /this host's own server/)
    assert.equal(psql(p.a, 'SELECT pg_is_in_recovery()'), 'f', 'A still runs as primary')
  })
})

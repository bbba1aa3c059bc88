/**
 * npm run bench:rejoin — rejoin time by pg_rewind vs pg_basebackup after a real divergence.
 *
 * A ~1 GB pgbench database on a primary (A) with a streaming standby (B) on 127.0.0.1
 * (ports 55540/55541, temp dir, removed at the end). B is promoted; ~1 % of the table is then
 * changed on each side (a contiguous range, so ~1 % of the blocks); A loses power. A copy of
 * A's crashed data directory is taken so both methods start from the same state:
 *   1. ensureRejoinedAsStandby(method rewind)     → time until A streams from B
 *   2. restore the copy, ensureRejoinedAsStandby(method basebackup) → same
 * Both run twice: over loopback (copies at local disk speed), then through a TCP proxy that
 * limits bandwidth like a real link between two hosts (PGHA_BENCH_LINK_MBIT, default 1000).
 * Goal: rewind ≥ 5× faster. Scale with PGHA_BENCH_SCALE (pgbench scale, default 68 ≈ 1 GB).
 */
import {execFileSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {SystemContext} from '../src/lib/system/exec.js'
import {createLogger} from '../src/lib/log.js'
import {ensureRejoinedAsStandby, type RejoinOutcome} from '../src/lib/steps/rejoin.js'
import type {SourceServer} from '../src/lib/system/rewind.js'
import {startLinkProxy} from './link-proxy.js'
import {asPg, BINDIR, makePair, type Pair, pgCtl, psql, sourceOf, waitFor} from '../test/helpers/pg-pair.js'

const scale = Number(process.env.PGHA_BENCH_SCALE ?? 68)
/** Second round through a simulated link of this bandwidth (0: loopback only). */
const linkMbit = Number(process.env.PGHA_BENCH_LINK_MBIT ?? 1000)
const t = () => performance.now()
const say = (s: string) => process.stdout.write(s + '\n')

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:rejoin needs root (PostgreSQL runs as the postgres OS user)')
  say(`bench:rejoin — pgbench scale ${scale}, 1 % changed on each side after divergence`)
  let loaded = ''
  const pair = await makePair({
    // wal_keep_size: the new primary keeps the WAL from the fork on until the old primary is
    // back (in production an archive or a replication slot does that); the rounds below run
    // one after the other on the same divergence.
    portA: 55540,
    portB: 55541,
    walLogHints: true,
    tag: 'bench',
    walKeepSize: '256MB',
    // An existing database gets its standby: load first, then pg_basebackup (as in production).
    beforeStandby: (a) => {
      const s = t()
      asPg([join(BINDIR, 'pgbench'), '-i', '-q', '-s', String(scale), '-h', a.socketDir, '-p', String(a.port), 'postgres'], {
        timeoutMs: 1_800_000,
      })
      psql(a, 'CHECKPOINT;')
      loaded = `loaded ${(Number(psql(a, "SELECT pg_database_size('postgres')")) / 1024 ** 3).toFixed(2)} GB in ${((t() - s) / 1000).toFixed(1)} s`
    },
  })
  say(loaded)
  const stop = () => pair.cleanup()
  process.once('SIGINT', () => {
    stop()
    process.exit(130)
  })
  try {
    await run(pair)
  } finally {
    stop()
  }
}

async function run(p: Pair): Promise<void> {
  const rows = scale * 100_000
  const onePct = Math.floor(rows / 100)
  pgCtl(p.b, 'promote')
  await waitFor(() => psql(p.b, 'SELECT pg_is_in_recovery()') === 'f', 60_000, 'B promoted')
  psql(p.b, 'CHECKPOINT;')
  psql(p.b, `UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= ${onePct};`)
  psql(p.a, `UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid > ${rows - onePct};`)
  pgCtl(p.a, '-m', 'immediate', 'stop')
  const walBytes = Number(psql(p.b, 'SELECT sum(size) FROM pg_ls_waldir()'))
  execFileSync('cp', ['-a', p.a.datadir, `${p.a.datadir}.bench-snapshot`])
  say(
    `diverged: ${onePct} rows updated on each side (~1 % of the blocks); old primary lost power; new primary's pg_wal ${(walBytes / 1024 ** 2).toFixed(0)} MB (PostgreSQL 15's pg_rewind copies all of it)`,
  )

  const ctx = new SystemContext(undefined, false, createLogger({level: 'warn'}))
  const snapshot = `${p.a.datadir}.bench-snapshot`
  const restoreSnapshot = () => {
    pgCtl(p.a, '-m', 'fast', 'stop')
    for (const d of readdirSync(dirname(p.a.datadir)))
      if (d.includes('.pgha-old-')) execFileSync('rm', ['-rf', join(dirname(p.a.datadir), d)])
    execFileSync('rm', ['-rf', p.a.datadir])
    execFileSync('cp', ['-a', snapshot, p.a.datadir])
  }
  const rejoin = async (method: 'rewind' | 'basebackup', source: SourceServer): Promise<{ms: number; out: RejoinOutcome}> => {
    // The test clusters run with fsync=off and the snapshot was just copied: flush the page
    // cache first, so neither method pays for writing back the bench's own setup (in
    // production that data is on disk already).
    execFileSync('sync')
    const s = t()
    const out = await ensureRejoinedAsStandby(ctx, p.a.cfg, {method, source, timeoutMs: 1_800_000})
    const ms = t() - s
    if (psql(p.a, `SELECT count(*) FROM pgbench_accounts WHERE aid <= ${onePct} AND abalance <> 0`) !== String(onePct))
      throw new Error(`${method}: the new primary's changes are missing`)
    return {ms, out}
  }
  const compare = async (label: string, source: SourceServer, first: boolean): Promise<void> => {
    say(`— ${label}`)
    if (!first) restoreSnapshot()
    const rw = await rejoin('rewind', source)
    say(`  pg_rewind:     ${(rw.ms / 1000).toFixed(1)} s  (${rw.out.summary}; phases ${fmt(rw.out)})`)
    restoreSnapshot()
    const bb = await rejoin('basebackup', source)
    say(
      `  pg_basebackup: ${(bb.ms / 1000).toFixed(1)} s  (${bb.out.summary.replace(/ \(old data kept at [^)]*\)/, '')}; phases ${fmt(bb.out)})`,
    )
    const ratio = bb.ms / rw.ms
    say(`  rewind is ${ratio.toFixed(1)}× faster than basebackup (goal ≥ 5×): ${ratio >= 5 ? 'MET' : 'NOT MET'}`)
  }
  await compare('loopback (copies run at local disk speed)', sourceOf(p.b), true)
  if (linkMbit > 0) {
    const proxy = await startLinkProxy(p.b.port, linkMbit)
    try {
      await compare(
        `through a ${linkMbit} Mbit/s link (a rate-limited TCP proxy in front of the new primary)`,
        {host: '127.0.0.1', port: proxy.port},
        false,
      )
    } finally {
      pgCtl(p.a, '-m', 'fast', 'stop')
      await proxy.close()
    }
  }
}

const fmt = (o: RejoinOutcome) => o.phases.map((x) => `${x.name} ${(x.ms / 1000).toFixed(1)}s`).join(', ')

main().catch((error) => {
  process.stderr.write(`bench:rejoin failed: ${(error as Error).message}\n`)
  process.exit(1)
})

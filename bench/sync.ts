/**
 * npm run bench:sync — what synchronous replication costs a writer, on the lab.
 *
 * From the steady pair (pgha watch on both hosts, shipped default timings), pgbench's
 * TPC-B-like transactions through VIP-M from the gateway namespace, 8 clients (-j 2 on this
 * 2-core machine) for --seconds (default 30) per run, in sync mode and in async mode
 * alternately, --runs times each (default 1). TPS from pgbench; p50/p99/max commit latency
 * from its per-transaction logs (-l). Prints a table and the machine's load average. Not a
 * timed test. Options: --seconds N, --runs N, --clients N, --name LAB, --keep.
 */
import {cpus, loadavg} from 'node:os'
import {labDown} from '../src/lib/lab/lab.js'
import {arg, benchLab, median, say} from './bench-lab.js'
import {pgbench, pgbenchInit, useMode} from './pgbench-lab.js'

interface Row {
  mode: 'sync' | 'async'
  tps: number
  p50: number
  p99: number
  max: number
  tx: number
  failed: number
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '30'))
  const runs = Number(arg('runs', '1'))
  const clients = Number(arg('clients', '8'))
  const {lab, drill} = await benchLab('jcsync')
  const rows: Row[] = []
  try {
    say(`bench:sync — pgbench (TPC-B-like) through VIP-M, ${clients} clients, ${seconds} s per run, ${runs} run(s) per mode`)
    say(
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} before the bench`,
    )
    await useMode(lab, drill, 'sync')
    await pgbenchInit(lab)
    for (let i = 0; i < runs; i++) {
      for (const mode of ['sync', 'async'] as const) {
        const roles = await useMode(lab, drill, mode)
        const r = await pgbench(lab, {clients, threads: 2, seconds, log: true})
        if (r.code !== 0 || r.tps === undefined || !r.latency)
          throw new Error(`pgbench (${mode}) failed: ${r.out.trim().split('\n').at(-1)}`)
        const l = r.latency
        rows.push({mode, tps: r.tps, p50: l.p50Ms, p99: l.p99Ms, max: l.maxMs, tx: l.transactions, failed: l.failed})
        say(
          `  run ${i + 1} ${mode.padEnd(5)} (${roles.primary} primary): ${r.tps.toFixed(0)} tps, p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms, max ${l.maxMs.toFixed(1)} ms, ${l.transactions} transactions, ${l.failed} failed; load average ${loadavg()[0].toFixed(2)}`,
        )
      }
    }
    say('')
    say(`mode    TPS       p50 ms   p99 ms   max ms   (median of ${runs} run(s) of ${seconds} s, ${clients} clients)`)
    const stats: Record<string, {tps: number; p50: number; p99: number}> = {}
    for (const mode of ['sync', 'async'] as const) {
      const mine = rows.filter((r) => r.mode === mode)
      const m = {tps: median(mine.map((r) => r.tps)), p50: median(mine.map((r) => r.p50)), p99: median(mine.map((r) => r.p99))}
      stats[mode] = m
      const max = median(mine.map((r) => r.max))
      say(
        `${mode.padEnd(7)} ${m.tps.toFixed(0).padStart(6)}   ${m.p50.toFixed(2).padStart(7)}  ${m.p99.toFixed(2).padStart(7)}  ${max.toFixed(1).padStart(7)}`,
      )
    }
    say(
      `\nsync vs async: ${((stats.sync.tps / stats.async.tps - 1) * 100).toFixed(0)} % TPS, p50 ${(stats.sync.p50 - stats.async.p50).toFixed(2)} ms more, p99 ${(stats.sync.p99 - stats.async.p99).toFixed(2)} ms more`,
    )
    say(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    )
    await useMode(lab, drill, 'sync') // leave the lab as it ships
  } finally {
    await drill.sampler.stop()
    if (!process.argv.includes('--keep')) await labDown(lab)
  }
}

main().catch((e) => {
  say(`bench:sync failed: ${(e as Error).message}`)
  process.exit(1)
})

/**
 * npm run bench:soak — no false failover under load, and what the loop costs.
 *
 * From the steady pair in sync mode (the primary waits for the standby's flush of every
 * commit), pgbench saturates the primary through VIP-M from the gateway namespace for
 * --minutes N (default 10; -c 8 -j 2 on this 2-core machine) while pgha watch runs on both
 * hosts with the shipped default timings (or --set overrides). Then prints: role changes,
 * degrades and fences on either host (each must be 0: stall detection must not fire on a
 * busy, healthy standby), ticks that suspected the peer, pgbench's TPS, and each watch
 * process's CPU share (its own, and with its arping children) and peak RSS. Exit 1 when any
 * count is not 0 or the primary is no longer synchronous at the end.
 * Targets: 0 role changes / degrades / fences, < 2 % of a core, < 100 MB.
 */
import {readFileSync} from 'node:fs'
import {cpus, loadavg} from 'node:os'
import {labDown} from '../src/lib/lab/lab.js'
import {LAB_NODES} from '../src/lib/lab/layout.js'
import {parseWatchLog} from '../src/lib/lab/timeline.js'
import {readWatchState} from '../src/lib/loop/watch-state.js'
import {arg, benchLab, procUsage, say, watchPids} from './bench-lab.js'
import {pgbench, pgbenchInit, syncNames, useMode} from './pgbench-lab.js'

const HZ = 100

async function main(): Promise<void> {
  const minutes = Number(arg('minutes', '10'))
  const {lab, drill} = await benchLab('pgtwsoak')
  try {
    const roles = await useMode(lab, drill, 'sync')
    say(
      `bench:soak — ${minutes} min of pgbench through VIP-M in sync mode (synchronous_standby_names ${await syncNames(lab, roles.primary)}); ${roles.primary} primary, ${roles.standby} standby`,
    )
    say(
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} before the soak`,
    )
    await pgbenchInit(lab)
    const pids = Object.fromEntries(LAB_NODES.map((n) => [n, watchPids(lab, n)[0]]))
    const before = Object.fromEntries(LAB_NODES.map((n) => [n, procUsage(pids[n])]))
    const transitions = Object.fromEntries(LAB_NODES.map((n) => [n, readWatchState(lab.hosts[n].stateDir)?.lastTransition?.at]))
    const t0 = Date.now()
    const bench = await pgbench(lab, {clients: 8, threads: 2, seconds: Math.round(minutes * 60), progress: 60})
    const seconds = (Date.now() - t0) / 1000
    const loadAfter = loadavg()
    say(
      `pgbench: exit ${bench.code}, ${bench.tps !== undefined ? `${bench.tps.toFixed(0)} tps` : 'no tps line'} over ${seconds.toFixed(0)} s`,
    )
    for (const l of bench.out.split('\n').filter((x) => x.startsWith('progress:'))) say(`  ${l}`)
    say(`load average at the end: ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`)
    let changes = 0
    let degrades = 0
    let fences = 0
    for (const n of LAB_NODES) {
      const lines = parseWatchLog(readFileSync(lab.hosts[n].watchLog, 'utf8')).filter((l) => l.t >= t0)
      const raw = readFileSync(lab.hosts[n].watchLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"from"') && Date.parse(l.slice(7, 31)) >= t0)
      const suspect = lines.filter((l) => / check \d+ of \d+$/.test(l.reason)).length
      const degraded = lines.filter((l) => l.actions?.includes('degradeSync')).length
      const fenced = lines.filter((l) => l.actions?.includes('fencePeer')).length
      degrades += degraded
      fences += fenced
      const now = procUsage(pids[n])
      const cpu = (now.ticks - before[n].ticks) / HZ / seconds
      const withChildren = (now.ticks + now.childTicks - before[n].ticks - before[n].childTicks) / HZ / seconds
      const changed = readWatchState(lab.hosts[n].stateDir)?.lastTransition?.at !== transitions[n] ? 1 : 0
      changes += Math.max(raw.length, changed)
      say(
        `${n}: role changes ${Math.max(raw.length, changed)}, degrades ${degraded}, fences ${fenced}, ticks suspecting the peer ${suspect}, watch CPU ${(cpu * 100).toFixed(2)} % of a core (${(withChildren * 100).toFixed(2)} % with its arping children), peak RSS ${(now.hwmKb / 1024).toFixed(1)} MB`,
      )
    }
    const still = await syncNames(lab, roles.primary)
    say(
      `\nrole changes ${changes}, degrades ${degrades}, fences ${fences} during the soak (target 0 each); synchronous_standby_names at the end: ${still}`,
    )
    if (changes + degrades + fences > 0 || !still) process.exitCode = 1
  } finally {
    await drill.sampler.stop()
    if (!process.argv.includes('--keep')) await labDown(lab)
  }
}

main().catch((e) => {
  say(`bench:soak failed: ${(e as Error).message}`)
  process.exit(1)
})

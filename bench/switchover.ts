/**
 * npm run bench:switchover — write outage of a planned switchover on the lab.
 *
 * Five times (--runs N): from the steady pair (pgha watch on both hosts), with a client in the
 * gateway namespace writing through VIP-M every 20 ms, run `pgha switchover --yes` on ONE host
 * (--on primary, the default, or --on standby; --on both runs it on both) and measure
 *   write outage = the longest pause between two acknowledged writes,
 * and count acknowledged writes missing on the new primary (must be 0). The direction
 * alternates, so the pair ends where it started with an even N. Prints each run and its demote
 * or promote timeline, then median and max. Not a timed test. Options: --runs N, --name LAB,
 * --on primary|standby|both, --set key=value (both hosts' configs), --keep (leave the lab up).
 * Target (issue 11): outage ≤ 2 s, 0 writes lost.
 */
import {labDown} from '../src/lib/lab/lab.js'
import {sleep} from '../src/lib/lab/host.js'
import {switchoverUnderLoad} from '../src/lib/lab/switchover-drill.js'
import {readWatchState} from '../src/lib/loop/watch-state.js'
import {arg, benchLab, median, say, steady} from './bench-lab.js'

async function main(): Promise<void> {
  const runs = Number(arg('runs', '5'))
  const on = arg('on', 'primary') as 'primary' | 'standby' | 'both'
  if (!['primary', 'standby', 'both'].includes(on)) throw new Error(`--on ${on}: use primary, standby or both`)
  const {lab, drill} = await benchLab('hsobench')
  say(
    `bench:switchover — ${runs} switchovers, pgha switchover --yes on ${on === 'both' ? 'both hosts' : `the ${on} only (the other host's pgha watch runs its half)`}`,
  )
  const outages: number[] = []
  let lostTotal = 0
  let failedRuns = 0
  try {
    for (let i = 1; i <= runs; i++) {
      const roles = await steady(lab, drill)
      const d = await switchoverUnderLoad(
        lab,
        roles.primary,
        roles.standby,
        `bench-so-${i}-${Date.now()}`,
        on === 'standby' ? 'to' : on === 'both' ? 'both' : 'from',
      )
      const exits = d.results.map((r) => `${r.node} exit ${r.run.exitCode}`).join(', ')
      const ok = d.results.every((r) => r.run.exitCode === 0)
      if (!ok) failedRuns++
      lostTotal += d.lost.length
      if (ok) outages.push(d.outageMs)
      say(
        `run ${i}: ${roles.primary} → ${roles.standby}: write outage ${(d.outageMs / 1000).toFixed(2)} s, ${d.acked} writes acknowledged, ${d.lost.length} lost, ${d.failedAttempts} failed attempts (${exits})`,
      )
      say('    phases (both halves, from the last acknowledged write before the outage):')
      for (const line of d.phases) say(`  ${line}`)
      if (!ok)
        for (const r of d.results.filter((x) => x.run.exitCode !== 0))
          say(`    ${r.node}: ${(r.run.stderr || r.run.stdout).split('\n')[0]}`)
      // The loops re-derive their roles after the marker is cleared; let them settle before the next run.
      const end = Date.now() + 60_000
      while (
        Date.now() < end &&
        !(
          readWatchState(lab.hosts[roles.standby].stateDir)?.role === 'primary' &&
          readWatchState(lab.hosts[roles.primary].stateDir)?.role === 'standby'
        )
      )
        await sleep(200)
    }
  } finally {
    await drill.sampler.stop()
    if (!process.argv.includes('--keep')) await labDown(lab)
  }
  say(`\nswitchover write outage (longest pause between acknowledged writes through VIP-M), ${outages.length}/${runs} runs:`)
  say(
    `  median ${(median(outages) / 1000).toFixed(2)} s, max ${(Math.max(...outages) / 1000).toFixed(2)} s, min ${(Math.min(...outages) / 1000).toFixed(2)} s; acknowledged writes lost: ${lostTotal}  (target: ≤ 2 s, 0 lost)`,
  )
  if (failedRuns > 0 || lostTotal > 0) process.exitCode = 1
}

main().catch((e) => {
  say(`bench:switchover failed: ${(e as Error).message}`)
  process.exit(1)
})

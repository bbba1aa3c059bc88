/**
 * npm run bench:failover — failover time on the lab, with the shipped default timings.
 *
 * Five times (--runs N): from the steady pair (one primary with VIP-M, one streaming standby
 * with VIP-S, pgha watch on both), with a client in the gateway namespace writing through
 * VIP-M every 20 ms, power the primary off through its BMC (ipmitool → ipmi_sim) and measure
 *   failover time = start of the power-off command → first acknowledged write after the outage,
 * then let the pair heal (power on, rejoin, failback) before the next run. Prints each run's
 * figures and the survivor's failover line (its steps and their durations), then median and max.
 * Not a timed test. Options: --runs N, --name LAB, --set timing.interval=500ms (both hosts).
 * Target (issue 3): median ≤ 3 s.
 */
import {readFileSync} from 'node:fs'
import {ipmiPower} from '../src/lib/lab/bmcs.js'
import {observedRole, writeGap} from '../src/lib/lab/figures.js'
import {sleep} from '../src/lib/lab/host.js'
import {labDown} from '../src/lib/lab/lab.js'
import {readLoadLog, startLoad, stopLoad} from '../src/lib/lab/load.js'
import {parseWatchLog} from '../src/lib/lab/timeline.js'
import {readWatchState} from '../src/lib/loop/watch-state.js'
import {arg, benchLab, median, overrides, say, steady} from './bench-lab.js'

interface Run {
  run: number
  primary: string
  failoverMs?: number
  detectMs?: number
  steps: string[]
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '5'))
  const {lab, drill} = await benchLab('pgtwbench')
  const sets = overrides()
  say(
    `bench:failover — ${runs} primary power-offs${Object.keys(sets).length ? `, overrides ${JSON.stringify(sets)}` : ', shipped default timings'}`,
  )
  const results: Run[] = []
  try {
    for (let i = 1; i <= runs; i++) {
      const roles = await steady(lab, drill)
      const load = await startLoad(lab, {run: `bench-failover-${i}-${Date.now()}`, intervalMs: 20, maxSeconds: 300})
      await sleep(2000)
      const faultAt = Date.now()
      const off = await ipmiPower(lab, roles.primary, 'off')
      if (off.power !== 'off') throw new Error(`power off ${roles.primary} failed: ${off.result.stderr}`)
      const r: Run = {run: i, primary: roles.primary, steps: []}
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        const s = await drill.sample()
        if (observedRole(s.hosts[roles.standby]) === 'primary_standby') break
        await sleep(100)
      }
      // The failover tick logs its line when its last step (the gratuitous ARPs) is done.
      while (Date.now() < deadline && readWatchState(lab.hosts[roles.standby].stateDir)?.role !== 'primary_standby') await sleep(100)
      await sleep(2000)
      await stopLoad(lab)
      const gap = writeGap(readLoadLog(load.log), faultAt)
      r.failoverMs = gap.fromFaultMs
      const lines = parseWatchLog(readFileSync(lab.hosts[roles.standby].watchLog, 'utf8')).filter((l) => l.t >= faultAt)
      const decided = lines.find((l) => (l.actions ?? []).includes('promote'))
      if (decided) r.detectMs = decided.t - faultAt
      const raw = readFileSync(lab.hosts[roles.standby].watchLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"promote"') && l.includes('"steps"'))
      try {
        r.steps = (JSON.parse(raw.at(-1) ?? '{}').steps ?? []) as string[]
      } catch {}
      results.push(r)
      say(
        `run ${i}: power off ${roles.primary} → first write through VIP-M after ${r.failoverMs === undefined ? 'NO WRITE' : `${(r.failoverMs / 1000).toFixed(2)} s`}` +
          `${r.detectMs === undefined ? '' : ` (failover tick logged ${(r.detectMs / 1000).toFixed(2)} s after the power-off)`}`,
      )
      for (const s of r.steps) say(`    ${s.slice(0, 160)}`)
    }
  } finally {
    await drill.sampler.stop()
    if (!process.argv.includes('--keep')) await labDown(lab)
  }
  const times = results.map((r) => r.failoverMs).filter((x): x is number => x !== undefined)
  say(`\nfailover (power-off command → first acknowledged write through VIP-M), ${times.length}/${results.length} runs:`)
  say(
    `  median ${(median(times) / 1000).toFixed(2)} s, max ${(Math.max(...times) / 1000).toFixed(2)} s, min ${(Math.min(...times) / 1000).toFixed(2)} s  (target: median ≤ 3 s)`,
  )
  if (times.length !== results.length) process.exitCode = 1
}

main().catch((e) => {
  say(`bench:failover failed: ${(e as Error).message}`)
  process.exit(1)
})

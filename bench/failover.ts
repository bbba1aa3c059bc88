/**
 * npm run bench:failover — failover time on the lab, with the shipped default timings.
 *
 * Five times (--runs N): from the steady pair (one primary with VIP-M, one streaming standby
 * with VIP-S, pgha watch on both), with a client in the gateway namespace writing through
 * VIP-M every 20 ms, power the primary off through its BMC (ipmitool → ipmi_sim) and measure
 *   failover time = start of the power-off command → first acknowledged write after the outage,
 * then let the pair heal (power on, rejoin, failback) before the next run. Prints each run's
 * figures and the survivor's failover line (its steps and their durations), then median and max.
 * Each run also prints its phases, read from the survivor's tick log (failover-phases.ts):
 * detect (power cut → the tick that declares the peer failed), fence.delay, each step of the
 * acting tick (fence, promote, degrade, VIP claimed+announced), first write; medians at the end.
 * --standby-loss powers the standby off instead: primary's blocked sync commits → unblocked
 * (fence + degrade), measured the same way (npm run bench:standby-loss).
 * Not a timed test. Options: --runs N, --name LAB, --set timing.interval=500ms (both hosts).
 * Target: median ≤ 2.5 s.
 */
import {readFileSync} from 'node:fs'
import {ipmiPower} from '../src/lib/lab/bmcs.js'
import {observedRole, writeGap} from '../src/lib/lab/figures.js'
import {sleep} from '../src/lib/lab/host.js'
import {labDown} from '../src/lib/lab/lab.js'
import {readLoadLog, startLoad, stopLoad} from '../src/lib/lab/load.js'
import {failoverPhases, parseTickLines, type Phases} from '../src/lib/lab/failover-phases.js'
import {parseWatchLog} from '../src/lib/lab/timeline.js'
import {readWatchState} from '../src/lib/loop/watch-state.js'
import {arg, benchLab, median, overrides, say, steady} from './bench-lab.js'

interface Run {
  run: number
  primary: string
  failoverMs?: number
  detectMs?: number
  steps: string[]
  phases?: Phases
}

const standbyLoss = process.argv.includes('--standby-loss')
const RULES = standbyLoss
  ? {detect: [] as string[], act: 'primary.fence-standby'}
  : {detect: ['standby.fence-wait'], act: 'standby.failover'}
const sec = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(2)} s`)

function phaseLine(p: Phases): string {
  const parts = [`detect ${sec(p.detectMs)}`, `${standbyLoss ? 'wait' : 'fence.delay'} ${sec(p.delayMs)}`]
  for (const [a, ms] of Object.entries(p.stepMs)) parts.push(`${a} ${sec(ms)} (done +${sec(p.stepEndMs[a])})`)
  parts.push(`first write +${sec(p.totalMs)}`)
  return parts.join(', ')
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '5'))
  const {lab, drill} = await benchLab(standbyLoss ? 'jbsloss' : 'pgtwbench')
  const sets = overrides()
  say(
    `bench:${standbyLoss ? 'standby-loss' : 'failover'} — ${runs} ${standbyLoss ? 'standby' : 'primary'} power-offs${Object.keys(sets).length ? `, overrides ${JSON.stringify(sets)}` : ', shipped default timings'}`,
  )
  const results: Run[] = []
  try {
    for (let i = 1; i <= runs; i++) {
      const roles = await steady(lab, drill)
      const load = await startLoad(lab, {run: `bench-failover-${i}-${Date.now()}`, intervalMs: 20, maxSeconds: 300})
      await sleep(2000)
      const faultAt = Date.now()
      const victim = standbyLoss ? roles.standby : roles.primary
      const survivor = standbyLoss ? roles.primary : roles.standby
      const off = await ipmiPower(lab, victim, 'off')
      if (off.power !== 'off') throw new Error(`power off ${victim} failed: ${off.result.stderr}`)
      const r: Run = {run: i, primary: victim, steps: []}
      const deadline = Date.now() + 60_000
      if (!standbyLoss)
        while (Date.now() < deadline) {
          const s = await drill.sample()
          if (observedRole(s.hosts[survivor]) === 'primary_standby') break
          await sleep(100)
        }
      // The acting tick logs its line when its last step (the gratuitous ARPs) is done.
      while (Date.now() < deadline && readWatchState(lab.hosts[survivor].stateDir)?.role !== 'primary_standby') await sleep(100)
      await sleep(2000)
      await stopLoad(lab)
      const gap = writeGap(readLoadLog(load.log), faultAt)
      r.failoverMs = gap.fromFaultMs
      const text = readFileSync(lab.hosts[survivor].watchLog, 'utf8')
      r.phases = failoverPhases(parseTickLines(text), faultAt, gap.firstAckAfter, RULES)
      const lines = parseWatchLog(text).filter((l) => l.t >= faultAt)
      const decided = lines.find((l) => l.rule === RULES.act)
      if (decided) r.detectMs = decided.t - faultAt
      const raw = text.split('\n').filter((l) => l.includes(`"${RULES.act}"`) && l.includes('"steps"'))
      try {
        r.steps = (JSON.parse(raw.at(-1) ?? '{}').steps ?? []) as string[]
      } catch {}
      results.push(r)
      say(
        `run ${i}: power off ${victim} → ${standbyLoss ? 'first write after the blocked commits' : 'first write through VIP-M'} after ${r.failoverMs === undefined ? 'NO WRITE' : `${(r.failoverMs / 1000).toFixed(2)} s`}` +
          `${r.detectMs === undefined ? '' : ` (acting tick logged ${(r.detectMs / 1000).toFixed(2)} s after the power-off)`}`,
      )
      for (const s of r.steps) say(`    ${s.slice(0, 160)}`)
      say(`    phases: ${phaseLine(r.phases)}`)
    }
  } finally {
    await drill.sampler.stop()
    if (!process.argv.includes('--keep')) await labDown(lab)
  }
  const times = results.map((r) => r.failoverMs).filter((x): x is number => x !== undefined)
  say(
    `\n${standbyLoss ? 'standby loss (power-off command → first acknowledged write on the primary after its commits waited)' : 'failover (power-off command → first acknowledged write through VIP-M)'}, ${times.length}/${results.length} runs:`,
  )
  say(
    `  median ${(median(times) / 1000).toFixed(2)} s, max ${(Math.max(...times) / 1000).toFixed(2)} s, min ${(Math.min(...times) / 1000).toFixed(2)} s  (target: median ≤ 2.5 s)`,
  )
  const ph = results.map((r) => r.phases).filter((p): p is Phases => p !== undefined)
  const med = (f: (p: Phases) => number | undefined) => sec(median(ph.map(f).filter((x): x is number => x !== undefined)))
  const actions = [...new Set(ph.flatMap((p) => Object.keys(p.stepMs)))]
  say(
    `  phase medians: detect ${med((p) => p.detectMs)}, ${standbyLoss ? 'wait' : 'fence.delay'} ${med((p) => p.delayMs)}, ` +
      actions.map((a) => `${a} ${med((p) => p.stepMs[a])} (done +${med((p) => p.stepEndMs[a])})`).join(', ') +
      `, first write +${med((p) => p.totalMs)}`,
  )
  if (times.length !== results.length) process.exitCode = 1
}

main().catch((e) => {
  say(`bench:${standbyLoss ? 'standby-loss' : 'failover'} failed: ${(e as Error).message}`)
  process.exit(1)
})

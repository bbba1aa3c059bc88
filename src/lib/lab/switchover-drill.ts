/**
 * One planned switchover on the lab under write load, as the switchover test and
 * bench/switchover.ts run it: a client in the gateway namespace writes through VIP-M every
 * 20 ms; `pgha switchover --yes` runs on one host only (the primary or the standby; the other
 * host's pgha watch runs the other half) or on both hosts; afterwards the acknowledged writes are looked up on the new
 * primary. Reports the figures; the caller asserts or prints them.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {pghaInHost, labPgNode} from './cluster.js'
import {writeGap} from './figures.js'
import {sleep} from './host.js'
import {type LabLayout, type LabNode, LOAD_DB, VIP_PRIMARY, VIP_STANDBY} from './layout.js'
import {readLoadLog, startLoad, stopLoad} from './load.js'
import {nodePsql} from './pgcluster.js'
import {parseHalfEvents, renderPhases} from './switchover-phases.js'
import type {RunResult} from '../system/exec.js'

export interface SwitchoverDrill {
  from: LabNode
  to: LabNode
  /** `pgha switchover --yes --json` on the host(s) it ran on. */
  results: {node: LabNode; run: RunResult}[]
  acked: number
  failedAttempts: number
  /** Longest pause between two acknowledged writes (ms). */
  outageMs: number
  /** Acknowledged writes the new primary does not have. */
  lost: number[]
  /** The first command's timeline (+s event). */
  timeline: string[]
  /** Both halves' steps (commands' stderr and watch logs) from the last write before the outage to the first after it. */
  phases: string[]
}

const readText = (f: string) => {
  try {
    return readFileSync(f, 'utf8')
  } catch {
    return ''
  }
}

function holdsAddress(lab: LabLayout, n: LabNode, ip: string): boolean {
  try {
    return new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`).test(
      execFileSync('ip', ['-n', lab.hosts[n].netns, '-4', '-o', 'addr', 'show'], {timeout: 5000}).toString(),
    )
  } catch {
    return false
  }
}

export const vipsOn = (lab: LabLayout, n: LabNode) => ({m: holdsAddress(lab, n, VIP_PRIMARY), s: holdsAddress(lab, n, VIP_STANDBY)})

/** `on`: where `pgha switchover` runs — the current primary (`from`), the standby (`to`), or both (primary first). */
export async function switchoverUnderLoad(
  lab: LabLayout,
  from: LabNode,
  to: LabNode,
  run: string,
  on: 'from' | 'to' | 'both' = 'from',
): Promise<SwitchoverDrill> {
  const load = await startLoad(lab, {run, intervalMs: 20, maxSeconds: 300})
  const results: {node: LabNode; run: RunResult}[] = []
  try {
    await sleep(1500)
    const started = Date.now()
    const firstOn = on === 'to' ? to : from
    const first = pghaInHost(lab, firstOn, ['switchover', '--yes', '--json'], 240_000)
    const second = on === 'both' ? (await sleep(500), pghaInHost(lab, to, ['switchover', '--yes', '--json'], 240_000)) : undefined
    results.push({node: firstOn, run: await first})
    if (second) results.push({node: to, run: await second})
    await sleep(1500)
    const entries = readLoadLog(load.log).filter((e) => e.t >= started - 1500)
    const ok = entries.filter((e) => e.ok).map((e) => e.n)
    const gap = writeGap(entries, started)
    const present =
      ok.length === 0
        ? ''
        : await nodePsql(
            labPgNode(lab, to),
            `SELECT n FROM lab_writes WHERE run = '${run}' AND n = ANY('{${ok.join(',')}}'::int[]);`,
            LOAD_DB,
            30_000,
          )
    const have = new Set(present.split('\n').filter(Boolean).map(Number))
    const halves = [from, to].flatMap((n) => [
      ...parseHalfEvents(readText(lab.hosts[n].watchLog), n),
      ...results.filter((r) => r.node === n).flatMap((r) => parseHalfEvents(r.run.stderr, n)),
    ])
    const phases =
      gap.lastAckBefore !== undefined && gap.firstAckAfter !== undefined
        ? renderPhases(
            halves.filter((e) => e.t >= started && e.t <= gap.firstAckAfter! + 3000),
            gap.lastAckBefore,
            gap.firstAckAfter,
          )
        : []
    let timeline: string[] = []
    try {
      timeline = (JSON.parse(results[0].run.stdout).result.timeline as {at: number; event: string}[]).map(
        (e) => `+${(e.at / 1000).toFixed(2)}s ${e.event}`,
      )
    } catch {}
    return {
      from,
      to,
      results,
      acked: ok.length,
      failedAttempts: entries.length - ok.length,
      outageMs: gap.gapMs ?? -1,
      lost: ok.filter((n) => !have.has(n)),
      timeline,
      phases,
    }
  } finally {
    await stopLoad(lab)
  }
}

/**
 * npm run bench:loss — acknowledged writes lost on a power cut, async vs sync, over a slow link.
 *
 * On a fast veth link asynchronous replication loses nothing measurable, so here the standby
 * streams through a proxy that delays every byte by --delay-ms (default 20) each way. The
 * proxy runs in the primary's host, so the WAL on the "link" dies with it when its power is cut
 * (as when a site loses power with its uplink). Per run, from the steady pair: 8 connections
 * insert through VIP-M as fast as their commits return (every acknowledged id recorded), the
 * primary's power is cut through its BMC mid-load, the standby takes over, and the
 * acknowledged ids missing on it are counted. --runs per mode (default 3), async then sync;
 * prints each run and the median per mode. In sync mode the count must be 0 (exit 1 otherwise).
 */
import {spawn} from 'node:child_process'
import {cpus, loadavg} from 'node:os'
import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {ipmiPower} from '../src/lib/lab/bmcs.js'
import type {Drill, Roles} from '../src/lib/lab/drill.js'
import {idsOnFinalPrimary} from '../src/lib/lab/final-primary.js'
import {HEAVY_CONNECTIONS, heavyLoadOptions} from '../src/lib/lab/heavy.js'
import {ackedBetween, lossReport} from '../src/lib/lab/heavy-figures.js'
import {inHostArgv, sleep} from '../src/lib/lab/host.js'
import {labDown, labPgNode} from '../src/lib/lab/lab.js'
import {type LabLayout, PG_PORT} from '../src/lib/lab/layout.js'
import {readLoadLog, startLoad, stopLoad} from '../src/lib/lab/load.js'
import {nodePsql} from '../src/lib/lab/pgcluster.js'
import {arg, benchLab, median, say, steady} from './bench-lab.js'
import {useMode} from './pgbench-lab.js'

/** In the range this bench may use (56200-56249). */
const PROXY_PORT = 56200
const LOAD_MS = 5000

/** Start the delaying proxy in the primary's host: PROXY_PORT on every address (its own and VIP-M) → its PostgreSQL. */
async function startProxy(lab: LabLayout, r: Roles, delayMs: number): Promise<() => void> {
  const h = lab.hosts[r.primary]
  const script = resolve(import.meta.dirname, 'delay-proxy.js')
  const argv = inHostArgv(h, [
    process.execPath,
    script,
    '--listen',
    `0.0.0.0:${PROXY_PORT}`, // the standby may stream from the primary address or VIP-M
    '--target',
    `${h.address}:${PG_PORT}`,
    '--delay-ms',
    String(delayMs),
  ])
  const child = spawn(argv[0], argv.slice(1), {stdio: ['pipe', 'pipe', 'inherit']})
  const stop = () => {
    child.stdin?.end()
    child.kill()
  }
  const up = await new Promise<boolean>((done) => {
    const t = setTimeout(() => done(false), 10_000)
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('listening')) {
        clearTimeout(t)
        done(true)
      }
    })
    child.on('exit', () => done(false))
  })
  if (!up) {
    stop()
    throw new Error(`the delay proxy did not start in ${r.primary}`)
  }
  return stop
}

/** Point the standby's walreceiver at the proxy and wait until it streams through it. */
async function streamThroughProxy(lab: LabLayout, r: Roles): Promise<void> {
  const node = labPgNode(lab, r.standby)
  // From the file, not SHOW (which masks the passfile); the literal stays as the file quotes it.
  const auto = readFileSync(join(lab.hosts[r.standby].datadir, 'postgresql.auto.conf'), 'utf8')
  const now = /^primary_conninfo = '((?:[^']|'')*)'/m.exec(auto)?.[1]
  if (!now) throw new Error(`no primary_conninfo in ${r.standby}'s postgresql.auto.conf`)
  const conninfo = /\bport=\d+/.test(now) ? now.replace(/\bport=\d+/, `port=${PROXY_PORT}`) : `${now} port=${PROXY_PORT}`
  await nodePsql(node, `ALTER SYSTEM SET primary_conninfo = '${conninfo}';\nSELECT pg_reload_conf();\n`)
  for (let i = 0; i < 200; i++) {
    const port = (await nodePsql(node, "SELECT sender_port FROM pg_stat_wal_receiver WHERE status = 'streaming'").catch(() => '')).trim()
    if (port === String(PROXY_PORT)) return
    await sleep(100)
  }
  throw new Error(`${r.standby} does not stream through the proxy (port ${PROXY_PORT}) after 20 s`)
}

interface LossRun {
  mode: 'sync' | 'async'
  acked: number
  lost: number
  ratePerS: number
  lostIds: number[]
}

async function oneRun(lab: LabLayout, d: Drill, mode: 'sync' | 'async', i: number, delayMs: number): Promise<LossRun> {
  const r = await steady(lab, d)
  const stopProxy = await startProxy(lab, r, delayMs)
  try {
    await streamThroughProxy(lab, r)
    await sleep(3000) // the primary sees its standby confirm through the slow link
    const run = `loss-${mode}-${i}-${Date.now()}`
    const load = await startLoad(lab, {run, ...heavyLoadOptions({connections: HEAVY_CONNECTIONS})})
    await sleep(LOAD_MS)
    const cutAt = Date.now()
    const {power} = await ipmiPower(lab, r.primary, 'off')
    if (power !== 'off') throw new Error(`power off ${r.primary} failed`)
    const took = await d.until(
      `${r.standby} writable with VIP-M`,
      30_000,
      (s) => s.hosts[r.standby].writable === true && s.hosts[r.standby].vipM,
      {
        record: false,
      },
    )
    if (took === undefined) throw new Error(`${r.standby} did not take over within 30 s`)
    await sleep(1000)
    await stopLoad(lab)
    const entries = readLoadLog(load.log)
    const ids = await idsOnFinalPrimary(lab, await d.sample(), run)
    if (!ids) throw new Error(`cannot read the writes on ${r.standby}`)
    const loss = lossReport(entries, ids)
    return {mode, acked: loss.acked, lost: loss.lost, lostIds: loss.lostIds, ratePerS: ackedBetween(entries, cutAt - 2000, cutAt) / 2}
  } finally {
    stopProxy()
  }
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '3'))
  const delayMs = Number(arg('delay-ms', '20'))
  const modes = (arg('modes', 'async,sync') ?? '').split(',').filter((m): m is 'sync' | 'async' => m === 'sync' || m === 'async')
  const {lab, drill} = await benchLab('jcloss')
  const results: LossRun[] = []
  try {
    say(
      `bench:loss — ${HEAVY_CONNECTIONS} connections inserting through VIP-M, primary power cut, replication through a ${delayMs} ms delay each way; ${runs} run(s) per mode`,
    )
    say(
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    )
    for (const mode of modes) {
      await useMode(lab, drill, mode)
      for (let i = 1; i <= runs; i++) {
        const x = await oneRun(lab, drill, mode, i, delayMs)
        results.push(x)
        say(
          `  ${mode.padEnd(5)} run ${i}: ${x.acked} acknowledged (${x.ratePerS.toFixed(0)}/s before the cut), ${x.lost} acknowledged lost${x.lost > 0 ? ` (e.g. #${x.lostIds.slice(0, 5).join(', #')})` : ''}`,
        )
      }
    }
    say('\nmode    acknowledged lost (median)   per run        commits/s before the cut (median)')
    for (const mode of modes) {
      const mine = results.filter((r) => r.mode === mode)
      say(
        `${mode.padEnd(7)} ${String(median(mine.map((r) => r.lost))).padStart(8)}                     ${mine
          .map((r) => r.lost)
          .join(', ')
          .padEnd(14)} ${median(mine.map((r) => r.ratePerS)).toFixed(0)}`,
      )
    }
    if (results.some((r) => r.mode === 'sync' && r.lost > 0)) {
      say('\nFAIL: sync mode lost acknowledged writes')
      process.exitCode = 1
    }
    await useMode(lab, drill, 'sync')
  } finally {
    await drill.sampler.stop()
    if (!process.argv.includes('--keep')) await labDown(lab)
  }
}

main().catch((e) => {
  say(`bench:loss failed: ${(e as Error).message}`)
  process.exit(1)
})

/**
 * npm run bench:soak — no false failover under load, and what the loop costs.
 *
 * From the steady pair, pgbench saturates the primary through VIP-M from the gateway
 * namespace for --minutes N (default 10; -c 8 -j 2 on this 2-core machine) while pgha watch
 * runs on both hosts with the shipped default timings (or --set overrides). Then prints:
 * role changes on either host (must be 0), ticks that suspected the peer, pgbench's TPS, and
 * each watch process's CPU share (its own, and with its arping children) and peak RSS.
 * Targets (issue 3): 0 role changes, < 2 % of a core, < 100 MB.
 */
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {labDown} from '../src/lib/lab/lab.js'
import {LAB_NODES, LOAD_DB, LOAD_USER, PG_PORT, VIP_PRIMARY} from '../src/lib/lab/layout.js'
import {nsArgv} from '../src/lib/lab/netns.js'
import {readSecretFile} from '../src/lib/lab/secrets.js'
import {parseWatchLog} from '../src/lib/lab/timeline.js'
import {readWatchState} from '../src/lib/loop/watch-state.js'
import {arg, benchLab, procUsage, say, steady, watchPids} from './bench-lab.js'

const PGBENCH = '/usr/lib/postgresql/15/bin/pgbench'
const HZ = 100

function run(argv: string[], env: Record<string, string>, timeoutMs: number): Promise<{code: number; out: string}> {
  return new Promise((done) => {
    execFile(
      argv[0],
      argv.slice(1),
      {timeout: timeoutMs, killSignal: 'SIGKILL', env: {...process.env, ...env}, maxBuffer: 16 * 1024 * 1024},
      (err, stdout, stderr) => {
        done({
          code: err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0,
          out: String(stdout) + String(stderr),
        })
      },
    )
  })
}

async function main(): Promise<void> {
  const minutes = Number(arg('minutes', '10'))
  const {lab, drill} = await benchLab('pgtwsoak')
  try {
    const roles = await steady(lab, drill)
    const env = {PGPASSWORD: readSecretFile(lab.loadPassfile) ?? '', PGCONNECT_TIMEOUT: '5'}
    const conn = ['-h', VIP_PRIMARY, '-p', String(PG_PORT), '-U', LOAD_USER]
    say(`bench:soak — ${minutes} min of pgbench through VIP-M; ${roles.primary} primary, ${roles.standby} standby`)
    const init = await run(nsArgv(lab.gatewayNetns, [PGBENCH, '-i', '-s', '10', '-q', ...conn, LOAD_DB]), env, 300_000)
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.out.trim().split('\n').at(-1)}`)
    const pids = Object.fromEntries(LAB_NODES.map((n) => [n, watchPids(lab, n)[0]]))
    const before = Object.fromEntries(LAB_NODES.map((n) => [n, procUsage(pids[n])]))
    const transitions = Object.fromEntries(LAB_NODES.map((n) => [n, readWatchState(lab.hosts[n].stateDir)?.lastTransition?.at]))
    const t0 = Date.now()
    const bench = await run(
      nsArgv(lab.gatewayNetns, [PGBENCH, '-c', '8', '-j', '2', '-T', String(Math.round(minutes * 60)), '-P', '60', ...conn, LOAD_DB]),
      env,
      minutes * 60_000 + 120_000,
    )
    const seconds = (Date.now() - t0) / 1000
    const tps = /tps = ([\d.]+)/.exec(bench.out)?.[1]
    say(`pgbench: exit ${bench.code}, ${tps ? `${tps} tps` : 'no tps line'} over ${seconds.toFixed(0)} s`)
    let changes = 0
    for (const n of LAB_NODES) {
      const lines = parseWatchLog(readFileSync(lab.hosts[n].watchLog, 'utf8')).filter((l) => l.t >= t0)
      const raw = readFileSync(lab.hosts[n].watchLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"from"') && Date.parse(l.slice(7, 31)) >= t0)
      const suspect = lines.filter((l) => / check \d+ of \d+$/.test(l.reason)).length
      const now = procUsage(pids[n])
      const cpu = (now.ticks - before[n].ticks) / HZ / seconds
      const withChildren = (now.ticks + now.childTicks - before[n].ticks - before[n].childTicks) / HZ / seconds
      const changed = readWatchState(lab.hosts[n].stateDir)?.lastTransition?.at !== transitions[n] ? 1 : 0
      changes += Math.max(raw.length, changed)
      say(
        `${n}: role changes ${Math.max(raw.length, changed)}, ticks suspecting the peer ${suspect}, watch CPU ${(cpu * 100).toFixed(2)} % of a core (${(withChildren * 100).toFixed(2)} % with its arping children), peak RSS ${(now.hwmKb / 1024).toFixed(1)} MB`,
      )
    }
    say(`\nrole changes during the soak: ${changes} (target 0)`)
    if (changes > 0) process.exitCode = 1
  } finally {
    await drill.sampler.stop()
    if (!process.argv.includes('--keep')) await labDown(lab)
  }
}

main().catch((e) => {
  say(`bench:soak failed: ${(e as Error).message}`)
  process.exit(1)
})

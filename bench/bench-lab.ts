/**
 * Shared by bench/failover.ts and bench/soak.ts: a lab running pgha watch, timing overrides
 * written into both hosts' configs (to compare timings), the watch processes' CPU and memory.
 */
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import YAML from 'yaml'
import {Drill, restoreSteady, type Roles} from '../src/lib/lab/drill.js'
import {labDown, labUp, readManifest} from '../src/lib/lab/lab.js'
import {LAB_NODES, labLayout, type LabLayout, type LabNode} from '../src/lib/lab/layout.js'
import {powerState, sleep} from '../src/lib/lab/host.js'

export const say = (s: string) => process.stdout.write(s + '\n')

export function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : dflt
}

/** `--set timing.interval=500ms --set timing.checkTimes=2`: overrides for both hosts' configs. */
export function overrides(): Record<string, string> {
  const out: Record<string, string> = {}
  process.argv.forEach((a, i) => {
    if (a === '--set' && process.argv[i + 1]?.includes('=')) {
      const [k, v] = process.argv[i + 1].split(/=(.*)/s)
      out[k] = v
    }
  })
  return out
}

function setPath(o: Record<string, unknown>, path: string, value: string): void {
  const keys = path.split('.')
  let cur = o
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>
  cur[keys.at(-1)!] = /^\d+$/.test(value) ? Number(value) : value
}

/** Pids of `pgha watch` (the node process) in a lab host. */
export function watchPids(lab: LabLayout, node: LabNode): number[] {
  const out: number[] = []
  for (const pid of readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (argv.includes('watch') && argv.includes(lab.hosts[node].configFile) && /node$/.test(argv[0])) out.push(pid)
    } catch {}
  }
  return out
}

/** Restart pgha watch in every powered host (SIGTERM: it exits 0; SIGUSR1 to the host's init starts it again). */
export async function restartWatch(lab: LabLayout): Promise<void> {
  for (const n of LAB_NODES) for (const pid of watchPids(lab, n)) process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 100 && LAB_NODES.some((n) => watchPids(lab, n).length > 0); i++) await sleep(100)
  for (const n of LAB_NODES) {
    const s = powerState(lab.hosts[n])
    if (s.on && s.initPid) process.kill(s.initPid, 'SIGUSR1')
  }
  for (let i = 0; i < 100 && LAB_NODES.some((n) => powerState(lab.hosts[n]).on && watchPids(lab, n).length === 0); i++) await sleep(100)
}

/** Apply --set overrides to both hosts' configs (kept across power cycles) and restart watch. */
export async function applyOverrides(lab: LabLayout, sets: Record<string, string>): Promise<void> {
  if (Object.keys(sets).length === 0) return
  for (const n of LAB_NODES) {
    const file = lab.hosts[n].configFile
    const doc = YAML.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    for (const [k, v] of Object.entries(sets)) setPath(doc, k, v)
    writeFileSync(file, `# bench overrides: ${JSON.stringify(sets)}\n` + YAML.stringify(doc))
  }
  await restartWatch(lab)
}

export async function benchLab(defaultName: string): Promise<{lab: LabLayout; drill: Drill}> {
  if (process.getuid?.() !== 0) throw new Error('the bench needs root (it builds a lab of namespaces)')
  const name = arg('name', defaultName)!
  const lab = labLayout(name, arg('dir', `/tmp/pgha-bench-${name}`))
  const up = await labUp(lab, (l) => say(`  ${l}`))
  say(up.summary)
  if (!readManifest(lab)?.watch) throw new Error('the lab runs without pgha watch (build first: npm run build)')
  await applyOverrides(lab, overrides())
  const drill = new Drill(lab)
  drill.sampler.start()
  return {lab, drill}
}

/** The steady pair, by itself within 90 s (power on, rejoin, failback), else by rebuilding the lab. */
export async function steady(lab: LabLayout, d: Drill): Promise<Roles> {
  const roles = await restoreSteady(d, 90_000)
  if (roles) return roles
  say('  (no steady state within 90 s: rebuilding the lab)')
  await labDown(lab)
  await labUp(lab)
  await applyOverrides(lab, overrides())
  const again = await restoreSteady(d, 90_000)
  if (!again) throw new Error('no steady state even after rebuilding the lab')
  return again
}

/** utime+stime (ticks) and VmHWM/VmRSS (kB) of a process and its live children (the ARP monitors). */
export function procUsage(pid: number): {ticks: number; childTicks: number; hwmKb: number; rssKb: number} {
  const stat = (p: number) => {
    const text = readFileSync(`/proc/${p}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  }
  const s = stat(pid)
  // fields after "(comm) ": state=0 … utime=11 stime=12 cutime=13 cstime=14
  let childTicks = Number(s[13]) + Number(s[14])
  try {
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)) {
      const cs = stat(c)
      childTicks += Number(cs[11]) + Number(cs[12])
    }
  } catch {}
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return {ticks: Number(s[11]) + Number(s[12]), childTicks, hwmKb: kb('VmHWM'), rssKb: kb('VmRSS')}
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * npm run bench:cli — cold start of the CLI: a new `node bin/run.js …` process per run, as
 * Nagios starts `pgha check lag` every minute. Median of PGHA_BENCH_RUNS (default 21) runs of:
 *   - node -e 0                 the runtime alone: the floor on this machine right now
 *   - pgha --version            oclif and the manifest, no command loaded
 *   - pgha check lag            a config whose local database is not there: CRITICAL at once
 *   - pgha status               the same config; the peer (127.0.0.2) refuses at once
 * Goal: check lag < 300 ms median. The config lives in a temp dir, removed at the end.
 * PGHA_BENCH_BIN=/path/to/bin/run.js measures another build (e.g. an older checkout).
 * With /usr/bin/time the CPU time (user+sys) is printed too: it varies less than wall time
 * on a busy machine.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {REPO, writeUnreachableConfig} from '../test/helpers/unreachable-config.js'

const bin = process.env.PGHA_BENCH_BIN ?? join(REPO, 'bin', 'run.js')
const runs = Number(process.env.PGHA_BENCH_RUNS ?? 21)
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const say = (s: string) => process.stdout.write(s + '\n')

interface Sample {
  wallMs: number
  cpuMs?: number
  exitCode: number
}

function once(argv: string[], cpuFile: string): Sample {
  const full = timeBin ? [timeBin, '-f', '%U %S', '-o', cpuFile, ...argv] : argv
  const started = performance.now()
  const r = spawnSync(full[0], full.slice(1), {stdio: ['ignore', 'ignore', 'ignore'], timeout: 30_000})
  const wallMs = performance.now() - started
  let cpuMs: number | undefined
  if (timeBin) {
    const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
    cpuMs = (user + sys) * 1000
  }
  return {wallMs, cpuMs, exitCode: r.status ?? -1}
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

function bench(label: string, argv: string[], dir: string): void {
  once(argv, join(dir, 'cpu')) // warm the page cache; not counted
  const samples = Array.from({length: runs}, () => once(argv, join(dir, 'cpu')))
  const wall = samples.map((s) => s.wallMs)
  const codes = [...new Set(samples.map((s) => s.exitCode))].join(',')
  const cpu = samples.every((s) => s.cpuMs !== undefined) ? `  cpu median ${median(samples.map((s) => s.cpuMs!)).toFixed(0)} ms` : ''
  say(
    `${label.padEnd(16)} median ${median(wall).toFixed(0).padStart(5)} ms  min ${Math.min(...wall)
      .toFixed(0)
      .padStart(5)} ms  max ${Math.max(...wall)
      .toFixed(0)
      .padStart(5)} ms${cpu}  exit ${codes}`,
  )
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-bench-cli-'))
  try {
    const config = writeUnreachableConfig(dir)
    const node = process.execPath
    say(
      `bench:cli — ${runs} cold starts each of ${bin}${existsSync(join(dirname(bin), '..', 'oclif.manifest.json')) ? ' (with oclif.manifest.json)' : ' (no oclif.manifest.json)'}`,
    )
    bench('node -e 0', [node, '-e', '0'], dir)
    bench('pgha --version', [node, bin, '--version'], dir)
    bench('pgha check lag', [node, bin, 'check', 'lag', '-c', config], dir)
    bench('pgha status', [node, bin, 'status', '-c', config], dir)
    say('goal: pgha check lag median < 300 ms')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

main()

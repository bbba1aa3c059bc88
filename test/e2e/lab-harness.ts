import {execFile} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {labDown} from '../../src/lib/lab/lab.js'
import {labLayout, type LabLayout} from '../../src/lib/lab/layout.js'

/** Shared by the lab e2e tests: a unique lab per test file, the CLI as a user runs it, leftovers. */

export const LAB_COMMANDS = ['ip', 'arping', 'ipmitool', 'ipmi_sim', 'unshare', 'nsenter', 'setsid', 'runuser']

/** 'pgtlab' + a per-run suffix: never collides with a user's lab (pghalab) or another run. */
export function testLab(tag: string): LabLayout {
  const name = `pgtlab${tag}${process.pid % 1000}`.slice(0, 10)
  return labLayout(name, `/tmp/pgha-e2e-${name}`)
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

const BIN = resolve(import.meta.dirname, '../../../bin/run.js')

/** `pgha ARGS` through bin/run.js, bounded. */
export function pgha(args: string[], opts: {timeoutMs?: number; env?: NodeJS.ProcessEnv; asUser?: string} = {}): Promise<CliResult> {
  const argv = opts.asUser ? ['runuser', '-u', opts.asUser, '--', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args]
  return new Promise((done) => {
    execFile(
      argv[0],
      argv.slice(1),
      {timeout: opts.timeoutMs ?? 120_000, killSignal: 'SIGKILL', env: opts.env ?? process.env, maxBuffer: 20 * 1024 * 1024},
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0
        done({code, stdout: String(stdout), stderr: String(stderr)})
      },
    )
  })
}

export const labArgs = (lab: LabLayout) => ['--name', lab.name, '--dir', lab.dir]

/** Namespaces, processes and files of the lab still around (empty = clean). */
export function leftovers(lab: LabLayout): string[] {
  const out: string[] = []
  const nsDir = existsSync('/run/netns') ? '/run/netns' : '/var/run/netns'
  if (existsSync(nsDir)) for (const ns of readdirSync(nsDir)) if (ns.startsWith(`${lab.name}-`)) out.push(`namespace ${ns}`)
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
      if (cmd.includes(lab.dir)) out.push(`process ${pid}: ${cmd.slice(0, 120)}`)
    } catch {
      // gone
    }
  }
  if (existsSync(lab.dir)) out.push(`directory ${lab.dir}`)
  return out
}

export async function cleanup(lab: LabLayout): Promise<void> {
  await labDown(lab).catch(() => undefined)
}

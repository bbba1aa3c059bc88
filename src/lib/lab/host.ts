import {existsSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'
import {StepFailedError} from '../errors.js'
import {describeFailure, realExec, type Exec, type RunResult} from '../system/exec.js'
import {labChassisProgram} from './bmc.js'
import {pghaRoot} from './install-root.js'
import type {HostLayout} from './layout.js'

/**
 * A lab host's power and the way into it. The switch is the host's chassis program (the same
 * one its BMC runs), so `lab up`, `lab power` via ipmitool and a fence all flip one switch.
 */

export interface PowerState {
  on: boolean
  /** The `unshare` process (outside the host's PID namespace): SIGKILL to it is a power cut. */
  outerPid?: number
  /** PID 1 of the host, as seen from outside: the target for nsenter. */
  initPid?: number
}

/** argv that runs pgha from this checkout: node + bin/run.js (works inside any namespace). */
export function pghaArgv(): string[] {
  return [process.execPath, join(pghaRoot(), 'bin', 'run.js')]
}

/** Path of a compiled lab module (dist/src/lib/lab), for scripts run inside namespaces. */
export function labModule(file: string): string {
  return join(pghaRoot(), 'dist', 'src', 'lib', 'lab', file)
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
  } catch {
    return ''
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** Read-only, no process spawned: cheap enough for a 100 ms sampler. */
export function powerState(h: HostLayout): PowerState {
  const outerPid = readPid(h.powerFile)
  if (outerPid === undefined || !cmdline(outerPid).includes(h.initScript)) return {on: false}
  const initPid = childrenOf(outerPid)[0]
  return {on: true, outerPid, initPid}
}

/** The lab's chassis program (scripts/lab-chassis.sh), the same one every BMC runs. */
async function chassis(h: HostLayout, args: string[], exec: Exec): Promise<RunResult> {
  return exec.run([labChassisProgram(), h.powerDir, ...args], {timeoutMs: 15_000})
}

/** Power on through the chassis program and wait (≤ 5 s) until the host's init runs. */
export async function powerOnDirect(h: HostLayout, exec: Exec = realExec): Promise<PowerState> {
  const r = await chassis(h, ['set', 'power', '1'], exec)
  if (r.exitCode !== 0) throw new StepFailedError(`power on ${h.node} failed: ${describeFailure(r)}`)
  return waitForInit(h, 5000)
}

export async function waitForInit(h: HostLayout, timeoutMs: number): Promise<PowerState> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = powerState(h)
    if (s.on && s.initPid !== undefined && cmdline(s.initPid).includes(h.initScript)) return s
    if (Date.now() > deadline) throw new StepFailedError(`${h.node} did not boot within ${timeoutMs} ms`, `see ${h.initLog}`)
    await sleep(50)
  }
}

/** Power cut through the chassis program (SIGKILL to the host's unshare process). */
export async function powerOffDirect(h: HostLayout, exec: Exec = realExec): Promise<void> {
  const r = await chassis(h, ['set', 'power', '0'], exec)
  if (r.exitCode !== 0) throw new StepFailedError(`power off ${h.node} failed: ${describeFailure(r)}`)
}

/** argv prefix that runs a command inside the host (its PID, mount and network namespaces). */
export function inHostArgv(h: HostLayout, argv: string[], state = powerState(h)): string[] {
  if (!state.on || state.initPid === undefined) {
    throw new StepFailedError(`lab host ${h.node} is powered off`, `power it on: pgha lab power ${h.node} on`)
  }
  return ['nsenter', '-t', String(state.initPid), '-p', '-m', '-n', '--', ...argv]
}

/** Every pid inside the host's PID namespace (outer numbering), init included. */
export function hostPids(h: HostLayout, state = powerState(h)): number[] {
  if (!state.on || state.initPid === undefined) return []
  let target: string
  try {
    target = readlinkNs(state.initPid)
  } catch {
    return []
  }
  const out: number[] = []
  for (const pid of listPids()) {
    try {
      if (readlinkNs(pid) === target) out.push(pid)
    } catch {
      // gone meanwhile
    }
  }
  return out
}

function readlinkNs(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/pid`)
}

function listPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
}

/** Pids of the host's processes whose command name (comm) is `name`, e.g. postgres. */
export function hostProcesses(h: HostLayout, name: string, state = powerState(h)): number[] {
  return hostPids(h, state).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name
    } catch {
      return false
    }
  })
}

/** The postmaster's pid from postmaster.pid, if that process is alive and in this host. */
export function postmasterPid(h: HostLayout, state = powerState(h)): number | undefined {
  const file = join(h.datadir, 'postmaster.pid')
  if (!existsSync(file)) return undefined
  const pid = readPid(file)
  if (pid === undefined) return undefined
  // postmaster.pid holds the pid as seen inside the host; map it through NSpid.
  for (const p of hostProcesses(h, 'postgres', state)) {
    try {
      const nspid = /NSpid:\s+(.*)/
        .exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]
        .trim()
        .split(/\s+/)
      if (nspid && Number(nspid[nspid.length - 1]) === pid) return p
    } catch {
      // gone meanwhile
    }
  }
  return undefined
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * When the power really changed (from the host's log: "power: cut" just before the SIGKILL,
 * "init: power on" as the host's init starts), at or after `since`. A drill's fault time is
 * this moment, not the start of the ipmitool call (which may take seconds on a busy machine).
 */
export function powerEventAt(h: HostLayout, kind: 'off' | 'on', since: number): number | undefined {
  let text: string
  try {
    text = readFileSync(h.initLog, 'utf8')
  } catch {
    return undefined
  }
  const want = kind === 'off' ? / power: cut\b/ : / init: power on$/
  for (const line of text.split('\n')) {
    if (!want.test(line)) continue
    const t = Date.parse(line.split(' ')[0])
    if (t >= since - 50) return t
  }
  return undefined
}

/**
 * A real IPMI BMC for the lab and the tests: ipmi_sim with a chassis program that owns a
 * "host" (docs/lab.md). The BMC runs detached, so a `pgha lab up` can exit and
 * leave it running; `stopBmc(stateDir)` stops it from another process later.
 */
import {spawn} from 'node:child_process'
import {chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {realExec, type RunResult} from '../system/exec.js'
import {pghaRoot} from './install-root.js'
import {parseIPv4} from '../config/net.js'

export interface BmcOptions {
  /** BMC name in LAN.CONF (letters, digits, . _ -). */
  name: string
  /** Absolute directory owned by this BMC: lan.conf, emu.cmds, ipmi_sim state, pid and log. */
  stateDir: string
  listenAddress: string
  port: number
  user: string
  password: string
  /** Absolute argv prefix; ipmi_sim appends `get power` / `set power 0|1` (e.g. labChassisProgram() + a host dir). */
  chassisProgram: string[]
  /** Run ipmi_sim (and the readiness probe) inside this prefix, e.g. ['ip','netns','exec','gw-ns']. */
  wrap?: string[]
  /** How long to wait for the BMC to answer (default 5 s). */
  readyTimeoutMs?: number
}

export interface RunningBmc {
  pid: number
  name: string
  address: string
  port: number
  stateDir: string
  /** Stop ipmi_sim (TERM, then KILL); the host the chassis program started is left as it is. */
  stop(): Promise<void>
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/

/** The repository's chassis program (scripts/lab-chassis.sh), as an absolute path. */
export function labChassisProgram(): string {
  const program = join(pghaRoot(), 'scripts', 'lab-chassis.sh')
  if (!existsSync(program)) throw new Error(`${program} not found: the lab needs pgha's scripts/ (a checkout or the package)`)
  return program
}

/** Pure: LAN.CONF for one BMC on one address (the layout ipmi_sim accepts). */
export function lanConf(o: Pick<BmcOptions, 'name' | 'listenAddress' | 'port' | 'user' | 'password' | 'chassisProgram'>): string {
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(o.name)) throw new Error(`BMC name "${o.name}": use letters, digits, ".", "_" or "-"`)
  if (parseIPv4(o.listenAddress) === undefined) throw new Error(`BMC listenAddress "${o.listenAddress}" is not an IPv4 address`)
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new Error(`BMC port ${o.port} is out of range`)
  for (const [what, v] of [
    ['user', o.user],
    ['password', o.password],
  ] as const) {
    if (!/^[\x21\x23-\x7e]{1,16}$/.test(v)) throw new Error(`BMC ${what}: 1-16 printable characters without spaces or quotes`)
  }
  if (o.chassisProgram.length === 0 || !o.chassisProgram[0].startsWith('/')) {
    throw new Error('chassisProgram must start with an absolute path (ipmi_sim runs it with its own environment)')
  }
  const bad = o.chassisProgram.find((a) => !SAFE_WORD.test(a))
  if (bad !== undefined) throw new Error(`chassisProgram argument "${bad}" needs quoting; ipmi_sim runs it through /bin/sh`)
  const auths = 'none md2 md5 straight'
  return [
    `name "${o.name}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${o.listenAddress} ${o.port}`,
    '    priv_limit admin',
    ...['callback', 'user', 'operator', 'admin'].map((p) => `    allowed_auths_${p} ${auths}`),
    '    guid a123456789abcdefa123456789abcdef',
    '  endlan',
    `  chassis_control "${o.chassisProgram.join(' ')}"`,
    `  user 2 true "${o.user}" "${o.password}" admin 10 ${auths}`,
    '',
  ].join('\n')
}

export const EMU_CMDS = [
  'mc_setbmc 0x20',
  'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr',
  'sel_enable 0x20 1000 0x0a',
  'mc_enable 0x20',
  '',
].join('\n')

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Alive = /proc entry exists and is not a zombie. */
export function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

function isOurSim(pid: number, stateDir: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return cmd.some((a) => a.endsWith('ipmi_sim')) && cmd.includes(join(stateDir, 'lan.conf'))
  } catch {
    return false
  }
}

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  for (let i = 0; i < 40 && processRuns(pid); i++) await sleep(50)
  if (processRuns(pid)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
    for (let i = 0; i < 40 && processRuns(pid); i++) await sleep(50)
  }
}

/** Stop the ipmi_sim recorded in stateDir (if it is still ours). True when one was stopped. */
export async function stopBmc(stateDir: string): Promise<boolean> {
  const pidFile = join(stateDir, 'ipmi_sim.pid')
  if (!existsSync(pidFile)) return false
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  const ours = Number.isInteger(pid) && pid > 0 && processRuns(pid) && isOurSim(pid, stateDir)
  if (ours) await killAndWait(pid)
  rmSync(pidFile, {force: true})
  return ours
}

/** One power status over the network, as a fencing client would ask (password via -E). */
function bmcStatus(o: Pick<BmcOptions, 'listenAddress' | 'port' | 'user' | 'password' | 'wrap'>, timeoutMs = 2500): Promise<RunResult> {
  const argv = [
    'ipmitool',
    '-I',
    'lanplus',
    '-C',
    '3',
    '-H',
    o.listenAddress,
    '-p',
    String(o.port),
    '-U',
    o.user,
    '-E',
    '-N',
    '1',
    '-R',
    '1',
    'chassis',
    'power',
    'status',
  ]
  return realExec.run([...(o.wrap ?? []), ...argv], {timeoutMs, env: {IPMI_PASSWORD: o.password}})
}

/** Write LAN.CONF + EMU.CMDS, start ipmi_sim detached and wait until it answers ipmitool. */
export async function startBmc(o: BmcOptions): Promise<RunningBmc> {
  const conf = lanConf(o)
  mkdirSync(join(o.stateDir, 'sim'), {recursive: true})
  await stopBmc(o.stateDir) // a leftover of an earlier run of this BMC
  const lanFile = join(o.stateDir, 'lan.conf')
  writeFileSync(lanFile, conf, {mode: 0o600})
  chmodSync(lanFile, 0o600) // holds the BMC password
  const emuFile = join(o.stateDir, 'emu.cmds')
  writeFileSync(emuFile, EMU_CMDS)
  const logFile = join(o.stateDir, 'ipmi_sim.log')
  const log = openSync(logFile, 'a')
  const argv = [...(o.wrap ?? []), 'ipmi_sim', '-c', lanFile, '-f', emuFile, '-s', join(o.stateDir, 'sim'), '-n']
  const child = spawn(argv[0], argv.slice(1), {detached: true, stdio: ['ignore', log, log]})
  closeSync(log)
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
  child.unref()
  const pid = child.pid
  if (pid === undefined) throw new Error(`cannot start ipmi_sim: ${(await spawnError).message}`)
  writeFileSync(join(o.stateDir, 'ipmi_sim.pid'), `${pid}\n`)
  const bmc: RunningBmc = {
    pid,
    name: o.name,
    address: o.listenAddress,
    port: o.port,
    stateDir: o.stateDir,
    stop: async () => {
      if (processRuns(pid)) await killAndWait(pid)
      rmSync(join(o.stateDir, 'ipmi_sim.pid'), {force: true})
    },
  }
  const deadline = Date.now() + (o.readyTimeoutMs ?? 5000)
  let last = 'no answer yet'
  await sleep(100)
  while (Date.now() < deadline) {
    if (!processRuns(pid)) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-1)[0] : ''
      throw new Error(`ipmi_sim for BMC ${o.name} exited at start${tail ? `: ${tail}` : ''} (see ${logFile})`)
    }
    const r = await bmcStatus(o, Math.max(500, Math.min(2500, deadline - Date.now())))
    if (r.exitCode === 0 && /Chassis Power is/.test(r.stdout)) return bmc
    last = (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? last
    await sleep(100)
  }
  await bmc.stop()
  throw new Error(`BMC ${o.name} on ${o.listenAddress}:${o.port} did not answer within ${o.readyTimeoutMs ?? 5000} ms: ${last}`)
}

/** Run the repository's chassis program directly (tests and `lab down` power hosts off this way). */
export function runLabChassis(hostDir: string, args: string[], timeoutMs = 10_000): Promise<RunResult> {
  return realExec.run([labChassisProgram(), hostDir, ...args], {timeoutMs})
}

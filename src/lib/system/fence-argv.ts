/**
 * PURE parts of fencing: argv/stdin builders and output parsers for the three fence agents.
 * No I/O here, so unit tests can prove the password never lands in an argv.
 */
import type {Config} from '../config/schema.js'

export type PowerState = 'on' | 'off' | 'unknown'
export type FenceAction = 'off' | 'on' | 'reboot' | 'status'
export type FenceConfig = Config['fence']

/** How a run of an agent ended; the subset of RunResult the parsers need. */
export interface AgentRun {
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
  durationMs: number
}

/** "192.0.2.201:623" (or the command's program for agent command), for messages. */
export function bmcLabel(fence: FenceConfig): string {
  if (fence.agent === 'command') return fence.address ?? fence.command?.[0] ?? 'command'
  return `${fence.address ?? '?'}:${fence.port}`
}

/**
 * ipmitool's own retry loop (-N seconds, -R retries) must end before pgha's hard timeout,
 * or a dead BMC costs 20 s per call (ipmitool's default). Measured against ipmi_sim with no
 * answer: N1/R1 ≈ 2 s, N1/R2 ≈ 6 s, N2/R2 ≈ 10 s. Prefer more retries (lossy UDP) when the
 * budget allows; the process is still killed at the budget either way.
 */
export function ipmitoolTiming(budgetMs: number): {timeoutSec: number; retries: number} {
  if (budgetMs >= 12_000) return {timeoutSec: 2, retries: 2}
  if (budgetMs >= 7000) return {timeoutSec: 1, retries: 2}
  return {timeoutSec: 1, retries: 1}
}

const IPMITOOL_VERB: Record<FenceAction, string> = {off: 'off', on: 'on', reboot: 'cycle', status: 'status'}

/** ipmitool argv: the password travels in IPMI_PASSWORD (-E), never -P. */
export function buildIpmitoolArgv(fence: FenceConfig, action: FenceAction, budgetMs: number): string[] {
  const {timeoutSec, retries} = ipmitoolTiming(budgetMs)
  const iface = fence.ipmi.interface
  return [
    'ipmitool',
    '-v',
    '-I',
    iface,
    ...(iface === 'lanplus' ? ['-C', String(fence.ipmi.cipherSuite)] : []),
    '-H',
    fence.address ?? '',
    '-p',
    String(fence.port),
    '-U',
    fence.user ?? '',
    '-E',
    '-N',
    String(timeoutSec),
    '-R',
    String(retries),
    'chassis',
    'power',
    IPMITOOL_VERB[action],
  ]
}

/** "Chassis Power is on" → on. Anything else → unknown. */
export function parseIpmitoolPower(stdout: string): PowerState {
  const m = /Chassis Power is\s+(on|off)\b/i.exec(stdout)
  return m ? (m[1].toLowerCase() as PowerState) : 'unknown'
}

const IPMITOOL_NOISE =
  /^(Loading IANA PEN Registry|Running Get VSO|Invalid completion code received: Invalid command|Discovered IPMB address)/

/** Last meaningful line of a command's output, for one-line errors. */
export function lastLine(text: string, noise: RegExp = IPMITOOL_NOISE): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !noise.test(l))
  return lines[lines.length - 1] ?? ''
}

/** One line saying why ipmitool failed, from its -v diagnostics. */
export function explainIpmitoolFailure(r: AgentRun, fence: FenceConfig): string {
  const where = `BMC ${bmcLabel(fence)}`
  const err = `${r.stderr}\n${r.stdout}`
  if (r.exitCode === 127) return 'ipmitool is not installed (apt-get install ipmitool)'
  if (r.timedOut) return `${where} did not answer within ${r.durationMs} ms (ipmitool killed)`
  if (/RAKP 2 HMAC is invalid/i.test(err)) return `${where} rejected the password for user "${fence.user}"`
  if (/unauthorized name/i.test(err)) return `${where} does not know user "${fence.user}"`
  if (/invalid authentication algorithm|no matching cipher|cipher suite/i.test(err)) {
    return `${where} refused cipher suite ${fence.ipmi.cipherSuite}; try fence.ipmi.cipherSuite 3`
  }
  if (/Get Auth Capabilities error|Error issuing Get Channel Authentication|Unable to establish/i.test(err)) {
    return `${where} did not answer (after ${Math.round(r.durationMs / 100) / 10} s); is it up and reachable?`
  }
  return `${where}: ipmitool exited ${r.exitCode}${lastLine(err) ? `: ${lastLine(err)}` : ''}`
}

/** fence-agents: the program alone; everything else (and the password) goes on stdin. */
export function buildFenceAgentArgv(fence: FenceConfig): string[] {
  return [fence.name ?? 'fence_agent_unset']
}

/** Keys pgha sets itself; fence.options must not override the action. */
const RESERVED_OPTION_KEYS = new Set(['action', 'option'])

/**
 * The fence-agents stdin protocol (doc/FenceAgentAPI.md): one key=value per line; when a key
 * repeats the last value wins, so fence.options come after pgha's keys and can override
 * ipport etc. Throws on values that would break the line protocol.
 */
export function buildFenceAgentInput(fence: FenceConfig, action: FenceAction, password: string | undefined): string {
  const pairs: [string, string][] = [
    ['action', action],
    ['ip', fence.address ?? ''],
    ['ipport', String(fence.port)],
  ]
  if (fence.user) pairs.push(['username', fence.user])
  if (password !== undefined) pairs.push(['password', password])
  for (const [k, v] of Object.entries(fence.options)) {
    if (RESERVED_OPTION_KEYS.has(k)) throw new Error(`fence.options.${k}: pgha sets the action itself; remove this key`)
    if (!/^[A-Za-z0-9_-]+$/.test(k)) throw new Error(`fence.options: key "${k}" must be letters, digits, "_" or "-"`)
    pairs.push([k, v])
  }
  for (const [k, v] of pairs) {
    if (/[\r\n]/.test(v))
      throw new Error(
        `fence ${k === 'password' ? 'password' : `option ${k}`} contains a line break, which the fence-agents stdin protocol cannot carry`,
      )
  }
  return pairs.map(([k, v]) => `${k}=${v}`).join('\n') + '\n'
}

/** FenceAgentAPI status exit codes: 0 = on, 2 = off, anything else = could not tell. */
export function fenceAgentStatusFromExit(exitCode: number): PowerState | undefined {
  if (exitCode === 0) return 'on'
  if (exitCode === 2) return 'off'
  return undefined
}

const FENCE_AGENT_NOISE = /DeprecationWarning|^from pipes import|^import |^\s*$/

/** One line from a failed fence-agent run: its "ERROR:"/"Failed:" line if any. */
export function explainFenceAgentFailure(r: AgentRun, fence: FenceConfig): string {
  const where = `BMC ${bmcLabel(fence)} (${fence.name})`
  if (r.exitCode === 127) return `fence agent ${fence.name} is not installed (apt-get install fence-agents)`
  if (r.timedOut) return `${where} did not finish within ${r.durationMs} ms (agent killed)`
  const text = `${r.stderr}\n${r.stdout}`
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !FENCE_AGENT_NOISE.test(l))
  const pick = [...lines].reverse().find((l) => /ERROR|Failed/i.test(l)) ?? lines[lines.length - 1] ?? ''
  return `${where}: exited ${r.exitCode}${pick ? `: ${pick.replace(/^\S+ \S+ ERROR: /, '')}` : ''}`
}

/** command agent: the configured argv with {action}, {address}, {port}, {user} filled in. */
export function buildCommandArgv(fence: FenceConfig, action: FenceAction): string[] {
  const vars: Record<string, string> = {action, address: fence.address ?? '', port: String(fence.port), user: fence.user ?? ''}
  return (fence.command ?? []).map((a) => a.replace(/\{(action|address|port|user)\}/g, (_, k: string) => vars[k]))
}

/**
 * command agent status: exit 2 = off (fence-agents); exit 0 = the last word "on"/"off" on
 * stdout (so "Chassis Power is off" works), or on when stdout names neither; else unknown.
 */
export function commandStatus(exitCode: number, stdout: string): PowerState | undefined {
  if (exitCode === 2) return 'off'
  if (exitCode !== 0) return undefined
  const words = stdout.toLowerCase().match(/\b(on|off)\b/g)
  return words ? (words[words.length - 1] as PowerState) : 'on'
}

/** Environment for the command agent (secrets by env, never argv). */
export function commandEnv(fence: FenceConfig, action: FenceAction, password: string | undefined): Record<string, string> {
  const env: Record<string, string> = {PGHA_FENCE_ACTION: action, PGHA_FENCE_PORT: String(fence.port)}
  if (fence.address) env.PGHA_FENCE_ADDRESS = fence.address
  if (fence.user) env.PGHA_FENCE_USER = fence.user
  if (password !== undefined) {
    env.PGHA_FENCE_PASSWORD = password
    env.IPMI_PASSWORD = password
  }
  return env
}

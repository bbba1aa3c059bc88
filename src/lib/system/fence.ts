/**
 * Power control of the PEER through its BMC: ipmitool, any fence-agents program, or a
 * configured command. The only fencing code that touches the world; the argv/stdin
 * builders and parsers are pure and live in fence-argv.ts.
 */
import type {Config} from '../config/schema.js'
import {readSecretFile} from '../config/load.js'
import type {RunOptions, RunResult, SystemContext} from './exec.js'
import {registerSecret} from './redact.js'
import {
  type AgentRun,
  bmcLabel,
  buildCommandArgv,
  buildFenceAgentArgv,
  buildFenceAgentInput,
  buildIpmitoolArgv,
  commandEnv,
  commandStatus,
  explainFenceAgentFailure,
  explainIpmitoolFailure,
  type FenceAction,
  fenceAgentStatusFromExit,
  lastLine,
  parseIpmitoolPower,
  type PowerState,
} from './fence-argv.js'

export type {FenceAction, PowerState} from './fence-argv.js'

export interface FenceResult {
  ok: boolean
  power: PowerState
  /** One line: what the BMC said, or why it could not be reached. Never contains the password. */
  detail: string
}

/** The password from fence.passwordFile or the env var fence.passwordEnv, or a one-line problem. */
function readFencePassword(fence: Config['fence'], env: NodeJS.ProcessEnv = process.env): {password?: string; problem?: string} {
  if (fence.passwordFile) {
    try {
      return {password: readSecretFile(fence.passwordFile)}
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      return {problem: `cannot read fence.passwordFile ${fence.passwordFile} (${code})`}
    }
  }
  if (fence.passwordEnv) {
    const v = env[fence.passwordEnv]
    registerSecret(v)
    return v === undefined ? {problem: `environment variable ${fence.passwordEnv} (fence.passwordEnv) is not set`} : {password: v}
  }
  return {}
}

const fail = (detail: string): FenceResult => ({ok: false, power: 'unknown', detail})

/**
 * Ask the peer's BMC to switch power (off/on/reboot) or report it (status). Never throws
 * for a failed or unreachable BMC: returns ok:false with a one-line detail. Bounded by
 * opts.timeoutMs (default fence.timeout). 'status' is a probe; the rest are changes, which
 * --dry-run records (argv only; the password is never part of it) instead of running.
 */
export async function fencePower(
  ctx: SystemContext,
  fence: Config['fence'],
  action: 'off' | 'on' | 'reboot' | 'status',
  opts?: {timeoutMs?: number},
): Promise<{ok: boolean; power: PowerState; detail: string}> {
  const budgetMs = Math.floor(opts?.timeoutMs ?? fence.timeout)
  if (fence.agent === 'none') return fail('no fence is configured (fence.agent: none); pgha cannot power the peer off')
  if (budgetMs <= 0) return fail(`no time left to reach BMC ${bmcLabel(fence)}`)
  const secret = readFencePassword(fence)
  if (secret.problem) return fail(secret.problem)
  if (secret.password === undefined && fence.agent !== 'command') {
    return fail(`no password configured for BMC ${bmcLabel(fence)}; set fence.passwordFile or fence.passwordEnv`)
  }
  const why = `power ${action} the peer via BMC ${bmcLabel(fence)}`
  const run = (argv: string[], o: Omit<RunOptions, 'timeoutMs'>, shownWhy = why): Promise<RunResult> =>
    action === 'status' ? ctx.probe(argv, {...o, timeoutMs: budgetMs}) : ctx.change(argv, {...o, timeoutMs: budgetMs}, shownWhy)
  const dryRun = action !== 'status' && ctx.dryRun
  const dryResult: FenceResult = {ok: true, power: 'unknown', detail: `dry run: would ${why}`}

  try {
    switch (fence.agent) {
      case 'ipmitool': {
        const r = await run(buildIpmitoolArgv(fence, action, budgetMs), {env: {IPMI_PASSWORD: secret.password}})
        if (dryRun) return dryResult
        return ipmitoolResult(r, fence, action)
      }
      case 'fence-agent': {
        const input = buildFenceAgentInput(fence, action, secret.password)
        const shown = `${why}; stdin: ${input
          .trim()
          .split('\n')
          .map((l) => (l.startsWith('password=') ? 'password=(hidden)' : l))
          .join(' ')}`
        const r = await run(buildFenceAgentArgv(fence), {input, secrets: secret.password === undefined ? [] : [secret.password]}, shown)
        if (dryRun) return dryResult
        return agentResult(r, fence, action, fenceAgentStatusFromExit(r.exitCode), explainFenceAgentFailure)
      }
      case 'command': {
        const r = await run(buildCommandArgv(fence, action), {env: commandEnv(fence, action, secret.password)})
        if (dryRun) return dryResult
        return agentResult(r, fence, action, commandStatus(r.exitCode, r.stdout), explainCommandFailure)
      }
    }
  } catch (error) {
    // A builder refused bad input (e.g. a line break in an option): report, never throw.
    return fail((error as Error).message.split('\n')[0])
  }
}

function ipmitoolResult(r: AgentRun, fence: Config['fence'], action: FenceAction): FenceResult {
  if (r.exitCode !== 0 || r.timedOut) return fail(explainIpmitoolFailure(r, fence))
  if (action === 'status') {
    const power = parseIpmitoolPower(r.stdout)
    if (power === 'unknown') return fail(`BMC ${bmcLabel(fence)}: unexpected ipmitool output "${lastLine(r.stdout)}"`)
    return {ok: true, power, detail: `BMC ${bmcLabel(fence)}: ${lastLine(r.stdout)}`}
  }
  return {ok: true, power: claimedPower(action), detail: `BMC ${bmcLabel(fence)}: ${lastLine(r.stdout) || `power ${action} accepted`}`}
}

function agentResult(
  r: AgentRun,
  fence: Config['fence'],
  action: FenceAction,
  status: PowerState | undefined,
  explain: (r: AgentRun, fence: Config['fence']) => string,
): FenceResult {
  if (r.timedOut) return fail(explain(r, fence))
  if (action === 'status') {
    if (status === undefined) return fail(explain(r, fence))
    return {ok: true, power: status, detail: `BMC ${bmcLabel(fence)}: power is ${status}`}
  }
  if (r.exitCode !== 0) return fail(explain(r, fence))
  return {ok: true, power: claimedPower(action), detail: `BMC ${bmcLabel(fence)}: ${lastLine(r.stdout) || `power ${action} accepted`}`}
}

function explainCommandFailure(r: AgentRun, fence: Config['fence']): string {
  const where = `fence command ${fence.command?.[0] ?? ''}`
  if (r.exitCode === 127) return `${where} was not found`
  if (r.timedOut) return `${where} did not finish within ${r.durationMs} ms (killed)`
  const line = lastLine(`${r.stdout}\n${r.stderr}`)
  return `${where} exited ${r.exitCode}${line ? `: ${line}` : ''}`
}

/** What a successful change claims; 'off' is verified by the caller with a status. */
function claimedPower(action: FenceAction): PowerState {
  if (action === 'off') return 'off'
  if (action === 'on') return 'on'
  return 'unknown'
}

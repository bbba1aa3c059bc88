/**
 * ensurePeerFenced: drive the peer's power to the wanted state through its BMC and prove it.
 * Idempotent: power already off → nothing done (changed:false). After 'off' a status must
 * report off before we call the peer fenced — "the BMC accepted the command" is not enough.
 */
import type {Config} from '../config/schema.js'
import {StepFailedError} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import {bmcLabel} from '../system/fence-argv.js'
import {fencePower, type PowerState} from '../system/fence.js'
import type {StepOutcome} from './types.js'

export type FencePeerAction = 'off' | 'reboot' | 'status' | 'on'

export interface FenceAttempt {
  attempt: number
  ok: boolean
  power: PowerState
  detail: string
  elapsedMs: number
}

export interface EnsurePeerFencedOptions {
  action: FencePeerAction
  /** Keep trying (backoff 0.5 s doubling to 5 s) until success or maxWaitMs; else one attempt. */
  retry: boolean
  maxWaitMs: number
  /** Called after every attempt (the watch loop logs these). */
  onAttempt?: (a: FenceAttempt) => void
  /** Wait this long before the first change (fence.delay; the watch loop passes it). */
  delayMs?: number
}

export type FencePeerOutcome = StepOutcome & {power: PowerState; attempts: number; action: FencePeerAction; bmc: string}

const BACKOFF_START_MS = 500
const BACKOFF_MAX_MS = 5000
const VERIFY_POLL_MS = 250

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)))

/** Backoff before attempt n+1 (n ≥ 1): 0.5 s, 1 s, 2 s, 4 s, 5 s, 5 s … Pure. */
export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.max(0, attempt - 1))
}

interface AttemptResult {
  ok: boolean
  changed: boolean
  power: PowerState
  detail: string
}

/** One bounded attempt: status → change if needed → verify. Every call shares the deadline. */
async function attemptOnce(ctx: SystemContext, cfg: Config, action: FencePeerAction, deadline: number): Promise<AttemptResult> {
  const left = () => deadline - Date.now()
  const fence = cfg.fence
  if (action === 'reboot') {
    const r = await fencePower(ctx, fence, 'reboot', {timeoutMs: left()})
    return {ok: r.ok, changed: r.ok && !ctx.dryRun, power: r.power, detail: r.detail}
  }
  const before = await fencePower(ctx, fence, 'status', {timeoutMs: left()})
  if (!before.ok) return {...before, changed: false}
  if (action === 'status' || before.power === action) return {...before, changed: false}

  const r = await fencePower(ctx, fence, action, {timeoutMs: left()})
  if (!r.ok) return {...r, changed: false}
  if (ctx.dryRun) return {ok: true, changed: false, power: before.power, detail: r.detail}

  // Verify: the BMC said yes; now the power must actually read as wanted.
  let last = r.detail
  for (;;) {
    const s = await fencePower(ctx, fence, 'status', {timeoutMs: left()})
    if (s.ok && s.power === action) return {ok: true, changed: true, power: s.power, detail: r.detail}
    last = s.ok ? `BMC accepted power ${action} but status still reports ${s.power}` : s.detail
    if (left() <= VERIFY_POLL_MS) return {ok: false, changed: true, power: s.power, detail: last}
    await sleep(VERIFY_POLL_MS)
  }
}

/**
 * Bring the peer's power to `action` (or read it for 'status'). Without retry: one attempt
 * bounded by fence.timeout. With retry: attempts with backoff until success or maxWaitMs.
 * Throws StepFailedError (exit 1) naming the BMC and the last detail when it cannot.
 */
export async function ensurePeerFenced(ctx: SystemContext, cfg: Config, opts: EnsurePeerFencedOptions): Promise<FencePeerOutcome> {
  const {action} = opts
  const bmc = `${cfg.fence.agent} ${bmcLabel(cfg.fence)}`
  const peer = `${cfg.peer.name} (${cfg.peer.address})`
  if (opts.delayMs && opts.delayMs > 0 && action !== 'status' && !ctx.dryRun) {
    ctx.log.info(`waiting ${opts.delayMs} ms (fence.delay) before fencing ${peer}`)
    await sleep(opts.delayMs)
  }
  const started = Date.now()
  const giveUpAt = started + (opts.retry ? Math.max(opts.maxWaitMs, 0) : cfg.fence.timeout)
  let attempt = 0
  let changedAny = false
  let last: AttemptResult = {ok: false, changed: false, power: 'unknown', detail: 'not attempted'}
  for (;;) {
    attempt++
    const deadline = Math.min(Date.now() + cfg.fence.timeout, giveUpAt)
    last = await attemptOnce(ctx, cfg, action, deadline)
    changedAny ||= last.changed
    opts.onAttempt?.({attempt, ok: last.ok, power: last.power, detail: last.detail, elapsedMs: Date.now() - started})
    if (last.ok) break
    const wait = backoffMs(attempt)
    if (!opts.retry || cfg.fence.agent === 'none' || Date.now() + wait >= giveUpAt) {
      const tried = `${attempt} attempt${attempt === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(1)} s`
      const what = action === 'status' ? 'read the power status of' : `power ${action}`
      throw new StepFailedError(
        `cannot ${what} peer ${peer} via BMC ${bmc} (${tried}): ${last.detail}`,
        cfg.fence.agent === 'none'
          ? 'configure fence.agent (ipmitool, fence-agent or command); see docs/commands.md "Fencing"'
          : 'check fence.address, fence.port, fence.user and the password; `pgha fence-peer --action status` tests them',
      )
    }
    ctx.log.warn(`fence attempt ${attempt} on ${peer} failed, retrying in ${wait} ms: ${last.detail}`)
    await sleep(wait)
  }
  const changed = changedAny && !ctx.dryRun
  return {changed, summary: summarize(action, peer, bmc, last, changed, ctx.dryRun), power: last.power, attempts: attempt, action, bmc}
}

function summarize(action: FencePeerAction, peer: string, bmc: string, r: AttemptResult, changed: boolean, dryRun: boolean): string {
  if (action === 'status') return `peer ${peer} power is ${r.power} (BMC ${bmc})`
  const verb = action === 'reboot' ? 'power-cycle' : `power ${action}`
  if (dryRun && r.power !== action) return `would ${verb} peer ${peer} via BMC ${bmc} (power is ${r.power} now)`
  if (action === 'reboot') return `peer ${peer} power-cycled via BMC ${bmc}`
  if (!changed) return `peer ${peer} power is already ${action} (BMC ${bmc}); nothing to do`
  return `peer ${peer} powered ${action} via BMC ${bmc}, verified by a power status of ${r.power}`
}

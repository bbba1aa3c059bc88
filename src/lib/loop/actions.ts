/**
 * ActionName → the idempotent step that does it. The watch loop runs a Decision's actions
 * through runAction() one by one and stops at the first that throws. Each step is bounded by
 * its own timeouts; actionBoundMs() says how long each may take in the worst case, so the
 * loop knows when a tick has overrun (then systemd's watchdog restarts us).
 */
import type {Config} from '../config/schema.js'
import {StepFailedError} from '../errors.js'
import {ensureArchiveMounted} from '../steps/archive.js'
import {ensureDbRunning, ensureDbStopped} from '../steps/db.js'
import {backoffMs, ensurePeerFenced} from '../steps/fence-peer.js'
import {makeVipPrimaryTaken} from '../steps/guards.js'
import {heartbeat} from '../steps/heartbeat.js'
import {ensurePromoted, promoteGuard} from '../steps/promote.js'
import {ensureRejoinedAsStandby} from '../steps/rejoin.js'
import {type DegradeProof, ensureAsyncDisarmed, ensureSyncArmed, ensureSyncDegraded} from '../steps/sync-replication.js'
import type {StepOutcome} from '../steps/types.js'
import {CLAIM_DAD_MIN_MS, ensureVipClaimed, ensureVipsReleased, IP_TIMEOUT_MS} from '../steps/vip.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {fencePower} from '../system/fence.js'
import {addressOf, arpDuplicateCheck, arpDuplicateWithin, arpingKillAfterMs, ipAddrDelArgv, localAddressEntries} from '../system/net.js'
import {PGCTL_SLACK_MS} from '../system/pgctl.js'
import {type ActionName, type Decision, FENCE_TRIES_PER_TICK} from '../core/types.js'

/** Bound of one rejoin inside the loop (a full pg_basebackup of a big cluster takes a while). */
const REJOIN_TIMEOUT_MS = 30 * 60_000

/** Worst-case duration of one action (its steps' own timeouts added up, plus slack). Pure. */
export function actionBoundMs(cfg: Config, action: ActionName, decision?: Pick<Decision, 'fenceTries'>): number {
  const pgStep = cfg.postgres.stepTimeout + PGCTL_SLACK_MS + 10_000
  const dad = arpingKillAfterMs(Math.ceil(Math.max(CLAIM_DAD_MIN_MS, cfg.timing.probeTimeout) / 1000))
  switch (action) {
    case 'mountArchive':
      return cfg.archive.timeout + 5000
    case 'startDb':
      return pgStep + dad
    case 'stopDb':
      return pgStep
    case 'claimVipPrimary':
    case 'claimVipStandby':
      return dad + 3 * IP_TIMEOUT_MS + arpingKillAfterMs(Math.max(1, cfg.network.arpCount))
    case 'releaseVipPrimary':
    case 'releaseVipStandby':
      return 5 * IP_TIMEOUT_MS
    case 'fencePeer': {
      const tries = decision?.fenceTries ?? FENCE_TRIES_PER_TICK
      return tries * (cfg.fence.timeout + backoffMs(tries)) + 5000
    }
    case 'promote':
      // The guard asks the BMC and ARP, then pg_ctl promote and the waits share stepTimeout.
      return cfg.fence.timeout + dad + 2 * pgStep
    case 'rejoin':
      return REJOIN_TIMEOUT_MS + pgStep
    case 'writeHeartbeat':
      return 2 * cfg.timing.probeTimeout + 2000
    case 'armSync':
    case 'disarmSync':
      // Read, ALTER SYSTEM + reload, wait until taken; psql as a fallback.
      return 3 * cfg.replication.sqlTimeout + 5000
    case 'degradeSync':
      // Plus a BMC status query when this tick did not fence.
      return cfg.fence.timeout + 3 * cfg.replication.sqlTimeout + 5000
  }
}

export interface ActionHooks {
  /** Every fence attempt, for the log. */
  onFenceAttempt?: (line: string) => void
  warn?: (line: string) => void
}

const arpTimeout = (cfg: Config) => Math.max(CLAIM_DAD_MIN_MS, cfg.timing.probeTimeout)

/**
 * After a verified power-off one DAD probe with a 100 ms reply window, sent once the fence is
 * verified (so the old primary cannot be the one keeping quiet), runs beside the promotion: a
 * host on the link answers ARP in milliseconds (11–34 ms in the namespace test, arping's start
 * included, also with both cores saturated), and any reply still refuses the claim. No verdict in the window (probe
 * not sent) refuses it too. The promotion and degrade take about as long, so the claim waits
 * little for it.
 */
export const POST_FENCE_ARP_WINDOW_MS = 100

/**
 * What one action of a decision hands to a later one of the same decision. The loop makes a
 * fresh one per decision and passes it to every runAction() call: data moves explicitly.
 */
export interface ActionCarry {
  /**
   * VIP-M duplicate check started by fencePeer once the power-off is verified, when the same
   * decision claims VIP-M, so it runs during the promotion and the claim needs no ARP window
   * of its own. The claim runs only if the fence succeeded (actions stop at the first
   * failure), and an ARP reply from any host during the check refuses the claim.
   */
  vipMCheck?: Promise<{state: 'free' | 'taken' | 'unknown'; detail: string}>
  /** Set by fencePeer once the peer's power-off is verified: degradeSync's proof. */
  fenceVerified?: true
}

/**
 * Why degradeSync may clear synchronous_standby_names, or undefined (the step then refuses).
 * A fence verified by this decision; else this node was a standby when the decision was made
 * (a new primary has no commit waiting for a standby); else the BMC saying off right now.
 */
async function degradeProof(
  ctx: SystemContext,
  cfg: Config,
  decision: {actions?: readonly ActionName[]; memory?: {role?: string}},
  carry: ActionCarry,
): Promise<DegradeProof | undefined> {
  if (carry.fenceVerified) return {kind: 'fence-verified', detail: `${cfg.peer.name} is powered off, verified by this tick's fence`}
  if (decision.memory?.role === 'standby' || decision.actions?.includes('promote'))
    return {kind: 'new-primary', detail: 'this node was just promoted: no commit of it waits for a standby'}
  if (cfg.fence.agent === 'none') return undefined
  try {
    const st = await fencePower(ctx, cfg.fence, 'status', {timeoutMs: cfg.fence.timeout})
    if (st.ok && st.power === 'off') return {kind: 'power-off', detail: `${cfg.peer.name}'s BMC says power is off`}
  } catch {
    // no proof
  }
  return undefined
}

/** Run one action; resolves with the step's outcome, throws (PghaError) when it did not reach its goal. */
export async function runAction(
  ctx: SystemContext,
  cfg: Config,
  action: ActionName,
  decision: Pick<Decision, 'fenceTries'> & {actions?: readonly ActionName[]; memory?: {role?: string}},
  hooks: ActionHooks = {},
  carry: ActionCarry = {},
): Promise<StepOutcome> {
  const vipM = addressOf(cfg.network.vipPrimary)
  const vipPrimaryState = () => arpDuplicateCheck(ctx, cfg.network.interface, vipM, arpTimeout(cfg))
  switch (action) {
    case 'mountArchive':
      return ensureArchiveMounted(ctx, cfg)
    case 'startDb':
      return ensureDbRunning(ctx, cfg, {vipPrimaryTaken: makeVipPrimaryTaken(cfg, vipPrimaryState)})
    case 'stopDb':
      return ensureDbStopped(ctx, cfg, {mode: 'fast'})
    case 'claimVipPrimary': {
      const arpCheck = carry.vipMCheck
      carry.vipMCheck = undefined // one claim per check
      return ensureVipClaimed(ctx, cfg, 'primary', {arpCheck, announce: 'beside'})
    }
    case 'claimVipStandby':
      return ensureVipClaimed(ctx, cfg, 'standby', {announce: 'beside'})
    case 'releaseVipPrimary':
      return releaseVipPrimaryOnly(ctx, cfg)
    case 'releaseVipStandby':
      return ensureVipsReleased(ctx, cfg)
    case 'fencePeer': {
      const fenced = await fenceWithTries(ctx, cfg, decision.fenceTries ?? FENCE_TRIES_PER_TICK, hooks)
      carry.fenceVerified = true
      if ((decision.actions ?? []).includes('claimVipPrimary') && !ctx.dryRun) {
        const check = arpDuplicateWithin(ctx, cfg.network.interface, vipM, POST_FENCE_ARP_WINDOW_MS)
        check.catch(() => undefined) // consumed by claimVipPrimary; never an unhandled rejection
        carry.vipMCheck = check
      }
      return fenced
    }
    case 'armSync':
      return ensureSyncArmed(ctx, cfg)
    case 'disarmSync':
      return ensureAsyncDisarmed(ctx, cfg)
    case 'degradeSync':
      return ensureSyncDegraded(ctx, cfg, await degradeProof(ctx, cfg, decision, carry))
    case 'promote': {
      // This decision's fencePeer verified the power-off moments ago: asking the BMC again
      // would only add its round trip to the failover.
      const guard = carry.fenceVerified
        ? async () => ({allowed: true, why: "peer power is off (verified by this tick's fence)"})
        : promoteGuard(ctx, cfg, (m) => (hooks.warn ?? ctx.log.warn)(m))
      return ensurePromoted(ctx, cfg, {guard, checkpoint: false, via: 'heartbeat', restoreCommand: 'off-if-nfs'})
    }
    case 'rejoin':
      return ensureRejoinedAsStandby(ctx, cfg, {timeoutMs: REJOIN_TIMEOUT_MS})
    case 'writeHeartbeat': {
      const r = await heartbeat(ctx, cfg, 'local', {timeoutMs: 2 * cfg.timing.probeTimeout})
      if (!r.ok) throw new StepFailedError(`heartbeat write on the local database failed after ${r.latencyMs} ms: ${r.error}`)
      return {changed: r.role === 'primary' && !r.rolledBack, summary: `heartbeat written (${r.role}, ${r.latencyMs} ms)`}
    }
  }
}

/**
 * Up to `tries` attempts this tick, without fence.delay (decide() already waited it), each
 * bounded by fence.timeout; a short backoff between them. More attempts come on later ticks.
 */
async function fenceWithTries(ctx: SystemContext, cfg: Config, tries: number, hooks: ActionHooks): Promise<StepOutcome> {
  let last: unknown
  for (let i = 1; i <= Math.max(1, tries); i++) {
    try {
      return await ensurePeerFenced(ctx, cfg, {
        action: 'off',
        retry: false,
        maxWaitMs: 0,
        onAttempt: (a) =>
          hooks.onFenceAttempt?.(
            `fence attempt ${i} of ${tries} on ${cfg.peer.name}: ${a.ok ? 'power is off' : 'failed'} after ${a.elapsedMs} ms (${a.detail})`,
          ),
      })
    } catch (error) {
      last = error
      if (i < tries) await new Promise((r) => setTimeout(r, backoffMs(i)))
    }
  }
  throw last
}

/**
 * Release VIP-M only (a standby that holds it; a primary that yields). vip.ts releases VIP-S
 * or both; here VIP-S must stay. Falls back to releasing both when VIP-M is the first address
 * of its subnet (vip.ts then keeps the others with promote_secondaries).
 */
async function releaseVipPrimaryOnly(ctx: SystemContext, cfg: Config): Promise<StepOutcome> {
  const iface = cfg.network.interface
  const ip = addressOf(cfg.network.vipPrimary)
  const entries = await localAddressEntries(ctx, iface, IP_TIMEOUT_MS)
  const held = entries.find((e) => e.family === 'inet' && e.address === ip)
  if (!held) return {changed: false, summary: `VIP-M ${ip} is not held on ${iface}; nothing to do`}
  if (!held.secondary) return ensureVipsReleased(ctx, cfg, {all: true})
  const del = await ctx.change(
    ipAddrDelArgv(iface, `${held.address}/${held.prefix}`),
    {timeoutMs: IP_TIMEOUT_MS, privileged: true},
    `release VIP-M from ${iface}`,
  )
  if (del.exitCode !== 0 || del.timedOut) {
    const still = (await localAddressEntries(ctx, iface, IP_TIMEOUT_MS)).some((e) => e.address === ip)
    if (still) throw new StepFailedError(`cannot remove VIP-M ${ip} from ${iface}: ${describeFailure(del)}`, 'check that pgha runs as root')
  }
  return {changed: !ctx.dryRun, summary: `${ctx.dryRun ? 'would release' : 'released'} VIP-M ${ip} from ${iface}`}
}

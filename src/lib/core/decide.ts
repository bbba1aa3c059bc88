/**
 * decide(): the pure heart of `pgha watch`. No I/O, no clock (the caller passes `now`), no
 * randomness. It walks the transition table and turns the first matching row into a
 * Decision; the loop runs the actions in order, stops at the first failure, and commits
 * `next` only when all succeeded (like pg_auto_failover: the role changes after the action).
 */
import type {Config} from '../config/schema.js'
import {type Ctx, unfenced} from './facts.js'
import {type Transition, TRANSITIONS} from './transitions.js'
import {
  type Decision,
  FENCE_TRIES_PER_TICK,
  FRESH_MEMORY,
  type NodeMemory,
  type Observations,
  type Role,
  type TickOutcome,
} from './types.js'

/** No row matched: the table has a hole. Loud on purpose — never a silent no-op. */
export class NoTransitionError extends Error {
  constructor(role: Role, obs: Observations) {
    super(
      `no transition matches role ${role} (gateway ${obs.gateway}, local heartbeat ${obs.local.heartbeat}, ` +
        `VIP-M here ${obs.vipPrimary.heldLocally}, VIP-S here ${obs.vipStandby.heldLocally}): the transition table has a hole`,
    )
    this.name = 'NoTransitionError'
  }
}

/** Counters belong to the role they were kept under: a new role starts them afresh. */
function enterRole(role: Role, memory: NodeMemory | undefined, now: number): NodeMemory {
  const m = {...FRESH_MEMORY, ...memory}
  if (m.role === role && m.since !== undefined) return m
  return {...FRESH_MEMORY, role, since: now}
}

function matchRow(role: Role, ctx: Ctx): Transition {
  for (const row of TRANSITIONS) {
    if (row.from.includes(role) && row.when(ctx)) return row
  }
  throw new NoTransitionError(role, ctx.obs)
}

/**
 * `memory` and `previous` are the loop's own memory (counters of this role; what it did with the
 * last decision), passed in explicitly: Observations hold only what the probes saw this tick.
 */
export function decide(role: Role, obs: Observations, cfg: Config, now: number, memory?: NodeMemory, previous?: TickOutcome): Decision {
  const ctx: Ctx = {role, obs, cfg, now, mem: enterRole(role, memory, now)}
  const row = matchRow(role, ctx)
  let reason = typeof row.reason === 'string' ? row.reason : row.reason(ctx)
  let actions = [...row.actions]
  let severity = row.severity ?? 'info'
  if (actions.includes('fencePeer') && unfenced(cfg)) {
    // Only reachable with fence.agent none + allowUnfencedPromotion (rows have .no-fence twins otherwise).
    actions = actions.filter((a) => a !== 'fencePeer')
    reason = `NOT FENCING (fence.agent none, fence.allowUnfencedPromotion true) — the peer may still be running: ${reason}`
    severity = 'alert'
  }
  const prev = previous
  if (prev?.failed && prev.rule === row.id) {
    reason += `; the last try failed at ${prev.failed.action}: ${prev.failed.error}`
    if (severity === 'info') severity = 'warn'
  }
  const next = row.to === 'same' ? role : row.to
  const decision: Decision = {next, reason, rule: row.id, actions, memory: (row.memory ?? ((c: Ctx) => c.mem))(ctx), severity}
  if (row.wait) decision.wait = row.wait(ctx)
  if (actions.includes('fencePeer')) decision.fenceTries = FENCE_TRIES_PER_TICK
  return decision
}

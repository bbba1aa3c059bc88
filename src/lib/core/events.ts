/**
 * Pure: what one tick means for monitoring and paging, as events for the hooks (hooks.ts runs
 * them). Derived from the tick's decision only (rule id, actions done/failed, role before and
 * after), so the same tick always yields the same events. Conditions that last (standing down,
 * an alert, a switchover) are reported once, when the rule first matches, not every tick.
 */
import type {ActionName, Role, Severity} from './types.js'

export const EVENT_NAMES = [
  'role_change',
  'failover',
  'standby_lost',
  'failback',
  'fence',
  'fence_failed',
  'rejoin',
  'switchover',
  'degrade',
  'rearm',
  'stand_down',
  'alert',
] as const
export type EventName = (typeof EVENT_NAMES)[number]

/** What events() reads from a tick (a TickReport has all of it). */
export interface TickSummary {
  at: string
  from: Role
  role: Role
  committed: boolean
  rule: string
  reason: string
  severity: Severity
  done: ActionName[]
  failed?: {action: ActionName; error: string}
  dryRun?: boolean
}

export interface PghaEvent {
  event: EventName
  cluster: string
  node: string
  peer: string
  /** The role after the event (the old one when the tick's actions failed). */
  role: Role
  previousRole: Role
  rule: string
  reason: string
  severity: Severity
  /** ISO time of the tick. */
  time: string
  done: ActionName[]
  failed?: {action: ActionName; error: string}
}

/**
 * Rules that are an event when their tick commits. Rule ids of synchronous replication:
 * a rule whose last segment is `degrade…` or `rearm…` (e.g. `primary.degrade-sync`) emits
 * degrade or rearm; exact ids may be added here.
 */
const RULE_EVENTS: Readonly<Record<string, EventName>> = {
  'standby.failover': 'failover',
  'standby.promoted-claim': 'failover',
  'primary.fence-standby': 'standby_lost',
  'primary_standby.failback': 'failback',
}

/** Rules that are reported once when they start matching (they repeat every tick while true). */
const ONSET_EVENTS: Readonly<Record<string, EventName>> = {
  'any.switchover': 'switchover',
  'any.stand-down': 'stand_down',
}

export function ruleEvent(rule: string): EventName | undefined {
  if (RULE_EVENTS[rule]) return RULE_EVENTS[rule]
  const last =
    rule
      .replace(/\.no-fence$/, '')
      .split('.')
      .pop() ?? ''
  if (/^degrade(\b|-|$)/.test(last)) return 'degrade'
  if (/^rearm(\b|-|$)/.test(last)) return 'rearm'
  return undefined
}

/**
 * The events of one tick, in the order a pager wants them (the cause before its effects).
 * `previousRule` is the rule of the tick before (undefined on the first tick).
 * A dry run changes nothing, so it has no events.
 */
export function tickEvents(
  t: TickSummary,
  previousRule: string | undefined,
  who: {cluster: string; node: string; peer: string; syncMode?: boolean},
): PghaEvent[] {
  if (t.dryRun) return []
  const names: EventName[] = []
  const add = (e: EventName) => {
    if (!names.includes(e)) names.push(e)
  }
  const onset = previousRule !== t.rule
  if (t.failed?.action === 'fencePeer') add('fence_failed')
  if (t.done.includes('fencePeer')) add('fence')
  const ruled = ruleEvent(t.rule)
  if (ruled && t.committed) add(ruled)
  if (ONSET_EVENTS[t.rule] && onset) add(ONSET_EVENTS[t.rule])
  if (t.done.includes('rejoin')) add('rejoin')
  // Synchronous replication: the primary stopped waiting for its (fenced) standby, or waits again.
  if (who.syncMode !== false && t.done.includes('degradeSync')) add('degrade')
  if (t.done.includes('armSync')) add('rearm')
  if (t.committed && t.role !== t.from) add('role_change')
  // An alert a human should see: a new alert condition, or any step that failed.
  if ((t.severity === 'alert' && onset) || (t.failed && t.failed.action !== 'fencePeer')) add('alert')
  return names.map((event) => ({
    event,
    cluster: who.cluster,
    node: who.node,
    peer: who.peer,
    role: t.role,
    previousRole: t.from,
    rule: t.rule,
    reason: t.failed ? `${t.reason} (${t.failed.action} failed: ${t.failed.error})` : t.reason,
    severity: t.severity,
    time: t.at,
    done: t.done,
    ...(t.failed ? {failed: t.failed} : {}),
  }))
}

/** The environment a hook gets (the same facts as the JSON on its stdin). */
export function eventEnv(e: PghaEvent): Record<string, string> {
  return {
    PGHA_EVENT: e.event,
    PGHA_CLUSTER: e.cluster,
    PGHA_NODE: e.node,
    PGHA_PEER: e.peer,
    PGHA_ROLE: e.role,
    PGHA_PREVIOUS_ROLE: e.previousRole,
    PGHA_RULE: e.rule,
    PGHA_REASON: e.reason,
    PGHA_TIME: e.time,
    PGHA_SEVERITY: e.severity,
  }
}

/** Does a hook with this `on` list want the event? (no list: every event) */
export function hookWants(on: readonly EventName[] | undefined, event: EventName): boolean {
  return !on || on.length === 0 || on.includes(event)
}

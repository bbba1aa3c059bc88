import {setFrozen, setIsolated} from './faults.js'
import {countWritableWithVipM, observedRole, type Sample} from './figures.js'
import {powerOnDirect, powerState} from './host.js'
import {labBmcRuns, startLabBmc} from './bmcs.js'
import {labDown, labUp, readManifest, waitStreaming} from './lab.js'
import {LAB_NODES, type LabNode} from './layout.js'
import type {Drill} from './drill.js'

/**
 * The steady state every drill scenario and lab bench starts from (one primary with VIP-M,
 * one standby with VIP-S, both watches agreeing), and how to get back to it after a fault.
 */

export interface Roles {
  primary: LabNode
  standby: LabNode
}

export function describe(s: Sample): string {
  return LAB_NODES.map((n) => `${n} ${observedRole(s.hosts[n])}${s.hosts[n].on && !s.hosts[n].watch ? ' (no watch)' : ''}`).join(', ')
}

/** How long both watches must have agreed on their roles before a fault (the primary has then written fresh heartbeats with the standby's lag). */
export const SETTLE_MS = 5000

/**
 * Steady: one primary with VIP-M only, one standby with VIP-S only; when the lab runs watch,
 * both watches also say so in their state files and have for SETTLE_MS (a standby that never
 * saw its lag refuses to promote, rightly: a drill must not start before that).
 */
export function steadyRoles(s: Sample, needWatch: boolean): Roles | undefined {
  const roles = LAB_NODES.map((n) => observedRole(s.hosts[n]))
  const p = LAB_NODES.find((n, i) => roles[i] === 'primary')
  const sb = LAB_NODES.find((n, i) => roles[i] === 'standby' && s.hosts[n].vipS && !s.hosts[n].vipM)
  if (!p || !sb || countWritableWithVipM(s) !== 1) return undefined
  if (needWatch) {
    const settled = (n: LabNode, role: string) =>
      s.hosts[n].watch && s.hosts[n].watchRole === role && s.t - (s.hosts[n].watchSince ?? s.t) >= SETTLE_MS
    if (!settled(p, 'primary') || !settled(sb, 'standby')) return undefined
  }
  return {primary: p, standby: sb}
}

/** Undo every fault the drill can inject, power everything on, and wait for the steady state. */
export async function restoreSteady(d: Drill, limitMs = 120_000): Promise<Roles | undefined> {
  const lab = d.lab
  const watch = readManifest(lab)?.watch ?? false
  const now = await d.sample()
  const already = steadyRoles(now, watch)
  if (already) return already
  d.note(`restoring the steady state (now: ${describe(now)})`)
  for (const n of LAB_NODES) {
    if (!labBmcRuns(lab, n))
      await startLabBmc(lab, n)
        .then(() => d.note(`BMC of ${n} started again`))
        .catch((e) => d.note(`BMC of ${n}: ${(e as Error).message}`))
    await setIsolated(lab, n, false).catch(() => undefined)
    if (powerState(lab.hosts[n]).on) {
      try {
        setFrozen(lab, n, false)
      } catch {}
    }
  }
  for (const n of LAB_NODES) {
    if (!powerState(lab.hosts[n]).on) {
      d.note(`power on ${n}`)
      await powerOnDirect(lab.hosts[n])
    }
  }
  let roles: Roles | undefined
  const took = await d.until(
    'steady state (one primary with VIP-M, one standby with VIP-S, both watches agreeing)',
    limitMs,
    (s) => (roles = steadyRoles(s, watch)) !== undefined,
    {record: false},
  )
  if (took !== undefined && roles) {
    d.note(`steady again after ${(took / 1000).toFixed(1)} s: ${roles.primary} primary, ${roles.standby} standby`)
    return roles
  }
  return undefined
}

/** Steady state, rebuilding the lab from scratch when it cannot get there by itself. */
export async function ensureSteady(d: Drill): Promise<Roles | undefined> {
  const roles = await restoreSteady(d)
  if (roles) return roles
  d.note('no steady state within the limit: rebuilding the lab (lab down + lab up)')
  d.say('  (rebuilding the lab to get a clean steady state)')
  await labDown(d.lab)
  await labUp(d.lab)
  await waitStreaming(d.lab, readManifest(d.lab)?.bindir ?? '/usr/lib/postgresql/15/bin', 30_000).catch(() => undefined)
  return restoreSteady(d, 60_000)
}

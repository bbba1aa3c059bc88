/**
 * Does network.interface exist on this host? Asked through the exec layer (`ip link show`),
 * so it answers for the network namespace pgha's commands run in. A missing device is a
 * configuration error that every ARP probe would otherwise report as "no answer".
 */
import {UsageError} from '../errors.js'
import type {RunResult, SystemContext} from './exec.js'

export type DeviceState = 'yes' | 'no' | 'unknown'

function ipLinkShowArgv(iface: string): string[] {
  return ['ip', 'link', 'show', 'dev', iface]
}

/** Pure: ip's answer → the device exists (yes), does not (no), or ip could not tell (unknown). */
export function classifyLinkShow(r: Pick<RunResult, 'exitCode' | 'stderr' | 'timedOut'>): DeviceState {
  if (r.timedOut) return 'unknown'
  if (r.exitCode === 0) return 'yes'
  return /does not exist|Cannot find device/i.test(r.stderr) ? 'no' : 'unknown'
}

export async function interfaceState(ctx: SystemContext, iface: string, timeoutMs: number): Promise<DeviceState> {
  return classifyLinkShow(await ctx.probe(ipLinkShowArgv(iface), {timeoutMs: Math.max(500, timeoutMs)}))
}

export function missingInterfaceError(iface: string): UsageError {
  return new UsageError(`network.interface ${iface} does not exist on this host`, 'fix network.interface (ip link lists the names)')
}

/** Steps that touch the interface call this first: exit 2, nothing changed, when it is missing. */
export async function ensureInterfaceExists(ctx: SystemContext, iface: string, timeoutMs: number): Promise<void> {
  if ((await interfaceState(ctx, iface, timeoutMs)) === 'no') throw missingInterfaceError(iface)
}

/**
 * For the watch loop: asks at most once per `ttlMs` (a config error does not come and go
 * tick by tick), and only when the caller says something looks wrong.
 */
export class InterfaceCheck {
  private last?: {at: number; state: DeviceState}

  constructor(
    private readonly ctx: SystemContext,
    private readonly iface: string,
    private readonly timeoutMs: number,
    private readonly ttlMs = 10_000,
  ) {}

  async missing(now = Date.now()): Promise<boolean> {
    if (!this.last || now - this.last.at >= this.ttlMs)
      this.last = {at: now, state: await interfaceState(this.ctx, this.iface, this.timeoutMs)}
    return this.last.state === 'no'
  }
}

/**
 * Claim and release the two virtual IPs. Both steps are idempotent: they look at the
 * interface first and only change what differs, so the watch loop and a DBA can run them
 * any number of times.
 *
 * Refusal rules (never claim VIP-M while another host answers ARP for it, docs/design.md):
 * - VIP-M answered by another host → refused (exit 3), --force or not: two writable
 *   primaries behind one address is the split brain pgha exists to prevent.
 * - VIP-S answered by another host → refused (exit 3) unless --force (e.g. the standby is
 *   fenced but something stale still answers); the duplicate is logged loudly.
 * - ARP gave no verdict (arping failed/timed out) → not claimed (exit 1); --force lets
 *   VIP-S through, never VIP-M.
 * Already held here → nothing is changed and nothing is sent (no re-announce), so calling
 * it every tick costs one `ip addr` and no network traffic.
 */
import {sameSubnet, parseIPv4} from '../config/net.js'
import type {Config} from '../config/schema.js'
import {SafetyRefusal, StepFailedError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {
  type AddrEntry,
  addressOf,
  arpDuplicateCheck,
  arpingAnnounceArgv,
  arpingKillAfterMs,
  ipAddrAddArgv,
  ipAddrDelArgv,
  localAddressEntries,
  vipLabel,
  type VipWhich,
} from '../system/net.js'
import type {StepOutcome} from './types.js'
import {ensureInterfaceExists} from '../system/net-device.js'

/** Bound for each `ip` call: they answer in milliseconds unless the host is in trouble. */
export const IP_TIMEOUT_MS = 5000
/** A claim's duplicate check sends at least 2 probes, so one lost packet cannot cause a duplicate IP. */
export const CLAIM_DAD_MIN_MS = 2000

export const vipName = (which: VipWhich) => (which === 'primary' ? 'VIP-M' : 'VIP-S')
export const vipCidr = (cfg: Config, which: VipWhich) => (which === 'primary' ? cfg.network.vipPrimary : cfg.network.vipStandby)

function findHeld(entries: AddrEntry[], ip: string): AddrEntry | undefined {
  return entries.find((e) => e.family === 'inet' && e.address === ip)
}

export interface ClaimOptions {
  force?: boolean
  /**
   * A duplicate-address check the caller already started (the watch loop runs it alongside
   * promote, after the fence). It must have begun after the peer was fenced; it replaces the
   * step's own check so the claim does not wait another CLAIM_DAD_MIN_MS.
   */
  arpCheck?: Promise<{state: 'free' | 'taken' | 'unknown'; detail: string}>
  /** Called once the address is on the interface, before the gratuitous ARP (a switchover times its phases). */
  onAdded?: () => void
  /**
   * 'wait' (default): the step returns after the gratuitous ARPs (about network.arpCount
   * seconds). 'beside': the watch loop's way — the announcement runs on, bounded, beside the
   * loop, and a failure is logged; the address is already serving, so the tick need not wait.
   */
  announce?: 'wait' | 'beside'
}

/** ensureVipClaimed: which address on which device, and how it was checked and announced. */
export interface VipClaimDetails {
  vip: string
  which: VipWhich
  interface: string
  label: string | null
  alreadyHeld: boolean
  /** The duplicate-address check before claiming (absent when already held). */
  arp?: {state: 'free' | 'taken' | 'unknown'; detail: string}
  warnings?: string[]
}

/** ensureVipsReleased: what was released and what was not held here. */
export interface VipReleaseDetails {
  interface: string
  released: {which: VipWhich; vip: string}[]
  notHeld: {which: VipWhich; vip: string}[]
}

export async function ensureVipClaimed(
  ctx: SystemContext,
  cfg: Config,
  which: VipWhich,
  opts: ClaimOptions = {},
): Promise<StepOutcome<VipClaimDetails>> {
  const iface = cfg.network.interface
  await ensureInterfaceExists(ctx, iface, cfg.timing.probeTimeout)
  const cidr = vipCidr(cfg, which)
  const ip = addressOf(cidr)
  const name = vipName(which)
  const label = vipLabel(iface, which)
  const base = {vip: cidr, which, interface: iface, label: label ?? null}

  const held = findHeld(await localAddressEntries(ctx, iface, IP_TIMEOUT_MS), ip)
  if (held) {
    return {changed: false, summary: `${name} ${ip} is already held on ${iface}; nothing to do`, ...base, alreadyHeld: true}
  }

  const arp = opts.arpCheck
    ? await opts.arpCheck
    : await arpDuplicateCheck(ctx, iface, ip, Math.max(CLAIM_DAD_MIN_MS, cfg.timing.probeTimeout))
  const warnings: string[] = []
  if (arp.state === 'taken') {
    if (which === 'primary') {
      throw new SafetyRefusal(
        `${name} ${ip} is ${arp.detail} on ${iface}; refusing to claim it (--force does not apply to VIP-M: two primaries would split the cluster)`,
        'release it on the host that holds it (pgha release-vips --all there) or fence that host, then claim again',
      )
    }
    if (!opts.force) {
      throw new SafetyRefusal(
        `${name} ${ip} is ${arp.detail} on ${iface}; refusing to claim it`,
        'release it on the other host (pgha release-vips there), or pass --force once that host is fenced',
      )
    }
    warnings.push(`${name} ${ip} is ${arp.detail}; claiming it anyway because of --force (duplicate address until the other host lets go)`)
  } else if (arp.state === 'unknown') {
    if (which === 'primary' || !opts.force) {
      throw new StepFailedError(
        `cannot tell whether ${name} ${ip} is free, so it was not claimed: ${arp.detail}`,
        'check that arping is installed and network.interface is up' + (which === 'standby' ? ', or pass --force' : ''),
      )
    }
    warnings.push(`could not check ${name} ${ip} by ARP (${arp.detail}); claiming it anyway because of --force`)
  }
  for (const w of warnings) ctx.log.warn(w)

  const add = await ctx.change(ipAddrAddArgv(iface, cidr, label), {timeoutMs: IP_TIMEOUT_MS, privileged: true}, `claim ${name} on ${iface}`)
  if (add.exitCode !== 0 || add.timedOut) {
    // Lost a race with another claimer on this host: the address is there now, which is the goal.
    if (!findHeld(await localAddressEntries(ctx, iface, IP_TIMEOUT_MS), ip)) {
      throw new StepFailedError(
        `cannot add ${name} ${cidr} to ${iface}: ${describeFailure(add)}`,
        'check network.interface and that pgha runs as root or with sudo -n for ip',
      )
    }
  } else if (!ctx.dryRun && !findHeld(await localAddressEntries(ctx, iface, IP_TIMEOUT_MS), ip)) {
    throw new StepFailedError(`${name} ${cidr} is not on ${iface} after ip addr add succeeded`, 'look at ip addr show dev ' + iface)
  }

  if (!ctx.dryRun) opts.onAdded?.()
  const count = cfg.network.arpCount
  if (count > 0) {
    const failed = (ann: {exitCode: number | null; timedOut?: boolean}) => ann.exitCode !== 0 || ann.timedOut === true
    const announcing = ctx.change(
      arpingAnnounceArgv(iface, ip, count),
      {timeoutMs: arpingKillAfterMs(count), privileged: true},
      `gratuitous ARP: tell neighbours ${name} moved here`,
    )
    if (opts.announce === 'beside' && !ctx.dryRun) {
      announcing.then(
        (ann) => {
          if (failed(ann)) ctx.log.warn(`${name} ${ip} is on ${iface} but the gratuitous ARP failed: ${describeFailure(ann)}`)
        },
        (e: unknown) => ctx.log.warn(`${name} ${ip} is on ${iface} but the gratuitous ARP failed: ${(e as Error).message}`),
      )
    } else {
      const ann = await announcing
      if (failed(ann)) {
        throw new StepFailedError(
          `${name} ${ip} was added to ${iface} but the gratuitous ARP failed: ${describeFailure(ann)}`,
          'neighbours may still send to the old host; run pgha release-vips' +
            (which === 'primary' ? ' --all' : '') +
            ' and claim-vip again',
        )
      }
    }
  }
  const arps = `${count} gratuitous ARP${count === 1 ? '' : 's'}`
  const how =
    count === 0
      ? 'not announced (network.arpCount is 0)'
      : ctx.dryRun
        ? `announce with ${arps}`
        : opts.announce === 'beside'
          ? `announcing with ${arps} beside the loop`
          : `announced with ${arps}`
  return {
    changed: !ctx.dryRun,
    summary: `${ctx.dryRun ? 'would claim' : 'claimed'} ${name} ${cidr} on ${iface}${label ? ` as ${label}` : ''}, ${how}`,
    ...base,
    alreadyHeld: false,
    arp,
    warnings,
  }
}

/** Deleting the first address of a subnet drops the others too unless promote_secondaries is on. */
async function ensurePromoteSecondaries(ctx: SystemContext, iface: string): Promise<void> {
  const key = `net/ipv4/conf/${iface}/promote_secondaries`
  const r = await ctx.probe(['sysctl', '-n', key], {timeoutMs: IP_TIMEOUT_MS}) // readable without root
  if (r.exitCode === 0 && r.stdout.trim() === '1') return
  const set = await ctx.change(
    ['sysctl', '-w', `${key}=1`],
    {timeoutMs: IP_TIMEOUT_MS, privileged: true},
    `keep ${iface}'s other addresses when the VIP (its primary address) goes`,
  )
  if (set.exitCode !== 0)
    throw new StepFailedError(
      `cannot enable promote_secondaries on ${iface}: ${describeFailure(set)}`,
      `releasing the VIP would also remove ${iface}'s other addresses in its subnet; remove it by hand`,
    )
}

/** Releases VIP-S (the failback step), or both VIPs with `all`. Nothing held → nothing done. */
export async function ensureVipsReleased(
  ctx: SystemContext,
  cfg: Config,
  opts: {all?: boolean} = {},
): Promise<StepOutcome<VipReleaseDetails>> {
  const iface = cfg.network.interface
  await ensureInterfaceExists(ctx, iface, cfg.timing.probeTimeout)
  const which: VipWhich[] = opts.all ? ['standby', 'primary'] : ['standby']
  const released: {which: VipWhich; vip: string}[] = []
  const notHeld: {which: VipWhich; vip: string}[] = []
  for (const w of which) {
    const ip = addressOf(vipCidr(cfg, w))
    const entries = await localAddressEntries(ctx, iface, IP_TIMEOUT_MS)
    const held = findHeld(entries, ip)
    if (!held) {
      notHeld.push({which: w, vip: vipCidr(cfg, w)})
      continue
    }
    const value = parseIPv4(held.address)!
    const othersInSubnet = entries.some(
      (e) =>
        e.family === 'inet' &&
        e.address !== held.address &&
        parseIPv4(e.address) !== undefined &&
        sameSubnet(parseIPv4(e.address)!, value, held.prefix),
    )
    if (!held.secondary && othersInSubnet) await ensurePromoteSecondaries(ctx, iface)
    const cidr = `${held.address}/${held.prefix}`
    const del = await ctx.change(
      ipAddrDelArgv(iface, cidr),
      {timeoutMs: IP_TIMEOUT_MS, privileged: true},
      `release ${vipName(w)} from ${iface}`,
    )
    if (del.exitCode !== 0 || del.timedOut) {
      if (findHeld(await localAddressEntries(ctx, iface, IP_TIMEOUT_MS), ip)) {
        throw new StepFailedError(
          `cannot remove ${vipName(w)} ${cidr} from ${iface}: ${describeFailure(del)}`,
          'check that pgha runs as root or with sudo -n for ip',
        )
      }
    }
    released.push({which: w, vip: cidr})
  }
  const verb = ctx.dryRun ? 'would release' : 'released'
  const names = (l: {which: VipWhich; vip: string}[]) => l.map((v) => `${vipName(v.which)} ${addressOf(v.vip)}`).join(' and ')
  const parts = [
    released.length > 0 ? `${verb} ${names(released)} from ${iface}` : '',
    notHeld.length > 0 ? `${names(notHeld)} ${notHeld.length === 1 ? 'is' : 'are'} not held here` : '',
  ].filter(Boolean)
  return {
    changed: !ctx.dryRun && released.length > 0,
    summary: parts.join('; ') + (released.length === 0 ? '; nothing to do' : ''),
    interface: iface,
    released,
    notHeld,
  }
}

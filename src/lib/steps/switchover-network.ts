/** How a switchover half moves this host's VIPs (tests without namespaces pass a recorder). */
import type {Config} from '../config/schema.js'
import type {SystemContext} from '../system/exec.js'
import {arpDuplicateCheck} from '../system/net.js'
import {hostOf} from '../system/pg.js'
import {ensureVipClaimed, ensureVipsReleased, vipCidr} from './vip.js'

/**
 * The promote half's VIP-M duplicate check: 2 ARP probes within 1 s instead of the 2 s of a
 * claim by hand (1 s is arping's floor). The holder is the old primary, which has stopped cleanly
 * and released VIP-M itself (the check runs until it answers no more); still two probes, so one
 * lost packet cannot hide it. It overlaps the proof and the promotion.
 */
export const SWITCHOVER_DAD_MS = 1000

export interface ClaimOpts {
  /** The peer released it in this switchover (the shorter duplicate check). */
  handover?: boolean
  /** Called once the address is on the interface, before the gratuitous ARP. */
  onAdded?: () => void
}

/** VIP moves of this host. Tests without network namespaces pass a recorder (VIPs are then not moved). */
export interface SwitchoverNetwork {
  claim(which: 'primary' | 'standby', opts?: ClaimOpts): Promise<void>
  /** Release VIP-M (the demote half) or VIP-S (the promote half, at the end). */
  release(which: 'primary' | 'standby'): Promise<void>
}

export function vipNetwork(ctx: SystemContext, cfg: Config): SwitchoverNetwork {
  return {
    claim: async (which, opts) => {
      const arpCheck = opts?.handover
        ? arpDuplicateCheck(ctx, cfg.network.interface, hostOf(vipCidr(cfg, which)), SWITCHOVER_DAD_MS, 2)
        : undefined
      await ensureVipClaimed(ctx, cfg, which, {...(arpCheck ? {arpCheck} : {}), onAdded: opts?.onAdded})
    },
    release: async (which) => void (await ensureVipsReleased(ctx, cfg, {all: which === 'primary'})),
  }
}

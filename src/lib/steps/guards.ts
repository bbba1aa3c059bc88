import type {Config} from '../config/schema.js'
import type {PromoteGuard} from './promote.js'
import type {VipCheck} from './db.js'

/**
 * The safety checks that start-db and promote are given. The probes themselves (arping, the
 * fence agent) are injected, so the decision is testable without a network.
 */

export type ArpState = {state: 'free' | 'taken' | 'unknown'; detail: string}
export type PowerState = {ok: boolean; power: 'on' | 'off' | 'unknown'; detail: string}

/** start-db: VIP-M counts as taken unless arping says it is free (unknown is not safe). */
export function makeVipPrimaryTaken(cfg: Config, vipPrimaryState: () => Promise<ArpState>): VipCheck {
  return async () => {
    const a = await settle(vipPrimaryState, (e) => ({state: 'unknown' as const, detail: e}))
    return {taken: a.state !== 'free', detail: `VIP-M ${cfg.network.vipPrimary} ${a.state}: ${a.detail}`}
  }
}

/**
 * promote: allowed when the peer's power is off, or VIP-M is silent on ARP, or (fence.agent
 * none AND fence.allowUnfencedPromotion) — the last one warned about loudly.
 */
export function makePromoteGuard(
  cfg: Config,
  deps: {powerStatus: () => Promise<PowerState>; vipPrimaryState: () => Promise<ArpState>; warn: (msg: string) => void},
): PromoteGuard {
  return async () => {
    if (cfg.fence.agent === 'none' && cfg.fence.allowUnfencedPromotion) {
      deps.warn(
        '!!! PROMOTING WITHOUT FENCING: fence.agent is none and fence.allowUnfencedPromotion is true; if the old primary is alive you get two primaries (split brain) !!!',
      )
      return {allowed: true, why: 'UNFENCED: fence.agent none with allowUnfencedPromotion'}
    }
    let powerWhy = 'no fence agent configured'
    if (cfg.fence.agent !== 'none') {
      const p = await settle(deps.powerStatus, (e) => ({ok: false, power: 'unknown' as const, detail: e}))
      if (p.ok && p.power === 'off') return {allowed: true, why: `peer power is off (${p.detail})`}
      powerWhy = `peer power is ${p.power}${p.ok ? '' : ' (fence status failed)'}: ${p.detail}`
    }
    const a = await settle(deps.vipPrimaryState, (e) => ({state: 'unknown' as const, detail: e}))
    if (a.state === 'free') return {allowed: true, why: `VIP-M ${cfg.network.vipPrimary} is silent on ARP (${a.detail})`}
    return {allowed: false, why: `${powerWhy}; VIP-M ${cfg.network.vipPrimary} is ${a.state} (${a.detail})`}
  }
}

/** A probe that throws counts as an unknown answer, never as permission. */
async function settle<T>(probe: () => Promise<T>, onError: (message: string) => T): Promise<T> {
  try {
    return await probe()
  } catch (error) {
    return onError((error as Error).message.split('\n')[0])
  }
}

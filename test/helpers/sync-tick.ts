/**
 * One watch tick's synchronous-replication part on a real primary: the real Observer's local
 * and sync probes, decide() in an otherwise steady primary snapshot (VIPs are not under test),
 * and the decision's armSync run like the loop runs it.
 */
import type {Config} from '../../src/lib/config/schema.js'
import {decide} from '../../src/lib/core/decide.js'
import {type Decision, FRESH_MEMORY, type SyncObservation} from '../../src/lib/core/types.js'
import {runAction} from '../../src/lib/loop/actions.js'
import {Observer} from '../../src/lib/observe/observe.js'
import {SystemContext} from '../../src/lib/system/exec.js'
import {primaryObs} from './ha-fixtures.js'

export async function syncTick(cfg: Config): Promise<{decision: Decision; sync?: SyncObservation; summary?: string}> {
  const ctx = new SystemContext()
  const observer = new Observer(ctx, cfg, {arp: 'probe'})
  try {
    const o = (await observer.observe()).obs
    const now = Date.now()
    const decision = decide('primary', primaryObs({local: o.local, sync: o.sync}), cfg, now, {
      ...FRESH_MEMORY,
      role: 'primary',
      since: now - 60_000,
    })
    if (!decision.actions.includes('armSync')) return {decision, sync: o.sync}
    const r = await runAction(ctx, cfg, 'armSync', decision)
    return {decision, sync: o.sync, summary: r.summary}
  } finally {
    await observer.close()
  }
}

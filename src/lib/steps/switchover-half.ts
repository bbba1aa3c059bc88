import type pg from 'pg'
import type {Config} from '../config/schema.js'
import {SafetyRefusal} from '../errors.js'
import type {SystemContext} from '../system/exec.js'
import type {PgEndpoint} from '../system/pg.js'
import {defaultSource, type SourceServer} from '../system/rewind.js'
import {ensurePromoted} from './promote.js'
import {closeReadySession} from './switchover-probe.js'
import type {SwitchoverMarker, SwitchoverSide} from './switchover-plan.js'
import {type ClaimOpts, type SwitchoverNetwork, vipNetwork} from './switchover-network.js'
import type {StepOutcome} from './types.js'
import type {HalfOwner} from './switchover-lock.js'

export interface SwitchoverOptions {
  /** Target node name; must be the current standby (default: it is). */
  to?: string
  /** Bound for this host's whole half (default 5 min). */
  timeoutMs?: number
  /** How long to wait for the other host's half at each hand-over point (default 60 s). */
  partnerTimeoutMs?: number
  /** The peer's database (default peer.address:postgres.port). */
  peer?: PgEndpoint
  /** The new primary as the old one reaches it (default VIP-M). */
  source?: SourceServer
  network?: SwitchoverNetwork
  sleep?: (ms: number) => Promise<void>
  /** Who runs the half (the lock says so): `pgha switchover` (default) or `pgha watch`. */
  lockOwner?: HalfOwner
}

export interface SwitchoverOutcome extends StepOutcome {
  side: SwitchoverSide
  id?: string
  plan: string[]
  /** Milliseconds this half saw without a writable primary (demote: stop → peer writable; promote: primary gone → VIP-M claimed). */
  outageMs?: number
  timeline: {at: number; event: string}[]
  /** demote: what the rejoin as a standby reported. */
  rejoin?: string
  /** The old primary's shutdown checkpoint (the new primary replayed it before promoting). */
  shutdownCheckpoint?: string
  /** demote: pg_rewind had to undo WAL the new primary lacks. */
  rewound?: boolean
}

/** What a finished half adds to its outcome. */
type SwitchoverFacts = Pick<SwitchoverOutcome, 'outageMs' | 'rejoin' | 'shutdownCheckpoint' | 'rewound'>

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** One half's state: deadline, timeline of events, the open ready session; the helpers both halves use. */
export class HalfRun {
  readonly started = Date.now()
  readonly deadline: number
  readonly timeline: {at: number; event: string}[] = []
  readonly peer: PgEndpoint
  readonly source: SourceServer
  readonly net: SwitchoverNetwork
  readonly partnerMs: number
  readonly sleep: (ms: number) => Promise<void>
  ready?: pg.Client

  constructor(
    readonly ctx: SystemContext,
    readonly cfg: Config,
    opts: SwitchoverOptions,
    readonly side: SwitchoverSide,
  ) {
    this.deadline = this.started + (opts.timeoutMs ?? 300_000)
    this.peer = opts.peer ?? {kind: 'tcp', host: cfg.peer.address, port: cfg.postgres.port}
    this.source = opts.source ?? defaultSource(cfg)
    this.net = opts.network ?? vipNetwork(ctx, cfg)
    this.partnerMs = opts.partnerTimeoutMs ?? 60_000
    this.sleep = opts.sleep ?? realSleep
  }

  mark(event: string): void {
    this.timeline.push({at: Date.now() - this.started, event})
    this.ctx.log.info(`switchover (${this.side} half): ${event}`)
  }

  async close(): Promise<void> {
    await closeReadySession(this.ready)
    this.ready = undefined
  }

  /** Poll `cond` every `everyMs` until true or `ms` passed (never past the half's deadline). */
  async until(what: string, ms: number, cond: () => Promise<boolean>, everyMs = 100): Promise<boolean> {
    const end = Math.min(Date.now() + ms, this.deadline)
    while (Date.now() < end) {
      if (await cond().catch(() => false)) return true
      await this.sleep(everyMs)
    }
    this.ctx.log.warn(`switchover: gave up waiting for ${what}`)
    return false
  }

  outcome(changed: boolean, summary: string, plan: string[], m?: SwitchoverMarker, extra: SwitchoverFacts = {}): SwitchoverOutcome {
    return {changed, summary, side: this.side, id: m?.id, plan, timeline: this.timeline, ...extra}
  }

  /** pg_ctl promote -w (it returns once the server left recovery), then one check that it is writable. */
  /** The one promotion step; its guard is the proof that the old primary stopped cleanly. */
  async promoteNow(why: string): Promise<void> {
    await ensurePromoted(this.ctx, this.cfg, {
      guard: async () => ({allowed: true, why}),
      checkpoint: false,
      via: 'psql',
      restoreCommand: 'keep',
    })
  }

  /** Claim a VIP, retrying while it is still answered elsewhere (the peer lets go of it in parallel). */
  async claimWithin(which: 'primary' | 'standby', ms: number, opts?: ClaimOpts): Promise<void> {
    const end = Date.now() + ms
    for (;;) {
      try {
        return await this.net.claim(which, opts)
      } catch (error) {
        if (!(error instanceof SafetyRefusal) || Date.now() > end) throw error
        // Still answered elsewhere (arping returns at the first reply, in milliseconds): in a
        // hand-over the old primary lets go any moment, so look again soon.
        await this.sleep(opts?.handover ? 50 : 200)
      }
    }
  }
}

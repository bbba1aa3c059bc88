/**
 * `pgha watch` runs this host's half of a switchover that `pgha switchover` started on the
 * other host: it sees the replicated marker (pgha.cluster_state.switchover) naming this host,
 * and runs the same half a DBA would, beside the loop. The loop keeps ticking meanwhile (its
 * any.switchover row only observes while the marker is set); the half is bounded by its own
 * deadline and hand-over timeouts, and gives up with both roles as they were when the other
 * half does not come. Each marker id is tried once: a half that failed is not re-run.
 */
import type {Config} from '../config/schema.js'
import type {Logger} from '../log.js'
import type {SwitchoverMarker} from '../steps/switchover-plan.js'
import type {SwitchoverOptions, SwitchoverOutcome} from '../steps/switchover.js'

/** Pure: should this host's watch run a half for the marker it sees? Returns why not, or undefined to go. */
export function partnerHalfWanted(
  cfg: Config,
  marker: SwitchoverMarker | undefined,
  now: number,
  tried: ReadonlySet<string>,
): string | undefined {
  if (!marker) return 'no switchover marker'
  if (marker.phase !== 'requested') return `switchover ${marker.id} is past its start (phase ${marker.phase}): the halves already run`
  if (Date.parse(marker.expiresAt) < now) return `switchover ${marker.id} is stale`
  const names = [cfg.node.name, cfg.peer.name]
  if (!names.includes(marker.from) || !names.includes(marker.to) || marker.from === marker.to)
    return `switchover ${marker.id} (${marker.from} → ${marker.to}) is not this pair's`
  if (tried.has(marker.id)) return `this host's half of switchover ${marker.id} already ran`
  return undefined
}

export interface PartnerDeps {
  cfg: Config
  log: Logger
  /** runSwitchover with the context of the watch's actions. */
  run: (opts: SwitchoverOptions) => Promise<SwitchoverOutcome>
  now?: () => number
}

/** Holds the one half this watch may run at a time. */
export class SwitchoverPartner {
  private readonly tried = new Set<string>()
  private running?: Promise<void>
  private readonly now: () => number

  constructor(private readonly deps: PartnerDeps) {
    this.now = deps.now ?? Date.now
  }

  /** A half runs now. */
  get busy(): boolean {
    return this.running !== undefined
  }

  /** After each tick: start this host's half when the marker asks for it. Never waits for the half. */
  consider(marker: SwitchoverMarker | undefined): void {
    if (this.running) return
    const why = partnerHalfWanted(this.deps.cfg, marker, this.now(), this.tried)
    if (why || !marker) return
    this.tried.add(marker.id)
    const {cfg, log} = this.deps
    log.info(`switchover ${marker.id} (${marker.from} → ${marker.to}) requested: pgha watch runs ${cfg.node.name}'s half`, {
      switchover: marker.id,
    })
    const started = this.now()
    this.running = this.deps
      .run({to: marker.to, lockOwner: 'watch'})
      .then(
        (out) =>
          log.info(`switchover ${marker.id}: ${cfg.node.name}'s ${out.side} half done in ${this.now() - started} ms: ${out.summary}`, {
            switchover: marker.id,
            timeline: out.timeline,
          }),
        (error: unknown) => {
          const line = String((error as Error)?.message ?? error).split('\n')[0]
          // The DBA's own pgha switchover runs this host's half: nothing for the watch to do.
          if ((error as Error)?.name === 'HalfLockBusy')
            log.info(`switchover ${marker.id}: ${line}; pgha watch leaves the half to it`, {switchover: marker.id})
          else log.error(`switchover ${marker.id}: ${cfg.node.name}'s half failed: ${line}`, {switchover: marker.id})
        },
      )
      .finally(() => {
        this.running = undefined
      })
  }

  /** Wait for a running half (on exit: SIGTERM lets it finish, bounded by its own deadline). */
  async settle(): Promise<void> {
    await this.running
  }
}

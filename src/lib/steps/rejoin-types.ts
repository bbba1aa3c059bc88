/** What `pgha rejoin` (ensureRejoinedAsStandby) is asked to do and what it reports. */
import type {QuietWindow} from './quiet-window.js'
import type {SourceServer} from '../system/rewind.js'
import type {StepOutcome} from './types.js'

export type RejoinMethod = 'auto' | 'rewind' | 'basebackup'

export interface RejoinOptions {
  /** auto: pg_rewind when possible, pg_basebackup when not or when pg_rewind fails. */
  method?: RejoinMethod
  /** Copy only inside this window; waits at most maxWaitMs for it. */
  window?: QuietWindow
  maxWaitMs?: number
  /** Bound for the whole step, copy included (default 30 min). */
  timeoutMs?: number
  /** Where to copy/stream from; default VIP-M on postgres.port (tests and the lab may override). */
  source?: SourceServer
  /** Called once before the first change (the command asks the DBA here). */
  confirm?: (question: string) => Promise<void>
  now?: () => Date
  sleep?: (ms: number) => Promise<void>
  /**
   * Switchover: this primary was stopped cleanly after the new primary replayed its shutdown
   * checkpoint, so nothing diverged. Without wal_log_hints/checksums (no pg_rewind) only the
   * standby config is written; streaming then proves the histories match (a fork would fail).
   */
  afterCleanStop?: boolean
}

export interface RejoinOutcome extends StepOutcome {
  /** What copied the data: none (already streaming, or clean switchover stop), rewind, basebackup. */
  method: 'none' | 'rewind' | 'basebackup'
  /** Why that method, in one sentence. */
  why: string
  /** pg_rewind found nothing to undo (a cleanly stopped former primary, e.g. after switchover). */
  rewindNotNeeded?: boolean
  /** What pg_rewind reported copying (its --progress total). */
  rewindCopiedKb?: number
  /** Where the previous data directory was moved (basebackup only; never deleted). */
  keptAside?: string
  phases: {name: string; ms: number}[]
  /** Wall time of the whole step (absent under --dry-run). */
  durationMs?: number
}

/** What every step says, whatever else it reports. */
export interface StepBase {
  /** Did the step change anything on the host (false when it was already so, or under --dry-run). */
  changed: boolean
  /** One sentence: what was done or found, and why. */
  summary: string
}

/**
 * What a step returns; commands render it (human or --json), watch logs it. D names the
 * step's own fields (e.g. StepOutcome<PromoteDetails>), so a command's --json envelope is
 * typed end to end.
 */
export type StepOutcome<D extends object = Record<never, never>> = StepBase & D

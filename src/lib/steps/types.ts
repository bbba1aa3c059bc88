/** What every step returns; commands render it (human or --json), watch logs it. */
export interface StepOutcome {
  /** Did the step change anything on the host (false when it was already so, or under --dry-run). */
  changed: boolean
  /** One sentence: what was done or found, and why. */
  summary: string
  [key: string]: unknown
}

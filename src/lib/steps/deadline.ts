import {StepFailedError} from '../errors.js'

/**
 * One deadline for a whole step, shared by its sub-calls: each gets what is left, not a fresh
 * timeout of its own, so the step as a whole ends within its documented bound.
 */
export class Deadline {
  constructor(
    readonly at: number,
    /** The bound as configured, for messages (e.g. "postgres.stepTimeout 10000 ms"). */
    readonly bound: string,
    private readonly now: () => number = Date.now,
  ) {}

  static after(ms: number, bound: string, now: () => number = Date.now): Deadline {
    return new Deadline(now() + ms, bound, now)
  }

  /** Milliseconds left (0 when past). */
  left(): number {
    return Math.max(0, this.at - this.now())
  }

  /**
   * The timeout for the next sub-call: what is left, at most capMs. Throws when nothing is
   * left, naming what could not be done in time.
   */
  budget(what: string, capMs = Number.POSITIVE_INFINITY): number {
    const left = this.left()
    if (left <= 0)
      throw new StepFailedError(
        `out of time before ${what} (${this.bound})`,
        'check the server (is it frozen or overloaded?); raise the bound if it is just slow',
      )
    return Math.min(left, capMs)
  }
}

/** The bound of a PostgreSQL step: postgres.stepTimeout from now. */
export function stepDeadline(stepTimeoutMs: number): Deadline {
  return Deadline.after(stepTimeoutMs, `postgres.stepTimeout ${stepTimeoutMs} ms`)
}

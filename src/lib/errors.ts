/**
 * Exit codes by failure area (like pg_autoctl's defaults.h). Documented in README.
 */
export const EXIT = {
  OK: 0,
  STEP_FAILED: 1,
  USAGE: 2,
  REFUSED: 3,
} as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/**
 * Every error pgha raises on purpose. `message` names the problem, `fix` says what to do;
 * BaseCommand prints them as one line and exits with `exitCode`.
 */
export class PghaError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly fix?: string,
    readonly details?: string[],
  ) {
    super(message)
    this.name = new.target.name
  }

  /** One line for a DBA: the problem, then the fix. */
  oneLine(): string {
    const message = unwrapParseMessage(this.message)
    return this.fix ? `${message} — ${this.fix}` : message
  }
}

/** A step ran and did not reach its goal (exit 1). */
export class StepFailedError extends PghaError {
  constructor(message: string, fix?: string, details?: string[]) {
    super(message, EXIT.STEP_FAILED, fix, details)
  }
}

/** Bad flags, bad config, missing files: nothing was changed (exit 2). */
export class UsageError extends PghaError {
  constructor(message: string, fix?: string, details?: string[]) {
    super(message, EXIT.USAGE, fix, details)
  }
}

/** Config file problems; `details` holds one line per problem (exit 2). */
export class ConfigError extends PghaError {
  constructor(message: string, details: string[] = [], fix?: string) {
    super(message, EXIT.USAGE, fix, details)
  }
}

/** pgha refused to act because acting could break a safety rule (exit 3). */
export class SafetyRefusal extends PghaError {
  constructor(message: string, fix?: string, details?: string[]) {
    super(message, EXIT.REFUSED, fix, details)
  }
}

/**
 * oclif rewrites the message of an error thrown while parsing a flag into
 * "Parsing --flag \n\t<message>\nSee more help with --help"; keep only our one line.
 */
export function unwrapParseMessage(message: string): string {
  const m = /^Parsing --\S+\s*\n\t([\s\S]*?)(?:\nSee more help with --help)?$/.exec(message)
  return m ? m[1] : message
}

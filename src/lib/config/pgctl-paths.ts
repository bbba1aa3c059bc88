import {z} from 'zod'

/**
 * pg_ctl start does not exec the server directly: it builds `exec "<bindir>/postgres" -D
 * "<datadir>" … >> "<logFile>" 2>&1` and hands it to /bin/sh. Inside double quotes the shell
 * still expands `$`, backticks and `\`, and a `"` ends the quoting, so such a character in
 * these paths would run as a command. pg_ctl offers no argv-safe alternative, so refuse them.
 */
const SHELL_ACTIVE = /["$`\\]/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** Pure: why `path` cannot go through pg_ctl's shell command, or undefined when it is safe. */
export function pgCtlPathProblem(path: string): string | undefined {
  const bad = SHELL_ACTIVE.exec(path)?.[0] ?? CONTROL.exec(path)?.[0]
  if (bad === undefined) return undefined
  const shown = CONTROL.test(bad) ? `control character U+${bad.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(bad)
  return `contains ${shown}, which pg_ctl passes to /bin/sh (the shell would interpret it): use a path without " $ \` \\ or control characters`
}

/** A zod refinement for the keys pg_ctl puts into its shell command. */
export function pgCtlSafe<T extends z.ZodType<string>>(schema: T) {
  return schema.superRefine((s, ctx) => {
    const problem = pgCtlPathProblem(s)
    if (problem) ctx.addIssue({code: z.ZodIssueCode.custom, message: problem})
  })
}

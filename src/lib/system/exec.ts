import type {Logger} from '../log.js'
import {silentLogger} from '../log.js'
import {redact, registerSecret, registerSecretEnv} from './redact.js'
import {signalGroup, trackGroup} from './child-groups.js'

export interface RunOptions {
  /**
   * Hard bound: when the child runs longer its whole process group is killed (TERM, then KILL
   * 250 ms later) — runuser/sudo and what they started — so the call returns within it.
   */
  timeoutMs: number
  /** Sent on stdin; the way secrets reach a child (never argv). */
  input?: string
  /** Extra environment; also a way for secrets (e.g. IPMI_PASSWORD). Never logged. */
  env?: Record<string, string | undefined>
  /** Run as this OS user (runuser when pgha is root, nothing when we already are that user). */
  asUser?: string
  /** Needs root (ip, arping, mount): prefixed with `sudo -n` when pgha is not root. */
  privileged?: boolean
  cwd?: string
  /** Secrets this call hands the child some other way (stdin): masked in its output and everywhere pgha prints. */
  secrets?: string[]
  /** Cap on captured stdout/stderr (bytes, each); a child writing more is stopped. Default: execa's. */
  maxBuffer?: number
  /** Aborting it kills the child (TERM, then KILL): e.g. hooks still running at shutdown. */
  signal?: AbortSignal
}

export interface RunResult {
  /** The argv as executed, after runuser/sudo wrapping. */
  argv: string[]
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
  durationMs: number
}

/** The only way pgha starts a process. An interface so pure tests can record calls. */
export interface Exec {
  run(argv: string[], opts: RunOptions): Promise<RunResult>
}

function currentUser(): {uid: number; name: string} {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1
  return {uid, name: process.env.USER ?? ''}
}

/** Pure: the argv actually executed for `argv` given who we are. Unit-tested. */
export function wrapArgv(argv: string[], opts: Pick<RunOptions, 'asUser' | 'privileged'>, me = currentUser()): string[] {
  if (argv.length === 0) throw new Error('empty argv')
  if (opts.asUser && opts.asUser !== me.name) {
    if (me.uid === 0) return ['runuser', '-u', opts.asUser, '--', ...argv]
    return ['sudo', '-n', '-u', opts.asUser, '--', ...argv]
  }
  if (opts.privileged && me.uid !== 0) return ['sudo', '-n', '--', ...argv]
  return argv
}

/** Grace between TERM and KILL of a timed-out process group. */
const KILL_GRACE_MS = 250

export const realExec: Exec = {
  async run(argv, opts) {
    const full = wrapArgv(argv, opts)
    // Loaded on first use: execa is a large share of a CLI start, and checks never run a process.
    const {execa} = await import('execa')
    // Whatever secret this child gets (env, stdin) it may echo back: never let its output carry it.
    registerSecretEnv(opts.env)
    for (const s of opts.secrets ?? []) registerSecret(s)
    const started = performance.now()
    // Own process group, killed as a whole on timeout: killing only the direct child is not
    // enough — runuser waits 2 s after a TERM before it kills its child, and a grandchild
    // that keeps our pipes open would hold the call until it exits on its own.
    const sub = execa(full[0], full.slice(1), {
      detached: true,
      input: opts.input,
      stdin: opts.input === undefined ? 'ignore' : undefined,
      env: opts.env,
      extendEnv: true,
      cwd: opts.cwd,
      ...(opts.maxBuffer ? {maxBuffer: opts.maxBuffer} : {}),
      ...(opts.signal ? {cancelSignal: opts.signal} : {}),
      reject: false,
      stripFinalNewline: true,
      encoding: 'utf8',
    })
    trackGroup(sub.pid, sub)
    let timedOut = false
    let kill: NodeJS.Timeout | undefined
    const term = setTimeout(
      () => {
        timedOut = true
        signalGroup(sub.pid, 'SIGTERM')
        kill = setTimeout(() => signalGroup(sub.pid, 'SIGKILL'), KILL_GRACE_MS)
      },
      Math.max(1, opts.timeoutMs),
    )
    const r = await sub
    clearTimeout(term)
    clearTimeout(kill)
    const durationMs = Math.round(performance.now() - started)
    const notFound = (r as {code?: string}).code === 'ENOENT'
    return {
      argv: full.map((a) => redact(a)),
      exitCode: typeof r.exitCode === 'number' ? r.exitCode : notFound ? 127 : -1,
      stdout: redact(String(r.stdout ?? '')),
      stderr: redact(notFound ? `${full[0]}: command not found` : String(r.stderr ?? '')),
      timedOut,
      durationMs,
    }
  },
}

/** One planned change, shown by --dry-run: an argv or a SQL statement. */
export type PlannedAction =
  | {kind: 'exec'; argv: string[]; why: string}
  | {kind: 'sql'; sql: string; target: string; why: string}
  | {kind: 'file'; path: string; why: string}

/**
 * What every step receives. Probes (read-only) always run; changes go through `change`,
 * which under --dry-run records the action instead of doing it.
 */
export class SystemContext {
  readonly plan: PlannedAction[] = []

  constructor(
    readonly exec: Exec = realExec,
    readonly dryRun = false,
    readonly log: Logger = silentLogger,
  ) {}

  /** Read-only command: runs even under --dry-run. */
  probe(argv: string[], opts: RunOptions): Promise<RunResult> {
    return this.exec.run(argv, opts)
  }

  /** Mutating command: under --dry-run it is recorded and reported as succeeded. */
  async change(argv: string[], opts: RunOptions, why: string): Promise<RunResult> {
    const shown = wrapArgv(argv, opts)
    if (this.dryRun) {
      this.plan.push({kind: 'exec', argv: shown, why})
      return {argv: shown, exitCode: 0, stdout: '', stderr: '', timedOut: false, durationMs: 0}
    }
    this.log.debug(`run: ${shown.join(' ')}`, {why})
    return this.exec.run(argv, opts)
  }

  /** Record a SQL change; returns true when the caller should really execute it. */
  sqlChange(target: string, sql: string, why: string): boolean {
    if (this.dryRun) {
      this.plan.push({kind: 'sql', sql, target, why})
      return false
    }
    this.log.debug(`sql on ${target}: ${sql}`, {why})
    return true
  }

  /** Record a file write; returns true when the caller should really write. */
  fileChange(path: string, why: string): boolean {
    if (this.dryRun) {
      this.plan.push({kind: 'file', path, why})
      return false
    }
    return true
  }
}

/** A compact description of a failed command for error messages (no env, stdin never shown). */
export function describeFailure(r: RunResult): string {
  const what = r.timedOut ? `timed out after ${r.durationMs} ms` : `exited ${r.exitCode}`
  const err = (r.stderr || r.stdout).split('\n').filter(Boolean).slice(-1)[0] ?? ''
  return `${r.argv.join(' ')} ${what}${err ? `: ${err.trim()}` : ''}`
}

// Subpaths, not '@oclif/core': its index loads help, ux and more that a check never uses.
import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import type {Interfaces} from '@oclif/core'
import type {Config as PghaConfig} from './lib/config/schema.js'
import {ansi, colorOn, paintIf} from './lib/ansi.js'
import {loadConfig} from './lib/config/load.js'
import {EXIT, PghaError, unwrapParseMessage, UsageError} from './lib/errors.js'
import {createLogger, type Logger, type LogFormat, type LogLevel} from './lib/log.js'
import {type PlannedAction, SystemContext} from './lib/system/exec.js'
import {registerPassfileSecrets} from './lib/system/pg.js'
import {redact, redactDeep} from './lib/system/redact.js'
import type {StepOutcome} from './lib/steps/types.js'

export type {StepOutcome} from './lib/steps/types.js'

/** What `--json` prints on success: the step's typed outcome in a fixed envelope. */
export interface Envelope<R extends StepOutcome = StepOutcome> {
  status: 'ok'
  exitCode: typeof EXIT.OK
  dryRun: boolean
  /** Under --dry-run: every command and SQL statement that would have run. */
  plan?: PlannedAction[]
  result: R
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** Asks yes/no on a terminal; replaceable so tests can answer. */
export type Prompter = (question: string) => Promise<boolean>
const inquirerPrompter: Prompter = async (message) => {
  const {confirm} = await import('@inquirer/prompts')
  return confirm({message, default: false})
}

/**
 * Owns everything commands share (like Salesforce's SfCommand): config loading, --json
 * envelopes, --yes/--dry-run, confirmation prompts and the error → exit code mapping.
 * Commands stay thin: parse → call a step → return a StepOutcome.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      summary:
        'Config file (default: PGHA_CONFIG, then pgha.config.yaml searched from the current directory, then /etc/pgha/pgha.config.yaml).',
      helpGroup: 'GLOBAL',
    }),
    'dry-run': Flags.boolean({
      summary: 'Print the exact commands and SQL that would run; change nothing.',
      helpGroup: 'GLOBAL',
      default: false,
    }),
    yes: Flags.boolean({
      char: 'y',
      summary: 'Answer yes to confirmation prompts (needed without a terminal).',
      helpGroup: 'GLOBAL',
      default: false,
    }),
    'log-level': Flags.option({
      options: ['debug', 'info', 'warn', 'error'] as const,
      summary: 'Log verbosity (logs go to stderr).',
      helpGroup: 'GLOBAL',
      default: 'info',
    })(),
    'log-format': Flags.option({options: ['human', 'json'] as const, summary: 'Log line format.', helpGroup: 'GLOBAL', default: 'human'})(),
  }

  /** Tests replace this to answer prompts. */
  static prompter: Prompter = inquirerPrompter
  /** Tests set this to pretend stdin is (not) a terminal. */
  static isInteractive: () => boolean = () => Boolean(process.stdin.isTTY && process.stdout.isTTY)

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  protected log_!: Logger
  private sys?: SystemContext
  private loaded?: {config: PghaConfig; filepath: string}

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.log_ = createLogger({level: this.flags['log-level'] as LogLevel, format: this.flags['log-format'] as LogFormat})
  }

  protected get logger(): Logger {
    return this.log_
  }

  /** Loads and validates the config once; throws ConfigError (exit 2) on any problem. */
  protected async pghaConfig(opts: {checkFiles?: boolean} = {}): Promise<PghaConfig> {
    if (!this.loaded) {
      this.loaded = await loadConfig({path: this.flags.config, checkFiles: opts.checkFiles})
      registerPassfileSecrets(this.loaded.config)
    }
    return this.loaded.config
  }

  protected get configPath(): string | undefined {
    return this.loaded?.filepath
  }

  protected get dryRun(): boolean {
    return this.flags['dry-run']
  }

  /** The system context steps run in; under --dry-run it records instead of changing. */
  protected get system(): SystemContext {
    if (!this.sys) this.sys = new SystemContext(undefined, this.dryRun, this.log_)
    return this.sys
  }

  /**
   * Ask before a destructive step. --yes or --dry-run skip the question; without a
   * terminal and without --yes we refuse (exit 2) rather than act unasked.
   */
  protected async confirm(question: string): Promise<void> {
    if (this.flags.yes || this.dryRun) return
    const ctor = this.constructor as typeof BaseCommand
    if (!ctor.isInteractive()) {
      throw new UsageError(`refusing without confirmation: ${question}`, 'no terminal to ask on; pass --yes to confirm')
    }
    let yes: boolean
    try {
      yes = await ctor.prompter(question)
    } catch (error) {
      // Ctrl-C (or a closed terminal) at the prompt: inquirer's ExitPromptError/AbortPromptError.
      if (/PromptError$/.test((error as Error).name)) throw new UsageError('cancelled at the prompt: nothing was changed')
      throw error
    }
    if (!yes) throw new UsageError('aborted at the prompt; nothing was changed')
  }

  /** Print a step's outcome for humans (suppressed under --json, where run()'s return is printed). */
  protected render(outcome: StepOutcome, extra: string[] = []): void {
    if (this.jsonEnabled()) return
    if (this.dryRun) {
      this.log(paintIf(colorOn(process.stdout), ansi.bold)('dry run — nothing was changed. Would run:'))
      if (this.system.plan.length === 0) this.log('  (nothing: already in the wanted state)')
      for (const a of this.system.plan) this.log('  ' + formatPlanned(a))
    }
    this.log(outcome.summary)
    for (const line of extra) this.log(line)
  }

  /** The --json envelope for success; run() returns it, typed by the step's outcome. */
  protected envelope<R extends StepOutcome>(outcome: R): Envelope<R> {
    return {status: 'ok', exitCode: EXIT.OK, dryRun: this.dryRun, ...(this.dryRun ? {plan: this.system.plan} : {}), result: outcome}
  }

  /** Everything a command prints goes through the secret-redaction layer (children's output is quoted in it). */
  public override log(message = '', ...args: unknown[]): void {
    super.log(redact(String(message)), ...args)
  }

  protected override logJson(json: unknown): void {
    super.logJson(redactDeep(json))
  }

  protected override toSuccessJson(result: unknown): unknown {
    return result
  }

  /** Single place where errors become one line + a documented exit code. */
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<never> {
    if ((err as {code?: string}).code === 'EEXIT') throw err // this.exit() in flight
    let code: number = EXIT.STEP_FAILED
    let line = err.message
    let details: string[] = []
    let fix: string | undefined
    if (err instanceof PghaError) {
      code = err.exitCode
      line = unwrapParseMessage(err.message)
      fix = err.fix
      details = err.details ?? []
    } else if ('parse' in err || err.oclif?.exit !== undefined) {
      // oclif's flag/argument parse errors (CLIParseError carries `parse`) are usage errors.
      code =
        'parse' in err || /Nonexistent flag|Unexpected argument|Expected|Missing \d* ?required|one of|Parsing --/i.test(err.message)
          ? EXIT.USAGE
          : EXIT.STEP_FAILED
      line = err.message.split('\n').filter(Boolean).join('; ')
    }
    const json = (() => {
      try {
        return this.jsonEnabled()
      } catch {
        return process.argv.includes('--json')
      }
    })()
    if (json) {
      this.logJson({status: 'error', exitCode: code, error: {message: line, fix, details}})
    } else {
      process.stderr.write(paintIf(colorOn(process.stderr), ansi.red)(redact(`pgha: ${line}${fix ? ` — ${fix}` : ''}`)) + '\n')
      for (const d of details) process.stderr.write(redact(`  - ${d}`) + '\n')
    }
    this.exit(code)
  }
}

export function formatPlanned(a: PlannedAction): string {
  switch (a.kind) {
    case 'exec':
      return `$ ${a.argv.map(shellQuote).join(' ')}    # ${a.why}`
    case 'sql':
      return `${a.target}=# ${a.sql}    -- ${a.why}`
    case 'file':
      return `write ${a.path}    # ${a.why}`
  }
}

/** For display only (never executed): quote an argv element the way a shell would need it. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

import type {Command} from '@oclif/core'
import {BaseCommand} from './base-command.js'
import {PghaError} from './lib/errors.js'
import {type CheckResult, NAGIOS, nagiosLine} from './lib/status/nagios.js'
import {redact} from './lib/system/redact.js'

/**
 * Base of `pgha check …`: prints one Nagios status line and exits with the plugin's code
 * (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). Any error — a bad config included — is UNKNOWN.
 */
export abstract class CheckCommand<T extends typeof Command> extends BaseCommand<T> {
  protected abstract readonly service: string

  protected finish(r: CheckResult): Record<string, unknown> {
    const line = nagiosLine(this.service, r)
    const code = NAGIOS[r.state]
    if (this.jsonEnabled()) {
      this.logJson({status: r.state === 'OK' ? 'ok' : 'alert', exitCode: code, result: {state: r.state, line, text: r.text, perf: r.perf}})
    } else {
      this.log(line)
    }
    this.exit(code)
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<never> {
    if ((err as {code?: string}).code === 'EEXIT') throw err
    const text = redact(err instanceof PghaError ? err.oneLine() : err.message.split('\n')[0])
    const line = nagiosLine(this.service, {state: 'UNKNOWN', text, perf: []})
    if (process.argv.includes('--json'))
      process.stdout.write(
        JSON.stringify({status: 'error', exitCode: NAGIOS.UNKNOWN, result: {state: 'UNKNOWN', line, text}}, null, 2) + '\n',
      )
    else process.stdout.write(line + '\n')
    this.exit(NAGIOS.UNKNOWN)
  }
}

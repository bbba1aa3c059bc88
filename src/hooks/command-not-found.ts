/**
 * oclif's command_not_found hook: an unknown command is a usage error (exit 2, one line with a
 * suggestion), and an unknown `pgha check …` is Nagios UNKNOWN (exit 3) so a monitoring system
 * does not read a typo as WARNING.
 */
import type {Hook} from '@oclif/core'
import {didYouMean} from '../lib/config/suggest.js'
import {EXIT} from '../lib/errors.js'
import {NAGIOS, nagiosLine} from '../lib/status/nagios.js'

const hook: Hook<'command_not_found'> = async function (opts) {
  const id = opts.id
  const visible = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const json = (opts.argv ?? []).includes('--json') || process.argv.includes('--json')
  if (id.startsWith('check:')) {
    const checks = visible.filter((c) => c.startsWith('check:')).map((c) => c.slice('check:'.length))
    const name = id.slice('check:'.length)
    const guess = didYouMean(name, checks)
    const text = `unknown check "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}: the checks are ${checks.join(', ')}`
    const line = nagiosLine('CHECK', {state: 'UNKNOWN', text, perf: []})
    process.stdout.write(
      (json ? JSON.stringify({status: 'error', exitCode: NAGIOS.UNKNOWN, result: {state: 'UNKNOWN', line, text}}, null, 2) : line) + '\n',
    )
    this.exit(NAGIOS.UNKNOWN)
  }
  const shown = id.replaceAll(':', ' ')
  const guess = didYouMean(id, visible)
  const message = `unknown command "${shown}"`
  const fix = guess
    ? `did you mean "pgha ${guess.replaceAll(':', ' ')}"? (pgha --help lists the commands)`
    : 'pgha --help lists the commands'
  if (json)
    process.stdout.write(JSON.stringify({status: 'error', exitCode: EXIT.USAGE, error: {message, fix, details: []}}, null, 2) + '\n')
  else process.stderr.write(`pgha: ${message} — ${fix}\n`)
  this.exit(EXIT.USAGE)
}

export default hook

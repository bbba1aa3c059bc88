import {Flags} from '@oclif/core'
import {parseDuration} from '../../lib/config/units.js'
import {UsageError} from '../../lib/errors.js'
import {CheckCommand} from '../../lib/ha/check-command.js'
import {aliveFromLiveness} from '../../lib/ha/nagios.js'
import {watchLiveness} from '../../lib/ha/watch-liveness.js'
import {readStateFile} from '../../lib/ha/watch-state.js'

export default class CheckAlive extends CheckCommand<typeof CheckAlive> {
  protected readonly service = 'ALIVE'
  static override summary = 'Nagios check: has pgha watch updated its state file recently? (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
  static override description = 'Reads <stateDir>/state.json, which the loop rewrites every tick, and checks that the PID it names still runs: CRITICAL at once when the watch process is gone or the file is corrupt.'
  static override examples = ['<%= config.bin %> check alive', '<%= config.bin %> check alive --max-age 30s --warn-age 10s']
  static override flags = {
    'max-age': Flags.string({summary: 'CRITICAL when the state is older than this.', default: '60s'}),
    'warn-age': Flags.string({summary: 'WARNING when older than this (default: half of --max-age).'}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const crit = parseDuration(this.flags['max-age'])
    const warn = this.flags['warn-age'] === undefined ? (crit === undefined ? undefined : Math.floor(crit / 2)) : parseDuration(this.flags['warn-age'])
    if (crit === undefined || warn === undefined) throw new UsageError('--max-age/--warn-age must be durations', 'use e.g. 60s, 2m')
    // The same liveness answer as pgha status; freshness here is judged by --warn-age/--max-age.
    const live = watchLiveness(readStateFile(cfg.stateDir), cfg.node.name, crit)
    return this.finish(aliveFromLiveness(live, warn, crit))
  }
}

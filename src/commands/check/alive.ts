import {durationFlag} from '../../flags.js'
import {formatDuration} from '../../lib/config/units.js'
import {UsageError} from '../../lib/errors.js'
import {CheckCommand} from '../../check-command.js'
import {aliveFromLiveness} from '../../lib/status/nagios.js'
import {watchLiveness} from '../../lib/status/watch-liveness.js'
import {readStateFile} from '../../lib/loop/watch-state.js'

export default class CheckAlive extends CheckCommand<typeof CheckAlive> {
  protected readonly service = 'ALIVE'
  static override summary = 'Nagios check: has pgha watch updated its state file recently? (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
  static override description =
    'Reads <stateDir>/state.json, which the loop rewrites every tick, and checks that the PID it names still runs: CRITICAL at once when the watch process is gone or the file is corrupt.'
  static override examples = ['<%= config.bin %> check alive', '<%= config.bin %> check alive --max-age 30s --warn-age 10s']
  static override flags = {
    'max-age': durationFlag({summary: 'CRITICAL when the state is older than this.', default: '60s', max: 86_400_000}),
    'warn-age': durationFlag({summary: 'WARNING when older than this (default: half of --max-age).', max: 86_400_000}),
  }

  async run() {
    const crit = this.flags['max-age']
    const warn = this.flags['warn-age'] ?? Math.floor(crit / 2)
    if (warn >= crit)
      throw new UsageError(
        `--warn-age ${formatDuration(warn)} must be less than --max-age ${formatDuration(crit)}`,
        'WARNING has to come before CRITICAL; e.g. --warn-age 30s --max-age 60s',
      )
    const cfg = await this.pghaConfig()
    // The same liveness answer as pgha status; freshness here is judged by --warn-age/--max-age.
    const live = watchLiveness(readStateFile(cfg.stateDir), cfg.node.name, crit)
    return this.finish(aliveFromLiveness(live, warn, crit))
  }
}

import * as Flags from '@oclif/core/flags'
import {parseDuration} from '../../lib/config/units.js'
import {UsageError} from '../../lib/errors.js'
import {CheckCommand} from '../../lib/ha/check-command.js'
import {aliveCheck} from '../../lib/ha/nagios.js'
import {readWatchState, watchProcessRuns} from '../../lib/ha/watch-state.js'

export default class CheckAlive extends CheckCommand<typeof CheckAlive> {
  protected readonly service = 'ALIVE'
  static override summary = 'Nagios check: has pgha watch updated its state file recently? (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
  static override description = 'Reads <stateDir>/state.json, which the loop rewrites every tick. Replaces the seed\'s "watch loop alive" script.'
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
    const s = readWatchState(cfg.stateDir)
    if (!s) return this.finish(aliveCheck(undefined, warn, crit, `no state file ${cfg.stateDir}/state.json: pgha watch has not run on ${cfg.node.name}`))
    const runs = watchProcessRuns(s.pid) ? `PID ${s.pid}` : `PID ${s.pid} not running`
    return this.finish(aliveCheck(Date.now() - Date.parse(s.updatedAt), warn, crit, `role ${s.role}, ${runs}, last: ${s.lastTick.reason}`))
  }
}

import {durationFlag} from '../../flags.js'
import {CheckCommand} from '../../check-command.js'
import {aliveCheck} from '../../lib/status/nagios.js'
import {readWatchState, watchProcessRuns} from '../../lib/loop/watch-state.js'

export default class CheckAlive extends CheckCommand<typeof CheckAlive> {
  protected readonly service = 'ALIVE'
  static override summary = 'Nagios check: has pgha watch updated its state file recently? (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
  static override description = 'Reads <stateDir>/state.json, which the loop rewrites every tick.'
  static override examples = ['<%= config.bin %> check alive', '<%= config.bin %> check alive --max-age 30s --warn-age 10s']
  static override flags = {
    'max-age': durationFlag({summary: 'CRITICAL when the state is older than this.', default: '60s', max: 86_400_000}),
    'warn-age': durationFlag({summary: 'WARNING when older than this (default: half of --max-age).', max: 86_400_000}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const crit = this.flags['max-age']
    const warn = this.flags['warn-age'] ?? Math.floor(crit / 2)
    const s = readWatchState(cfg.stateDir)
    if (!s) return this.finish(aliveCheck(undefined, warn, crit, `no state file ${cfg.stateDir}/state.json: pgha watch has not run on ${cfg.node.name}`))
    const runs = watchProcessRuns(s.pid) ? `PID ${s.pid}` : `PID ${s.pid} not running`
    return this.finish(aliveCheck(Date.now() - Date.parse(s.updatedAt), warn, crit, `role ${s.role}, ${runs}, last: ${s.lastTick.reason}`))
  }
}

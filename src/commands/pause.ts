import {BaseCommand} from '../base-command.js'
import {ensurePaused} from '../lib/steps/pause.js'

export default class Pause extends BaseCommand<typeof Pause> {
  static override summary = 'Maintenance mode: both watch loops keep observing and reporting but take no action.'
  static override description =
    'Sets pgha.cluster_state.paused on the primary (this host or the peer, whichever is writable); it replicates, so both loops see it. `pgha status` shows it. Undo with `pgha resume`. Already paused: nothing to do.'
  static override examples = ['<%= config.bin %> pause', '<%= config.bin %> pause --dry-run', '<%= config.bin %> pause --json']

  async run() {
    const outcome = await ensurePaused(this.system, await this.pghaConfig(), true)
    this.render(outcome)
    return this.envelope(outcome)
  }
}

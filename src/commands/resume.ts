import {BaseCommand} from '../base-command.js'
import {ensurePaused} from '../lib/steps/pause.js'

export default class Resume extends BaseCommand<typeof Resume> {
  static override summary = 'End maintenance mode: the watch loops act again.'
  static override description = 'Clears pgha.cluster_state.paused on the primary (it replicates). Not paused: nothing to do.'
  static override examples = ['<%= config.bin %> resume', '<%= config.bin %> resume --dry-run']

  async run() {
    const outcome = await ensurePaused(this.system, await this.pghaConfig(), false)
    this.render(outcome)
    return this.envelope(outcome)
  }
}

import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags} from '../../lib/lab/cli.js'
import {labDown} from '../../lib/lab/lab.js'
import {preflightProblem} from '../../lib/lab/preflight.js'

export default class LabDown extends BaseCommand<typeof LabDown> {
  static override summary = 'Remove the lab: load client, BMCs, hosts (power cut), namespaces and the lab directory.'
  static override description = 'Never fails because a part is already gone; running it twice is harmless.'
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --name mylab']
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    const root = preflightProblem({uid: process.getuid?.() ?? -1, has: () => true, pgBindirOk: true, postgresUser: true})
    if (root) throw root
    const {removed} = await labDown(lab, (line) => this.logToStderr(line))
    const summary = removed.length === 0 ? `lab ${lab.name}: nothing to remove` : `lab ${lab.name} removed: ${removed.join(', ')}`
    const outcome = {changed: removed.length > 0, summary, removed}
    this.render(outcome)
    return this.envelope(outcome)
  }
}

import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags, nodeArg, requireLab} from '../../lib/lab/cli.js'
import {setIsolated} from '../../lib/lab/faults.js'
import {parseNode} from '../../lib/lab/layout.js'

export default class LabHeal extends BaseCommand<typeof LabHeal> {
  static override summary = 'Reconnect a lab host cut off by lab isolate.'
  static override examples = ['<%= config.bin %> lab heal node1']
  static override args = {node: nodeArg}
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const outcome = await setIsolated(lab, parseNode(this.args.node), false)
    this.render(outcome)
    return this.envelope(outcome)
  }
}

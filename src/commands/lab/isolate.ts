import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags, nodeArg, requireLab} from '../../lib/lab/cli.js'
import {setIsolated} from '../../lib/lab/faults.js'
import {parseNode} from '../../lib/lab/layout.js'

export default class LabIsolate extends BaseCommand<typeof LabIsolate> {
  static override summary =
    "Cut a lab host off the network (its bridge port goes down; the host's own link stays up, like a cable pulled at the switch)."
  static override examples = ['<%= config.bin %> lab isolate node1']
  static override args = {node: nodeArg}
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const outcome = await setIsolated(lab, parseNode(this.args.node), true)
    this.render(outcome)
    return this.envelope(outcome)
  }
}

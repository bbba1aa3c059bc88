import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags, nodeArg, requireLab} from '../../lib/lab/cli.js'
import {setFrozen} from '../../lib/lab/faults.js'
import {parseNode} from '../../lib/lab/layout.js'

export default class LabFreeze extends BaseCommand<typeof LabFreeze> {
  static override summary = 'Freeze every PostgreSQL process of a lab host (SIGSTOP): a hung database whose port still accepts connections.'
  static override examples = ['<%= config.bin %> lab freeze node1']
  static override args = {node: nodeArg}
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const outcome = setFrozen(lab, parseNode(this.args.node), true)
    this.render(outcome)
    return this.envelope(outcome)
  }
}

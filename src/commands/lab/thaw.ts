import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags, nodeArg, requireLab} from '../../lib/lab/cli.js'
import {setFrozen} from '../../lib/lab/faults.js'
import {parseNode} from '../../lib/lab/layout.js'

export default class LabThaw extends BaseCommand<typeof LabThaw> {
  static override summary = 'Let the PostgreSQL processes frozen by lab freeze run again (SIGCONT).'
  static override examples = ['<%= config.bin %> lab thaw node1']
  static override args = {node: nodeArg}
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const outcome = setFrozen(lab, parseNode(this.args.node), false)
    this.render(outcome)
    return this.envelope(outcome)
  }
}

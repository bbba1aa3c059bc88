import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags, nodeArg, requireLab} from '../../lib/lab/cli.js'
import {crashDb} from '../../lib/lab/faults.js'
import {parseNode} from '../../lib/lab/layout.js'

export default class LabCrashDb extends BaseCommand<typeof LabCrashDb> {
  static override summary = "Kill a lab host's postmaster with SIGKILL (the host and its network stay up)."
  static override examples = ['<%= config.bin %> lab crash-db node1']
  static override args = {node: nodeArg}
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const outcome = crashDb(lab, parseNode(this.args.node))
    this.render(outcome)
    return this.envelope(outcome)
  }
}

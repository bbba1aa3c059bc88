import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {labBmcRuns, startLabBmc, stopLabBmc} from '../../lib/lab/bmcs.js'
import {choice, labFlags, layoutFromFlags, nodeArg, requireLab} from '../../lib/lab/cli.js'
import {parseNode} from '../../lib/lab/layout.js'

export default class LabBmc extends BaseCommand<typeof LabBmc> {
  static override summary = "Stop or start a lab host's BMC (ipmi_sim): down makes fencing that host impossible; the host keeps running."
  static override examples = ['<%= config.bin %> lab bmc node1 down', '<%= config.bin %> lab bmc node1 up']
  static override args = {
    node: nodeArg,
    state: Args.string({description: 'down or up', required: true}),
  }
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const node = parseNode(this.args.node)
    const where = `${lab.hosts[node].bmcAddress}:${lab.hosts[node].bmcPort}`
    let outcome
    if (choice('state', this.args.state, ['down', 'up'] as const) === 'down') {
      const stopped = await stopLabBmc(lab, node)
      outcome = {
        changed: stopped,
        summary: stopped ? `BMC of ${node} (${where}) stopped: fencing ${node} now fails` : `BMC of ${node} was not running`,
      }
    } else if (labBmcRuns(lab, node)) {
      outcome = {changed: false, summary: `BMC of ${node} (${where}) already runs`}
    } else {
      const pid = await startLabBmc(lab, node)
      outcome = {changed: true, summary: `BMC of ${node} (${where}) runs again (ipmi_sim pid ${pid})`}
    }
    this.render(outcome)
    return this.envelope(outcome)
  }
}

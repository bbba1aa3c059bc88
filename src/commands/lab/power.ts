import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {StepFailedError} from '../../lib/errors.js'
import {ipmiPower} from '../../lib/lab/bmcs.js'
import {choice, labFlags, layoutFromFlags, nodeArg, requireLab} from '../../lib/lab/cli.js'
import {parseNode} from '../../lib/lab/layout.js'
import {describeFailure} from '../../lib/system/exec.js'
import {explainIpmitoolFailure} from '../../lib/system/fence-argv.js'
import {bmcClientConfig} from '../../lib/lab/bmcs.js'

export default class LabPower extends BaseCommand<typeof LabPower> {
  static override summary = "Switch a lab host's power through its BMC with the real ipmitool (from the gateway namespace)."
  static override description = 'off is a power cut: every process of the host dies at once and its NIC goes dark (no ARP, VIPs gone).'
  static override examples = [
    '<%= config.bin %> lab power node1 off',
    '<%= config.bin %> lab power node1 status',
    '<%= config.bin %> lab power node1 on',
  ]
  static override args = {
    node: nodeArg,
    action: Args.string({description: 'on, off or status', required: true}),
  }
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const node = parseNode(this.args.node)
    const action = choice('action', this.args.action, ['on', 'off', 'status'] as const)
    const {power, result} = await ipmiPower(lab, node, action)
    if (result.exitCode !== 0 || power === 'unknown') {
      const why = result.exitCode === 0 ? describeFailure(result) : explainIpmitoolFailure(result, bmcClientConfig(lab, node))
      throw new StepFailedError(`ipmitool chassis power ${action} for ${node} failed: ${why}`, `is its BMC up? pgha lab bmc ${node} up`)
    }
    const summary =
      action === 'status'
        ? `${node}: chassis power is ${power} (BMC ${lab.hosts[node].bmcAddress})`
        : `${node}: chassis power ${action} done in ${result.durationMs} ms (ipmitool via BMC ${lab.hosts[node].bmcAddress})`
    const outcome = {changed: action !== 'status', summary, node, power, durationMs: result.durationMs}
    this.render(outcome)
    return this.envelope(outcome)
  }
}

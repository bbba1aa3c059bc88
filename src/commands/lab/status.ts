import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags, requireLab} from '../../lib/lab/cli.js'
import {labStatus, renderLabStatus} from '../../lib/lab/status.js'

export default class LabStatus extends BaseCommand<typeof LabStatus> {
  static override summary =
    "The lab at a glance: each host's power, BMC, link, observed role, VIPs and watch; then pgha status from inside a host."
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --json']
  static override flags = {...labFlags}

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    const st = await labStatus(lab, {json: this.jsonEnabled()})
    const outcome = {changed: false, summary: `lab ${lab.name}`, ...st}
    if (!this.jsonEnabled()) {
      for (const line of renderLabStatus(st)) this.log(line)
      if (st.pghaStatusFrom) {
        this.log(`\npgha status (run inside ${st.pghaStatusFrom}):`)
        this.log(typeof st.pghaStatus === 'string' ? st.pghaStatus : JSON.stringify(st.pghaStatus, null, 2))
      }
    }
    return this.envelope(outcome)
  }
}

import {BaseCommand} from '../base-command.js'
import {gatherStatus, renderStatus} from '../lib/status/status-view.js'

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Both nodes at a glance: roles, VIP holders, replication and lag, heartbeat age, watch loop, last transition.'
  static override description = [
    'Read-only and bounded (a few seconds at most, also when the peer is down).',
    'This node from its database, its VIPs and <stateDir>/state.json; the peer from its database at peer.address and ARP for the VIPs.',
  ].join(' ')
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']

  async run() {
    const cfg = await this.pghaConfig()
    const s = await gatherStatus(this.system, cfg)
    if (!this.jsonEnabled()) for (const line of renderStatus(s)) this.log(line)
    const summary = `${s.nodes.map((n) => `${n.name} ${n.role}`).join(', ')}; replication ${s.sync.state}`
    return {status: 'ok', exitCode: 0, dryRun: this.dryRun, result: {changed: false, summary, ...s}}
  }
}

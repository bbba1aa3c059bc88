import {BaseCommand} from '../base-command.js'
import {formatBytes, formatDuration} from '../lib/config/units.js'

export default class ConfigCmd extends BaseCommand<typeof ConfigCmd> {
  static override summary = 'Validate the config file and print it with defaults filled in.'
  static override examples = ['<%= config.bin %> config --config /etc/pgha/pgha.config.yaml', '<%= config.bin %> config --json']

  async run() {
    const cfg = await this.pghaConfig()
    const outcome = {changed: false, summary: `config ${this.configPath} is valid`, file: this.configPath, config: cfg}
    this.render(outcome, [
      `node ${cfg.node.name} (${cfg.node.address}), peer ${cfg.peer.name} (${cfg.peer.address}), VIP-M ${cfg.network.vipPrimary}, VIP-S ${cfg.network.vipStandby} on ${cfg.network.interface}`,
      `timing: interval ${formatDuration(cfg.timing.interval)}, checkTimes ${cfg.timing.checkTimes}, probeTimeout ${formatDuration(cfg.timing.probeTimeout)}; promote lag limit ${formatDuration(cfg.lag.promote.maxAge)} / ${formatBytes(cfg.lag.promote.maxBytes)}`,
    ])
    return this.envelope(outcome)
  }
}

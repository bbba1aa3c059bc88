import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {ensureVipsReleased} from '../lib/steps/vip.js'

export default class ReleaseVips extends BaseCommand<typeof ReleaseVips> {
  static override summary = 'Remove VIP-S from this host (the failback step); --all removes VIP-M too.'
  static override description = 'Asks for confirmation (or --yes). VIPs that are not on this host are left alone (exit 0).'
  static override examples = ['<%= config.bin %> release-vips --yes', '<%= config.bin %> release-vips --all --dry-run']
  static override flags = {
    all: Flags.boolean({summary: 'Release VIP-M as well as VIP-S.', default: false}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const what = this.flags.all ? `VIP-M ${cfg.network.vipPrimary} and VIP-S ${cfg.network.vipStandby}` : `VIP-S ${cfg.network.vipStandby}`
    await this.confirm(
      `release ${what} from ${cfg.network.interface}? Clients of ${this.flags.all ? 'these addresses' : 'this address'} lose this host.`,
    )
    const outcome = await ensureVipsReleased(this.system, cfg, {all: this.flags.all})
    this.render(outcome)
    return this.envelope(outcome)
  }
}

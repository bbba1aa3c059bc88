import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {ensureVipClaimed, vipCidr, vipName} from '../lib/steps/vip.js'

export default class ClaimVip extends BaseCommand<typeof ClaimVip> {
  static override summary = 'Add VIP-M (primary) or VIP-S (standby) to this host and announce it by gratuitous ARP.'
  static override description = [
    'Refuses (exit 3) while another host answers ARP for the address. --force overrides that for VIP-S only;',
    'VIP-M is never claimed while another host holds it. Already held here: nothing is changed (exit 0).',
  ].join(' ')
  static override examples = [
    '<%= config.bin %> claim-vip standby',
    '<%= config.bin %> claim-vip primary --dry-run',
    '<%= config.bin %> claim-vip standby --force --yes',
  ]
  static override args = {
    which: Args.string({
      description: 'primary = VIP-M (network.vipPrimary), standby = VIP-S (network.vipStandby)',
      options: ['primary', 'standby'],
      required: true,
    }),
  }
  static override flags = {
    force: Flags.boolean({summary: 'VIP-S only: claim even if another host answers ARP for it (asks for confirmation).', default: false}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const which = this.args.which as 'primary' | 'standby'
    if (this.flags.force) {
      await this.confirm(
        `claim ${vipName(which)} ${vipCidr(cfg, which)} on ${cfg.network.interface} even if another host answers ARP for it?`,
      )
    }
    const outcome = await ensureVipClaimed(this.system, cfg, which, {force: this.flags.force})
    this.render(
      outcome,
      outcome.warnings?.map((w) => `warning: ${w}`),
    )
    return this.envelope(outcome)
  }
}

import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {ensurePromoted, promoteGuard} from '../lib/steps/promote.js'

export default class Promote extends BaseCommand<typeof Promote> {
  static override summary = 'Promote this standby to primary — only when the peer is fenced (power off) or VIP-M is silent.'
  static override description = [
    "Refuses (exit 3) unless the peer's power status is off or nobody answers ARP for VIP-M (or --force).",
    'Disables restore_command for the promotion (reload on PostgreSQL ≥ 14, restart before on older),',
    'runs pg_ctl promote -w, waits until writable, restores restore_command, CHECKPOINT. Already primary: nothing to do.',
  ].join(' ')
  static override examples = [
    '<%= config.bin %> promote --dry-run',
    '<%= config.bin %> promote --yes',
    '<%= config.bin %> promote --force --yes',
  ]
  static override flags = {
    force: Flags.boolean({summary: 'Skip the fence/VIP-M check (you vouch the old primary is down).', default: false}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const guard = promoteGuard(this.system, cfg, (m) => this.logger.warn(m))
    // The step asks only once it knows there is a standby to promote: a primary has nothing to confirm.
    const confirm = () =>
      this.confirm(`promote the standby in ${cfg.postgres.datadir} to primary${this.flags.force ? ' WITHOUT the fence/VIP-M check' : ''}?`)
    const outcome = await ensurePromoted(this.system, cfg, {guard, force: this.flags.force, confirm})
    this.render(outcome)
    return this.envelope(outcome)
  }
}

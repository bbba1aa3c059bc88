import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {detectRole} from '../lib/steps/detect-role.js'
import {makePromoteGuard} from '../lib/steps/guards.js'
import {ensurePromoted} from '../lib/steps/promote.js'
import {fencePower} from '../lib/system/fence.js'
import {arpDuplicateCheck} from '../lib/system/net.js'
import {hostOf} from '../lib/system/pg.js'

export default class Promote extends BaseCommand<typeof Promote> {
  static override summary = 'Promote this standby to primary — only when the peer is fenced (power off) or VIP-M is silent.'
  static override description = [
    'Refuses (exit 3) unless the peer\'s power status is off or nobody answers ARP for VIP-M (or --force).',
    'Disables restore_command for the promotion (reload on PostgreSQL ≥ 14, restart before on older),',
    'runs pg_ctl promote -w, waits until writable, restores restore_command, CHECKPOINT. Already primary: nothing to do.',
  ].join(' ')
  static override examples = ['<%= config.bin %> promote --dry-run', '<%= config.bin %> promote --yes', '<%= config.bin %> promote --force --yes']
  static override flags = {
    force: Flags.boolean({summary: 'Skip the fence/VIP-M check (you vouch the old primary is down).', default: false}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const ctx = this.system
    // Check before asking: a primary (as its server answers, not as its files say) has nothing to confirm.
    const role = await detectRole(ctx, cfg)
    if (role.running && role.role === 'primary' && role.evidence.includes('pg_is_in_recovery() = false')) {
      const outcome = {changed: false, summary: 'already primary: nothing to do', role: 'primary'}
      this.render(outcome)
      return this.envelope(outcome)
    }
    await this.confirm(`promote the standby in ${cfg.postgres.datadir} to primary${this.flags.force ? ' WITHOUT the fence/VIP-M check' : ''}?`)
    const arpTimeoutMs = Math.max(2000, cfg.timing.probeTimeout * 2)
    const guard = makePromoteGuard(cfg, {
      powerStatus: () => fencePower(ctx, cfg.fence, 'status', {timeoutMs: cfg.fence.timeout}),
      vipPrimaryState: () => arpDuplicateCheck(ctx, cfg.network.interface, hostOf(cfg.network.vipPrimary), arpTimeoutMs),
      warn: (m) => this.logger.warn(m),
    })
    const outcome = await ensurePromoted(ctx, cfg, {guard, force: this.flags.force})
    this.render(outcome)
    return this.envelope(outcome)
  }
}

import {BaseCommand} from '../base-command.js'
import {detectRole} from '../lib/steps/detect-role.js'

export default class DetectRole extends BaseCommand<typeof DetectRole> {
  static override summary = "Say whether this host's PostgreSQL is a primary or a standby, with the evidence."
  static override description = [
    'Running server: pg_is_in_recovery() decides. Stopped: standby.signal / recovery.signal (standby) or',
    'a legacy recovery.conf (PostgreSQL ≤ 11) decide; none of them means primary. Read-only.',
  ].join(' ')
  static override examples = ['<%= config.bin %> detect-role', '<%= config.bin %> detect-role --json']

  async run() {
    const cfg = await this.pghaConfig()
    const outcome = await detectRole(this.system, cfg)
    this.render(
      outcome,
      outcome.evidence.map((e) => `  - ${e}`),
    )
    return this.envelope(outcome)
  }
}

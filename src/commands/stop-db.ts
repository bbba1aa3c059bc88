import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {ensureDbStopped} from '../lib/steps/db.js'
import {pgCtlStatus} from '../lib/system/pgctl.js'

export default class StopDb extends BaseCommand<typeof StopDb> {
  static override summary = 'Stop PostgreSQL (pg_ctl stop as postgres.osUser, bounded by postgres.stepTimeout).'
  static override description = 'Already stopped: nothing is changed. Asks for confirmation (--yes without a terminal).'
  static override examples = [
    '<%= config.bin %> stop-db --yes',
    '<%= config.bin %> stop-db --mode immediate --yes',
    '<%= config.bin %> stop-db --dry-run',
  ]
  static override flags = {
    mode: Flags.option({
      options: ['fast', 'immediate'] as const,
      summary: 'fast: clean shutdown, disconnects clients; immediate: no checkpoint, crash recovery on next start.',
      default: 'fast',
    })(),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const mode = this.flags.mode as 'fast' | 'immediate'
    if ((await pgCtlStatus(this.system, cfg)).running) await this.confirm(`stop PostgreSQL (${mode}) in ${cfg.postgres.datadir}?`)
    const outcome = await ensureDbStopped(this.system, cfg, {mode})
    this.render(outcome)
    return this.envelope(outcome)
  }
}

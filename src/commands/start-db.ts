import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {ensureDbRunning} from '../lib/steps/db.js'
import {makeVipPrimaryTaken} from '../lib/steps/guards.js'
import {arpDuplicateCheck} from '../lib/system/net.js'
import {hostOf} from '../lib/system/pg.js'

export default class StartDb extends BaseCommand<typeof StartDb> {
  static override summary = 'Start PostgreSQL (pg_ctl as postgres.osUser, bounded by postgres.stepTimeout).'
  static override description = [
    'Already running: nothing is changed. A primary data directory is not started while another host',
    'answers ARP for VIP-M (exit 3): that host is the primary. --force overrides.',
  ].join(' ')
  static override examples = ['<%= config.bin %> start-db', '<%= config.bin %> start-db --dry-run', '<%= config.bin %> start-db --force']
  static override flags = {
    force: Flags.boolean({summary: 'Start a primary even if VIP-M answers on the network.', default: false}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const ctx = this.system
    const arpTimeoutMs = Math.max(2000, cfg.timing.probeTimeout * 2)
    const vipPrimaryTaken = makeVipPrimaryTaken(cfg, () =>
      arpDuplicateCheck(ctx, cfg.network.interface, hostOf(cfg.network.vipPrimary), arpTimeoutMs),
    )
    const outcome = await ensureDbRunning(ctx, cfg, {force: this.flags.force, vipPrimaryTaken})
    this.render(outcome)
    return this.envelope(outcome)
  }
}

import {CheckCommand} from '../../check-command.js'
import {replicationLagCheck} from '../../lib/status/nagios.js'
import {nodeFacts} from '../../lib/status/read-node.js'
import {localEndpoint} from '../../lib/system/pg.js'

export default class CheckLag extends CheckCommand<typeof CheckLag> {
  protected readonly service = 'LAG'
  static override summary =
    "Nagios check: replication lag against the config's limits (warn at lag.releaseStandbyVip, crit at lag.promote)."
  static override description = [
    "On a standby: the replicated heartbeat row's age and the lag the primary last wrote into it (what watch checks before promoting).",
    "On a primary: the peer standby's lag in pg_stat_replication (bytes and replay_lag). No standby streaming is CRITICAL.",
    'Folds in the replication mode state: degraded (sync configured, synchronous_standby_names empty) is WARNING; a named standby not streaming as sync (commits block) is CRITICAL.',
    'Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.',
  ].join(' ')
  static override examples = ['<%= config.bin %> check lag', '<%= config.bin %> check lag --json']

  async run() {
    const cfg = await this.pghaConfig()
    return this.finish(replicationLagCheck(cfg, await nodeFacts(cfg, localEndpoint(cfg), Math.max(2000, cfg.timing.probeTimeout * 2))))
  }
}

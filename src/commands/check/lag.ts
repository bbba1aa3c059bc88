import {CheckCommand} from '../../check-command.js'
import {type CheckResult, lagCheck} from '../../lib/status/nagios.js'
import {nodeFacts, peerReplication} from '../../lib/status/read-node.js'
import {localEndpoint} from '../../lib/system/pg.js'

export default class CheckLag extends CheckCommand<typeof CheckLag> {
  protected readonly service = 'LAG'
  static override summary = 'Nagios check: replication lag against the config\'s limits (warn at lag.releaseStandbyVip, crit at lag.promote).'
  static override description = [
    'On a standby: the replicated heartbeat row\'s age and the lag the primary last wrote into it (what watch checks before promoting).',
    'On a primary: the peer standby\'s lag in pg_stat_replication (bytes and replay_lag). No standby streaming is CRITICAL.',
    'Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.',
  ].join(' ')
  static override examples = ['<%= config.bin %> check lag', '<%= config.bin %> check lag --json']

  async run() {
    const cfg = await this.pghaConfig()
    const warn = cfg.lag.releaseStandbyVip
    const crit = cfg.lag.promote
    const f = await nodeFacts(cfg, localEndpoint(cfg), Math.max(2000, cfg.timing.probeTimeout * 2))
    let r: CheckResult
    if (!f.reachable) {
      r = {state: 'CRITICAL', text: `the local database does not answer: ${f.error}`, perf: []}
    } else if (f.inRecovery) {
      const hb = f.heartbeat
      r = hb
        ? lagCheck(`standby ${cfg.node.name}`, hb.ageMs ?? undefined, hb.lagBytes ?? undefined, warn, crit)
        : {state: 'UNKNOWN', text: `standby ${cfg.node.name}: no heartbeat row (${f.error ?? 'pgha.heartbeat is empty'}); run pgha init on the primary`, perf: []}
    } else {
      const row = peerReplication(f, cfg.peer.address)
      r = row
        ? lagCheck(`primary ${cfg.node.name}, standby ${cfg.peer.name} ${row.state}`, (row.lagSeconds ?? 0) * 1000, row.lagBytes ?? undefined, warn, crit)
        : {state: 'CRITICAL', text: `primary ${cfg.node.name}: no standby streaming from it (pg_stat_replication has no row for ${cfg.peer.address})`, perf: []}
    }
    return this.finish(r)
  }
}

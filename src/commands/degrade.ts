import {BaseCommand} from '../base-command.js'
import {ensureSyncDegraded} from '../lib/steps/sync-replication.js'

export default class Degrade extends BaseCommand<typeof Degrade> {
  static override summary =
    'Stop waiting for the synchronous standby (by hand, when fencing it keeps failing): releases the commits that wait.'
  static override description = [
    'Clears synchronous_standby_names on this primary (ALTER SYSTEM + reload), so commits stop waiting for the standby.',
    'pgha does this itself only after it powered the standby off and verified it. Run it by hand only when you know the standby is down:',
    'commits acknowledged after this exist only on this host, and if the standby is in fact alive it still believes it holds every commit.',
    'Keep it powered off (or rebuild it with pgha rejoin) before it could be promoted. The watch re-arms synchronous replication once the',
    'standby streams and has caught up again. Already degraded: nothing to do.',
  ].join(' ')
  static override examples = ['<%= config.bin %> degrade --dry-run', '<%= config.bin %> degrade --yes']

  async run() {
    const cfg = await this.pghaConfig()
    await this.confirm(
      `stop waiting for ${cfg.peer.name}? Commits acknowledged after this exist only on this host; do it only if ${cfg.peer.name} is down and stays down`,
    )
    const outcome = await ensureSyncDegraded(this.system, cfg, {
      kind: 'manual',
      detail: `by hand (pgha degrade): ${cfg.peer.name} was not fenced by pgha`,
    })
    this.render(outcome)
    return this.envelope(outcome)
  }
}

import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {ensureArchiveMounted, ensureArchiveUnmounted} from '../lib/steps/archive.js'

export default class MountArchive extends BaseCommand<typeof MountArchive> {
  static override summary = "Mount the peer's WAL archive (archive.mode nfs or bind); --unmount removes it."
  static override description = 'Idempotent, and never blocks longer than archive.timeout, even when the NFS peer is dead.'
  static override examples = [
    '<%= config.bin %> mount-archive',
    '<%= config.bin %> mount-archive --dry-run',
    '<%= config.bin %> mount-archive --unmount',
  ]
  static override flags = {
    unmount: Flags.boolean({summary: 'Unmount whatever is mounted on archive.mountpoint.', default: false}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const outcome = this.flags.unmount ? await ensureArchiveUnmounted(this.system, cfg) : await ensureArchiveMounted(this.system, cfg)
    this.render(outcome)
    return this.envelope(outcome)
  }
}

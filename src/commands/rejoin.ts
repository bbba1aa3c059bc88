import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {durationFlag, hostPortFlag} from '../flags.js'
import {UsageError} from '../lib/errors.js'
import {parseQuietWindow, type QuietWindow} from '../lib/steps/quiet-window.js'
import {ensureRejoinedAsStandby, type RejoinMethod} from '../lib/steps/rejoin.js'

export default class Rejoin extends BaseCommand<typeof Rejoin> {
  static override summary =
    "Turn this host's old primary into a standby of the new primary (through VIP-M): pg_rewind, or pg_basebackup as fallback."
  static override description = [
    'Stops PostgreSQL, checks pg_controldata (wal_log_hints or data checksums → pg_rewind; neither → pg_basebackup) and says which path and why.',
    'A data directory that lost power gets crash recovery in single-user mode first (pg_rewind needs a clean target).',
    'pg_basebackup copies into a new directory next to the old one (free space checked first); the old one is moved aside, never deleted.',
    "This host's postgresql.conf/pg_hba.conf are kept; standby.signal, primary_conninfo (passfile, no password) and restore_command (peer archive) are written.",
    'Starts and waits until pg_stat_wal_receiver says streaming. Already streaming from VIP-M: nothing to do.',
  ].join(' ')
  static override examples = [
    '<%= config.bin %> rejoin --dry-run',
    '<%= config.bin %> rejoin --yes',
    '<%= config.bin %> rejoin --method basebackup --window 01:00-05:00 --max-wait 12h --yes',
  ]
  static override flags = {
    method: Flags.option({
      options: ['auto', 'rewind', 'basebackup'] as const,
      default: 'auto',
      summary: 'auto: pg_rewind when possible, pg_basebackup when not or when pg_rewind fails.',
    })(),
    window: Flags.string({summary: 'Copy only inside this local-time window, HH:MM-HH:MM (may pass midnight); waits for it.'}),
    'max-wait': durationFlag({summary: 'Longest wait for --window before giving up (nothing changed).', default: '12h', max: 86_400_000}),
    timeout: durationFlag({summary: 'Bound for the whole rejoin, copy included.', default: '30m', min: 1000, max: 86_400_000}),
    source: hostPortFlag({summary: 'Copy/stream from HOST:PORT instead of VIP-M (lab and tests).', hidden: true}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    let window: QuietWindow | undefined
    if (this.flags.window !== undefined) {
      const w = parseQuietWindow(this.flags.window)
      if ('error' in w) throw new UsageError(w.error, 'e.g. --window 01:00-05:00')
      window = w
    }
    const outcome = await ensureRejoinedAsStandby(this.system, cfg, {
      method: this.flags.method as RejoinMethod,
      window,
      maxWaitMs: this.flags['max-wait'],
      timeoutMs: this.flags.timeout,
      source: this.flags.source,
      confirm: (q) => this.confirm(q),
    })
    this.render(outcome, outcome.method === 'none' ? [] : [`path: ${outcome.method} — ${outcome.why}`])
    return this.envelope(outcome)
  }
}

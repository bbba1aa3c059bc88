import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {choice, labFlags, layoutFromFlags, requireLab} from '../../lib/lab/cli.js'
import {loadCounts, writeGap} from '../../lib/lab/figures.js'
import {loadRunning, readLoadLog, startLoad, stopLoad} from '../../lib/lab/load.js'
import {seconds} from '../../lib/lab/timeline.js'

export default class LabLoad extends BaseCommand<typeof LabLoad> {
  static override summary =
    'Start or stop the lab application: numbered writes through VIP-M every 50 ms, each attempt logged (JSON lines).'
  static override examples = ['<%= config.bin %> lab load start', '<%= config.bin %> lab load stop']
  static override args = {action: Args.string({description: 'start or stop', required: true})}
  static override flags = {
    ...labFlags,
    run: Flags.string({summary: 'Name of the run (rows and log file carry it). Default: run-<timestamp>.'}),
    'interval-ms': Flags.integer({summary: 'Time between writes.', default: 50, min: 10, max: 10_000}),
  }

  async run() {
    const lab = layoutFromFlags(this.flags)
    requireLab(lab)
    if (choice('action', this.args.action, ['start', 'stop'] as const) === 'start') {
      const already = loadRunning(lab)
      const r = already ?? (await startLoad(lab, {run: this.flags.run, intervalMs: this.flags['interval-ms']}))
      const outcome = {
        changed: !already,
        summary: already
          ? `load run ${r.run} already going (pid ${r.pid})`
          : `load run ${r.run} started (pid ${r.pid}): writing through VIP-M 192.0.2.100 every ${this.flags['interval-ms']} ms`,
        ...r,
      }
      this.render(outcome, [`log: ${r.log}`])
      return this.envelope(outcome)
    }
    const r = await stopLoad(lab)
    if (!r) {
      const outcome = {changed: false, summary: 'no load run was going'}
      this.render(outcome)
      return this.envelope(outcome)
    }
    const entries = readLoadLog(r.log)
    const c = loadCounts(entries)
    const gap = writeGap(entries, r.startedAt)
    const outcome = {
      changed: true,
      summary: `load run ${r.run} stopped: ${c.acked} writes acknowledged, ${c.failed} attempts failed`,
      ...r,
      ...c,
      longestGapMs: gap.gapMs,
    }
    this.render(outcome, [`longest stretch without an acknowledged write: ${seconds(gap.gapMs)}`, `log: ${r.log}`])
    return this.envelope(outcome)
  }
}

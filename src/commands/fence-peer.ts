import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {durationFlag} from '../flags.js'
import {formatDuration} from '../lib/config/units.js'
import {ensurePeerFenced, type FencePeerAction} from '../lib/steps/fence-peer.js'
import {bmcLabel} from '../lib/system/fence-argv.js'

export default class FencePeer extends BaseCommand<typeof FencePeer> {
  static override summary = 'Power the peer off (or on, reboot, or read its power) through its BMC, and verify it.'
  static override description = `Uses fence.agent (ipmitool, a fence-agents program, or a command). After "off" a power status must read off before the peer counts as fenced. The BMC password is passed by environment (ipmitool -E) or stdin (fence-agents), never on the command line.`
  static override examples = [
    '<%= config.bin %> fence-peer --action status',
    '<%= config.bin %> fence-peer --yes',
    '<%= config.bin %> fence-peer --retry --max-wait 2m --yes',
    '<%= config.bin %> fence-peer --dry-run',
  ]

  static override flags = {
    action: Flags.option({
      options: ['off', 'reboot', 'status', 'on'] as const,
      default: 'off',
      summary: "What to do with the peer's power.",
    })(),
    retry: Flags.boolean({
      default: false,
      summary: 'Keep trying with backoff (0.5 s doubling to 5 s) until it works or --max-wait runs out.',
    }),
    'max-wait': durationFlag({default: '60s', summary: 'With --retry: give up after this long (e.g. 30s, 2m).', max: 86_400_000}),
  }

  async run() {
    const action = this.flags.action as FencePeerAction
    const maxWaitMs = this.flags['max-wait']
    const cfg = await this.pghaConfig()
    if (action !== 'status') {
      await this.confirm(`power ${action} peer ${cfg.peer.name} (${cfg.peer.address}) through BMC ${bmcLabel(cfg.fence)}?`)
    }
    const outcome = await ensurePeerFenced(this.system, cfg, {
      action,
      retry: this.flags.retry,
      maxWaitMs,
      onAttempt: (a) =>
        this.logger.debug(`fence attempt ${a.attempt}: ${a.ok ? 'ok' : 'failed'} after ${a.elapsedMs} ms, power ${a.power}: ${a.detail}`),
    })
    const limits = this.flags.retry ? `, retried up to ${formatDuration(maxWaitMs)}` : ''
    this.render(outcome, [
      `${outcome.attempts} attempt${outcome.attempts === 1 ? '' : 's'}, fence.timeout ${formatDuration(cfg.fence.timeout)}${limits}`,
    ])
    return this.envelope(outcome)
  }
}

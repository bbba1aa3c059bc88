import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {findWritablePrimary, primaryCandidates} from '../lib/steps/pause.js'
import {abortSwitchover, runSwitchover} from '../lib/steps/switchover.js'
import {durationFlag, hostPortFlag} from '../flags.js'

export default class Switchover extends BaseCommand<typeof Switchover> {
  static override summary = 'Planned role swap with zero acknowledged-write loss; runs the half of the host it is run on.'
  static override description = [
    'On the primary it runs the demote half (wait for the standby half, CHECKPOINT, stop fast, release VIP-M, rejoin as standby, claim VIP-S);',
    "on the standby the promote half (prove the old primary's shutdown checkpoint is received and replayed, promote, claim VIP-M, release VIP-S).",
    'A marker in pgha.cluster_state (replicated) keeps both watch loops to observing; the other half runs by `pgha switchover` on the other host',
    'or by its watch loop. Either half gives up without changing anything when the other does not come within --partner-timeout.',
    '--dry-run checks the preconditions and prints the whole plan. --abort clears a marker left by a half that died.',
  ].join(' ')
  static override examples = [
    '<%= config.bin %> switchover --dry-run',
    '<%= config.bin %> switchover --yes            # on node2 (standby) and on node1 (primary), in either order',
    '<%= config.bin %> switchover --to node2 --partner-timeout 2m --yes',
    '<%= config.bin %> switchover --abort --yes',
  ]
  static override flags = {
    to: Flags.string({summary: 'Node that must become primary (default: the current standby); already primary → nothing to do.'}),
    timeout: durationFlag({summary: "Bound for this host's half.", default: '5m', min: 1000, max: 86_400_000}),
    'partner-timeout': durationFlag({
      summary: "How long to wait for the other host's half at each hand-over.",
      default: '60s',
      min: 1000,
      max: 3_600_000,
    }),
    abort: Flags.boolean({summary: 'Clear a stale switchover marker on the primary (watch loops act again).', default: false}),
    peer: hostPortFlag({summary: "The peer's database as HOST:PORT (default peer.address:postgres.port).", hidden: true}),
    source: hostPortFlag({summary: 'The new primary as HOST:PORT (default VIP-M).', hidden: true}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const peer = this.flags.peer ? {kind: 'tcp' as const, ...this.flags.peer} : undefined
    if (this.flags.abort) {
      const candidates = primaryCandidates(cfg)
      if (peer) candidates[1] = {label: `peer (${peer.host}:${peer.port})`, endpoint: peer}
      await this.confirm('clear the switchover marker? Do it only when neither half is running.')
      const primary = await findWritablePrimary(cfg, candidates, 5000)
      const outcome = await abortSwitchover(this.system, cfg, primary.endpoint)
      this.render(outcome)
      return this.envelope(outcome)
    }
    const timeoutMs = this.flags.timeout
    const partnerTimeoutMs = this.flags['partner-timeout']
    await this.confirm(
      `run this host's half of a switchover${this.flags.to ? ` to ${this.flags.to}` : ''} (stops or promotes PostgreSQL and moves VIPs)?`,
    )
    const outcome = await runSwitchover(this.system, cfg, {
      to: this.flags.to,
      timeoutMs,
      partnerTimeoutMs,
      peer,
      source: this.flags.source,
    })
    const extra = this.dryRun
      ? ['plan (each step on the host named):', ...outcome.plan.map((l) => '  ' + l)]
      : outcome.timeline.map((e) => `  +${(e.at / 1000).toFixed(1)}s ${e.event}`)
    this.render(outcome, extra)
    return this.envelope(outcome)
  }
}

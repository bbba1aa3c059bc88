import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {durationFlag} from '../flags.js'
import {StepFailedError} from '../lib/errors.js'
import {heartbeat, HEARTBEAT_TARGETS, type HeartbeatTarget} from '../lib/steps/heartbeat.js'

export default class Heartbeat extends BaseCommand<typeof Heartbeat> {
  static override summary = 'The keepalive: write the heartbeat row on a primary, read its replicated age and lag on a standby.'
  static override description = 'Connects as the heartbeat user (postgres.heartbeat) with a hard timeout. Exit 1 when the probe fails.'
  static override examples = [
    '<%= config.bin %> heartbeat',
    '<%= config.bin %> heartbeat --target vip-primary --json',
    '<%= config.bin %> heartbeat --target peer --timeout 3s',
  ]
  static override flags = {
    target: Flags.option({
      options: HEARTBEAT_TARGETS,
      summary: "local socket, the peer's address, VIP-M or VIP-S.",
      default: 'local' as HeartbeatTarget,
    })(),
    timeout: durationFlag({summary: 'Probe timeout (default: timing.probeTimeout), e.g. 3s.', max: 3_600_000}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const timeoutMs = this.flags.timeout
    const target = this.flags.target as HeartbeatTarget
    const r = await heartbeat(this.system, cfg, target, {timeoutMs})
    if (!r.ok) {
      throw new StepFailedError(
        `heartbeat via ${target} (${r.address}) failed after ${r.latencyMs} ms: ${r.error}`,
        "check that PostgreSQL runs there, pgha init was run, and the heartbeat user's pg_hba/password",
      )
    }
    const lag = r.lagBytes === null || r.lagBytes === undefined ? 'no standby connected' : `${r.lagBytes} bytes`
    const sync = r.syncWith ? `synchronous with ${r.syncWith}` : 'not synchronous with any standby'
    const summary =
      r.role === 'primary'
        ? `primary at ${r.address}: wrote last_alive ${r.lastAlive}${r.rolledBack ? ' (rolled back: dry run)' : ''}, standby lag ${lag}, ${sync}, ${r.latencyMs} ms`
        : `standby at ${r.address}: replicated heartbeat is ${r.ageMs} ms old (last_alive ${r.lastAlive}), lag then ${lag}, primary then ${sync}, ${r.latencyMs} ms`
    const outcome = {changed: r.role === 'primary' && !r.rolledBack, summary, ...r}
    this.render(outcome)
    return this.envelope(outcome)
  }
}

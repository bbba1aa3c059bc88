import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {StepFailedError} from '../../lib/errors.js'
import {labFlags, layoutFromFlags} from '../../lib/lab/cli.js'
import {labDown} from '../../lib/lab/lab.js'
import {renderSummary} from '../../lib/lab/report.js'
import {pickScenarios, runDrill} from '../../lib/lab/run-drill.js'
import {SCENARIO_NAMES} from '../../lib/lab/scenarios.js'

export default class LabDrill extends BaseCommand<typeof LabDrill> {
  static override summary = 'Run failover drills on the lab under write load and print a timeline and honest figures per scenario.'
  static override description = [
    `Scenarios (default: all but the heavy-load ones, in this order): ${SCENARIO_NAMES.join(', ')}.`,
    'Each starts from the steady state (one primary with VIP-M, one streaming standby with VIP-S, pgha watch on both;',
    'failback starts where failover ended). A client writes through VIP-M every 50 ms and a sampler checks every 100 ms',
    'that at most one host is writable with VIP-M. heavy-* scenarios (run by name) write through 8 connections as fast as',
    'commits return. In sync mode (the default) any acknowledged write missing on the final primary fails the scenario.',
    'Exit 1 when any check fails. Brings the lab up first if needed (root).',
  ].join(' ')
  static override strict = false
  static override examples = [
    '<%= config.bin %> lab drill failover failback',
    '<%= config.bin %> lab drill',
    '<%= config.bin %> lab drill fence-broken --json',
    '<%= config.bin %> lab drill heavy-failover heavy-standby-loss',
  ]
  static override args = {scenario: Args.string({description: `scenarios to run: ${SCENARIO_NAMES.join(', ')}`})}
  static override flags = {
    ...labFlags,
    down: Flags.boolean({summary: 'Remove the lab when the drill ends.', default: false}),
  }

  async run() {
    const lab = layoutFromFlags(this.flags)
    const names = ((await this.parse(LabDrill)).argv as string[]).filter(Boolean)
    pickScenarios(names) // unknown names: exit 2 before anything is built
    const print = (line: string) => {
      if (!this.jsonEnabled()) this.log(line)
    }
    let outcome
    try {
      outcome = await runDrill(lab, names, print)
    } finally {
      if (this.flags.down) await labDown(lab)
    }
    for (const line of renderSummary(outcome.results)) print(line)
    if (!this.flags.down) print(`\nthe lab stays up: pgha lab status, pgha lab down${lab.name === 'pghalab' ? '' : ` --name ${lab.name}`}`)
    if (!outcome.passed) {
      const failed = outcome.results.filter((r) => !r.passed).map((r) => r.name)
      if (this.jsonEnabled()) {
        this.logJson({status: 'error', exitCode: 1, error: {message: `drill failed: ${failed.join(', ')}`}, result: outcome})
        this.exit(1)
      }
      throw new StepFailedError(
        `drill failed: ${failed.join(', ')}`,
        'read the timeline above: the ✗ lines say what did not happen in time',
      )
    }
    return this.envelope({changed: true, summary: `drill passed: ${outcome.results.map((r) => r.name).join(', ')}`, ...outcome})
  }
}

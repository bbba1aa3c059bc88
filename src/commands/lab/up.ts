import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {labFlags, layoutFromFlags} from '../../lib/lab/cli.js'
import {labUp} from '../../lib/lab/lab.js'

export default class LabUp extends BaseCommand<typeof LabUp> {
  static override summary =
    'Build the lab: two hosts (network + PID namespaces), BMCs, primary + streaming standby, VIPs, pgha watch (root).'
  static override description = [
    'Sealed network 192.0.2.0/24 in namespaces (gateway 192.0.2.1, node1 .11, node2 .12, VIP-M .100, VIP-S .101,',
    'BMCs .201/.202 udp 623 running ipmi_sim). Each host is a PID namespace, so a power cut through its BMC really kills',
    'everything on it. Idempotent: an up lab is left alone; a half-built one is removed and rebuilt. Needs root and',
    'the packages scripts/setup.sh installs (exit 2 names what is missing).',
  ].join(' ')
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --name mylab --dir /srv/lab']
  static override flags = {
    ...labFlags,
    'no-watch': Flags.boolean({summary: 'Do not start pgha watch in the hosts (PostgreSQL and VIPs only).', default: false}),
  }

  async run() {
    const lab = layoutFromFlags(this.flags)
    const say = (line: string) => {
      if (!this.jsonEnabled()) this.log(`  ${line}`)
    }
    const outcome = await labUp(lab, say, {watch: this.flags['no-watch'] ? false : undefined})
    this.render({...outcome}, outcome.changed ? [`next: pgha lab status, pgha lab drill, pgha lab down (files: ${lab.dir})`] : [])
    return this.envelope({...outcome, dir: lab.dir, name: lab.name})
  }
}

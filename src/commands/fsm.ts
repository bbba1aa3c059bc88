import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {renderTableMermaid, renderTableText} from '../lib/core/fsm-render.js'
import {TRANSITIONS} from '../lib/core/transitions.js'

/** Hidden: prints the watch loop's transition table. Needs no config file. */
export default class Fsm extends BaseCommand<typeof Fsm> {
  static override hidden = true
  static override summary = "Print the watch loop's transition table (text or a mermaid state diagram)."
  static override examples = ['<%= config.bin %> fsm', '<%= config.bin %> fsm --format mermaid > fsm.mmd', '<%= config.bin %> fsm --json']
  static override flags = {
    format: Flags.option({options: ['text', 'mermaid'] as const, summary: 'Output format.', default: 'text'})(),
  }

  async run() {
    const text = this.flags.format === 'mermaid' ? renderTableMermaid() : renderTableText()
    const rows = TRANSITIONS.map((r, i) => ({order: i + 1, id: r.id, from: [...r.from], to: r.to, when: r.guard, actions: [...r.actions]}))
    const outcome = {changed: false, summary: `${rows.length} transitions, first match wins`, rows}
    if (!this.jsonEnabled()) this.log(text)
    return this.envelope(outcome)
  }
}

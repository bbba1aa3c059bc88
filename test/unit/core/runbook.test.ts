/** The runbook advice and the transition table stay in step: every warn/alert rule has advice, no advice is orphaned. */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {renderRunbookDoc, runbookRows} from '../../../src/lib/core/runbook-doc.js'
import {RUNBOOK_ADVICE} from '../../../src/lib/core/runbook.js'
import {TRANSITIONS} from '../../../src/lib/core/transitions.js'

test('every warn/alert rule of the transition table has advice', () => {
  const missing = runbookRows()
    .map((r) => r.id)
    .filter((id) => !RUNBOOK_ADVICE[id]?.trim())
  assert.deepEqual(missing, [], `add advice to src/lib/core/runbook.ts for: ${missing.join(', ')}`)
})

test('no advice for a rule that is not a warn/alert row of the table', () => {
  const paged = new Set(runbookRows().map((r) => r.id))
  const orphans = Object.keys(RUNBOOK_ADVICE).filter((id) => !paged.has(id))
  assert.deepEqual(orphans, [], `remove (or fix the id of) the advice in src/lib/core/runbook.ts for: ${orphans.join(', ')}`)
})

test('the runbook page has one row per warn/alert rule, with its advice', () => {
  const doc = renderRunbookDoc()
  const rows = doc.split('\n').filter((l) => l.startsWith('| `'))
  assert.equal(rows.length, runbookRows().length)
  for (const r of runbookRows()) {
    const row = rows.find((l) => l.startsWith(`| \`${r.id}\` |`))
    assert.ok(row, `no row for ${r.id}`)
    assert.ok(row.includes(`| ${r.severity} |`), `${r.id}: severity`)
    assert.ok(row.includes(RUNBOOK_ADVICE[r.id].replace(/\|/g, '\\|')), `${r.id}: advice`)
  }
  const quiet = TRANSITIONS.filter((r) => r.severity === undefined)
  for (const r of quiet) assert.ok(!doc.includes(`| \`${r.id}\` |`), `${r.id} has no severity and must not be listed`)
})

test('a missing piece of advice shows in the page and in the check', () => {
  const row = runbookRows()[0]
  const {[row.id]: _dropped, ...rest} = RUNBOOK_ADVICE
  assert.ok(renderRunbookDoc(TRANSITIONS, rest).includes(`| \`${row.id}\` |`))
  assert.ok(renderRunbookDoc(TRANSITIONS, rest).includes('(no advice yet)'))
})

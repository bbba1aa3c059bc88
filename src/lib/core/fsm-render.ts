/** The transition table as data → text for humans and a mermaid diagram for docs/design.md. */
import {type Transition, TRANSITIONS} from './transitions.js'
import {ROLES, type Role} from './types.js'

const rolesText = (from: readonly Role[]) => (from.length === ROLES.length ? '*' : from.join(','))

/** One line per row, in match order: #, rule, from, to, when, actions. */
export function renderTableText(rows: readonly Transition[] = TRANSITIONS): string {
  const cells = rows.map((r, i) => [
    String(i + 1),
    r.id,
    rolesText(r.from),
    r.to,
    r.guard,
    r.actions.length > 0 ? r.actions.join(' → ') : '—',
  ])
  const head = ['#', 'rule', 'from', 'to', 'when', 'actions']
  const widths = head.map((h, col) => Math.max(h.length, ...cells.map((c) => c[col].length)))
  const line = (c: string[]) =>
    c
      .map((v, col) => (col === c.length - 1 ? v : v.padEnd(widths[col])))
      .join('  ')
      .trimEnd()
  return [
    `pgha watch transitions: ${rows.length} rows, first match wins (top to bottom); "same" keeps the role.`,
    'Actions run in order, stop at the first failure; the role changes only when all succeed.',
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
  ].join('\n')
}

const label = (s: string) => s.replace(/[:;#]/g, ',')

/** A mermaid stateDiagram of the role-changing rows (rows that keep the role are listed as a note). */
export function renderTableMermaid(rows: readonly Transition[] = TRANSITIONS): string {
  const out = ['stateDiagram-v2', '  [*] --> starting']
  let kept = 0
  for (const r of rows) {
    if (r.to === 'same') {
      kept++
      continue
    }
    for (const from of r.from) if (from !== r.to) out.push(`  ${from} --> ${r.to} : ${r.id} (${label(r.guard)})`)
  }
  out.push(`  %% ${kept} more rows keep the role (guards, steady, skip, wait, repair): pgha fsm --format text`)
  return out.join('\n')
}

import type {ScenarioResult} from './drill.js'
import {LAB_NODES} from './layout.js'
import {clock, renderTimeline, seconds} from './timeline.js'

/** Pure: the human report of one scenario (timeline, checks, figures, final state). */
export function renderScenario(r: ScenarioResult, opts: {timeline?: boolean} = {}): string[] {
  const out: string[] = []
  out.push('', `━━ ${r.name}: ${r.title} ━━`)
  if (opts.timeline !== false) {
    out.push(`  timeline (seconds from the fault${r.faultAt === undefined ? ', none injected' : ` at ${clock(r.faultAt)}`}):`)
    out.push(...renderTimeline(r.timeline, r.faultAt ?? r.startedAt))
  }
  const f = r.figures
  out.push('  figures:')
  const row = (k: string, v: string) => out.push(`    ${k.padEnd(30)} ${v}`)
  if (f.writeGapMs !== undefined) row('writes interrupted for', `${seconds(f.writeGapMs)} (last acknowledged write before → first after)`)
  if (f.faultToWriteMs !== undefined) row('fault → first write after', seconds(f.faultToWriteMs))
  else if (r.faultAt !== undefined && f.writeGapMs === undefined) row('fault → first write after', 'writes did not come back')
  else if (r.faultAt !== undefined) row('fault → first write after', 'writes went on (no pause of 1 s or more)')
  if (f.recoveryMs !== undefined) row(f.recoveryLabel ?? 'fault → expected state', seconds(f.recoveryMs))
  row(
    'writes',
    `${f.acked} acknowledged, ${f.failedAttempts} failed attempts, ${f.lost === null ? 'lost: n/a (no primary to ask)' : `${f.lost} acknowledged lost`}${f.replication ? ` (replication ${f.replication})` : ''}`,
  )
  row('hosts writable with VIP-M', `at most ${f.maxWritableWithVipM} (${f.samples} samples, every 100 ms)`)
  row('final state', LAB_NODES.map((n) => `${n} ${r.final[n]}`).join(' · '))
  for (const n of r.notes) out.push(`    note: ${n}`)
  const failed = r.checks.filter((c) => !c.ok)
  out.push(`  ${r.passed ? 'PASS' : 'FAIL'}${failed.length > 0 ? ': ' + failed.map((c) => c.text).join('; ') : ''}`)
  return out
}

export function renderSummary(results: ScenarioResult[]): string[] {
  const out = ['', 'drill summary:']
  for (const r of results) {
    const f = r.figures
    const key = f.recoveryMs !== undefined ? `recovered in ${seconds(f.recoveryMs)}` : 'no recovery time'
    const gap = f.writeGapMs !== undefined ? `, writes interrupted ${seconds(f.writeGapMs)}` : ''
    out.push(
      `  ${r.passed ? 'PASS' : 'FAIL'}  ${r.name.padEnd(16)} ${key}${gap}, lost ${f.lost ?? 'n/a'}, max writable+VIP-M ${f.maxWritableWithVipM}`,
    )
  }
  return out
}

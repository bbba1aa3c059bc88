import {UsageError} from '../errors.js'
import {Drill, ensureSteady, type Roles, type ScenarioResult} from './drill.js'
import {observedRole, type Sample} from './figures.js'
import {labUp, readManifest} from './lab.js'
import {LAB_NODES, type LabLayout} from './layout.js'
import {renderScenario} from './report.js'
import {SCENARIO_NAMES, SCENARIOS, type Scenario} from './scenarios.js'
import {ipmiPower} from './bmcs.js'

/**
 * `lab drill`: bring the lab up if needed, then run the scenarios in order, each from its
 * starting state, printing each report as soon as the scenario ends.
 */

export function pickScenarios(names: string[]): Scenario[] {
  if (names.length === 0) return SCENARIOS.filter((s) => !s.onRequest)
  return names.map((n) => {
    const s = SCENARIOS.find((x) => x.name === n)
    if (!s) throw new UsageError(`unknown drill scenario ${JSON.stringify(n)}`, `choose from: ${SCENARIO_NAMES.join(', ')}`)
    return s
  })
}

/** One host off and the other primary_standby: where failback starts. */
function afterFailover(s: Sample): Roles | undefined {
  const survivor = LAB_NODES.find((n) => observedRole(s.hosts[n]) === 'primary_standby')
  const down = LAB_NODES.find((n) => !s.hosts[n].on)
  return survivor && down ? {primary: down, standby: survivor} : undefined
}

async function startingRoles(d: Drill, sc: Scenario): Promise<Roles | undefined> {
  if (sc.start === 'after-failover') {
    const now = afterFailover(await d.sample())
    if (now) return now
    const roles = await ensureSteady(d)
    if (!roles) return undefined
    d.note(`setup: power off ${roles.primary} so there is something to fail back`)
    const {power} = await ipmiPower(d.lab, roles.primary, 'off')
    if (power !== 'off') return undefined
    let found: Roles | undefined
    await d.until(`setup: ${roles.standby} took over`, 30_000, (s) => (found = afterFailover(s)) !== undefined, {record: false})
    return found
  }
  return ensureSteady(d)
}

export interface DrillOutcome {
  passed: boolean
  results: ScenarioResult[]
}

export async function runDrill(lab: LabLayout, names: string[], out: (line: string) => void): Promise<DrillOutcome> {
  const scenarios = pickScenarios(names)
  const up = await labUp(lab, (l) => out(`  ${l}`))
  out(up.summary)
  const m = readManifest(lab)
  if (!m?.watch) {
    throw new UsageError(
      `lab ${lab.name} runs without pgha watch, so there is nothing to drill`,
      'pgha watch is missing from this build (npm run build), or the lab was made with --no-watch: pgha lab down && pgha lab up',
    )
  }
  const d = new Drill(lab, out)
  d.sampler.start()
  const results: ScenarioResult[] = []
  try {
    for (const sc of scenarios) {
      d.begin()
      out(`\n▶ ${sc.name}: getting to its starting state…`)
      const roles = await startingRoles(d, sc)
      if (!roles) {
        d.check(false, `no ${sc.start === 'steady' ? 'steady' : 'after-failover'} state to start ${sc.name} from`)
        results.push(await d.finish(sc.name, 'could not start'))
      } else {
        const title = sc.title(roles)
        out(`▶ ${sc.name}: ${title}`)
        try {
          await sc.run(d, roles)
        } catch (e) {
          d.check(false, `scenario step failed: ${(e as Error).message.split('\n')[0]}`)
        }
        results.push(await d.finish(sc.name, title, roles))
      }
      for (const line of renderScenario(results.at(-1)!)) out(line)
    }
  } finally {
    await d.sampler.stop()
  }
  return {passed: results.every((r) => r.passed), results}
}

import {readFileSync} from 'node:fs'
import type {Drill, Roles} from './drill.js'
import {HEAVY_CONNECTIONS, type HeavyLoad, replicationMode} from './heavy.js'
import {ackedBetween, type DegradeTick, degradeTick} from './heavy-figures.js'
import {sleep} from './host.js'
import {readLoadLog} from './load.js'
import {BASELINE_MS, expectTakeover, FAILOVER_LIMIT_MS, powerViaBmc, role, type Scenario, withLoad} from './scenario-steps.js'
import {parseWatchLog} from './timeline.js'

/**
 * Scenarios under heavy load: HEAVY_CONNECTIONS connections inserting through VIP-M as fast
 * as their commits return, every acknowledged id recorded by the client. The drill then
 * counts acknowledged ids missing on the final primary: in sync mode any is a failure; in
 * async mode the count is reported. Run by name (`pgha lab drill heavy-failover`).
 */

const HEAVY: HeavyLoad = {connections: HEAVY_CONNECTIONS}
/** A commit the standby confirmed just before its power went may be answered a moment after. */
const IN_FLIGHT_MS = 300

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** The rate before the fault, and that writes came back after `from`. */
function checkLoad(d: Drill, from: number | undefined, what: string): void {
  if (!d.load || d.faultAt === undefined) return
  const entries = readLoadLog(d.load.log)
  const before = ackedBetween(entries, d.faultAt - BASELINE_MS, d.faultAt)
  d.notes.push(`${before} commits acknowledged in the ${BASELINE_MS / 1000} s before the fault (${HEAVY.connections} connections)`)
  if (from !== undefined) {
    const after = ackedBetween(entries, from, Number.POSITIVE_INFINITY)
    d.check(after > 0, `writes go on ${what} (${after} acknowledged after it)`)
  }
}

/** Sync mode, standby lost: commits wait until the primary has fenced it, then proceed. */
async function checkFenceBeforeDegrade(d: Drill, r: Roles): Promise<void> {
  if (!d.load || d.faultAt === undefined) return
  const faultAt = d.faultAt
  // The tick's line is written when all its actions are done (claiming VIP-S may take seconds).
  let tick: DegradeTick | undefined
  for (let i = 0; i < 100 && !(tick = degradeTick(parseWatchLog(readText(d.lab.hosts[r.primary].watchLog)), faultAt)); i++) await sleep(100)
  if (!d.check(tick !== undefined, `${r.primary} degraded synchronous replication (a tick ran degradeSync)`) || !tick) return
  d.check(tick.fencedFirst, `${r.primary} fenced ${r.standby} before degrading, in the same tick`)
  const early = ackedBetween(readLoadLog(d.load.log), faultAt + IN_FLIGHT_MS, tick.startedAt)
  d.check(
    early === 0,
    `no commit acknowledged from ${IN_FLIGHT_MS} ms after the power cut until the fencing tick began: commits waited for the standby (${early})`,
  )
  d.notes.push(`commits were blocked from the power cut until the degrade: ${((tick.degradedAt - faultAt) / 1000).toFixed(2)} s`)
  checkLoad(d, tick.degradedAt, 'after the degrade')
}

export const HEAVY_SCENARIOS: Scenario[] = [
  {
    name: 'heavy-failover',
    title: (r) =>
      `${HEAVY.connections} connections inserting as fast as they can through VIP-M; power cut on the primary (${r.primary}) mid-load; count the acknowledged inserts missing on the new primary`,
    start: 'steady',
    onRequest: true,
    run: async (d, r) => {
      await withLoad(
        d,
        'heavy-failover',
        async () => {
          d.fault(`power cut on ${r.primary} (the primary) under heavy load`, await powerViaBmc(d, r.primary, 'off'))
          await expectTakeover(d, r.standby, r.primary, ' under heavy load')
        },
        HEAVY,
      )
      const at = d.recoveryMs !== undefined && d.faultAt !== undefined ? d.faultAt + d.recoveryMs : undefined
      checkLoad(d, at, `on ${r.standby} after the takeover`)
    },
  },
  {
    name: 'heavy-standby-loss',
    title: (r) =>
      `${HEAVY.connections} connections inserting as fast as they can through VIP-M; power cut on the standby (${r.standby}): commits wait, the primary fences it, degrades, commits proceed; nothing acknowledged is lost`,
    start: 'steady',
    onRequest: true,
    run: async (d, r) => {
      d.requireNoLoss = true
      await withLoad(
        d,
        'heavy-standby-loss',
        async () => {
          d.fault(`power cut on ${r.standby} (the standby) under heavy load`, await powerViaBmc(d, r.standby, 'off'))
          d.recoveryMs = await d.until(
            `${r.primary} is primary_standby (VIP-M and VIP-S)`,
            FAILOVER_LIMIT_MS,
            (s) => role(s, r.primary) === 'primary_standby',
            {from: d.faultAt},
          )
        },
        HEAVY,
      )
      if (replicationMode(d.lab) === 'sync') await checkFenceBeforeDegrade(d, r)
      else checkLoad(d, d.faultAt, 'after the power cut')
    },
  },
]

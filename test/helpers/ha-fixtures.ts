/** Observation snapshots and a config for decide() unit tests: steady states to vary from. */
import {type Config, configSchema} from '../../src/lib/config/schema.js'
import type {DataDirKind, DbProbe, LocalDb, Observations, VipState} from '../../src/lib/core/types.js'

/** Timings pinned (1s tick, 3 checks, 1s probe) so the tests read the same whatever the shipped defaults; fence.delay 2s; lag limits 600s/160MB, 400s/80MB. */
export function testConfig(
  over: {
    fence?: Record<string, unknown>
    node?: Record<string, unknown>
    archive?: Record<string, unknown>
    replication?: Record<string, unknown>
  } = {},
): Config {
  return configSchema.parse({
    cluster: 'test',
    node: {name: 'node1', address: '192.0.2.11', ...over.node},
    peer: {name: 'node2', address: '192.0.2.12'},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {datadir: '/var/lib/postgresql/15/main'},
    archive: over.archive ?? {mode: 'none'},
    timing: {interval: '1s', checkTimes: 3, probeTimeout: '1s'},
    fence: over.fence ?? {agent: 'ipmitool', address: '192.0.2.202', user: 'admin', passwordEnv: 'IPMI_PASSWORD', delay: '2s'},
    ...(over.replication ? {replication: over.replication} : {}),
  })
}

export const WRITABLE: DbProbe = {port: 'yes', heartbeat: 'ok', inRecovery: 'no'}
export const REPLAYING: DbProbe = {port: 'yes', heartbeat: 'ok', inRecovery: 'yes', heartbeatAgeMs: 500, lagBytes: 4096}
export const STOPPED: DbProbe = {port: 'no', heartbeat: 'failed', inRecovery: 'unknown'}
export const HUNG: DbProbe = {port: 'yes', heartbeat: 'timeout', inRecovery: 'unknown'}
/** PostgreSQL answers 57P03 (starting up, replaying WAL): alive, not ready. */
export const STARTING_UP: DbProbe = {
  port: 'yes',
  heartbeat: 'starting',
  inRecovery: 'unknown',
  answer: 'the database system is starting up (57P03)',
}
/** PostgreSQL answers, but the heartbeat role has not been replayed yet: alive, not ready. */
export const NO_ROLE: DbProbe = {port: 'yes', heartbeat: 'rejected', inRecovery: 'unknown', answer: 'role "pgha" does not exist (28000)'}
/** Nothing answers at all (host off or unreachable). */
export const SILENT: DbProbe = {port: 'unknown', heartbeat: 'timeout', inRecovery: 'unknown'}

export const HERE: VipState = {heldLocally: 'yes', answeredElsewhere: 'no'}
export const THERE: VipState = {heldLocally: 'no', answeredElsewhere: 'yes'}
export const FREE: VipState = {heldLocally: 'no', answeredElsewhere: 'no'}
export const UNSURE: VipState = {heldLocally: 'no', answeredElsewhere: 'unknown'}

export function local(
  p: DbProbe,
  dataDir: DataDirKind,
  running: 'yes' | 'no' = p.heartbeat === 'failed' && p.port === 'no' ? 'no' : 'yes',
): LocalDb {
  return {...p, running, dataDir}
}

const base = (o: Partial<Observations> & Pick<Observations, 'local'>): Observations => ({
  gateway: 'yes',
  paused: false,
  switchover: false,
  vipPrimary: FREE,
  vipStandby: FREE,
  viaVipPrimary: SILENT,
  viaVipStandby: SILENT,
  peer: SILENT,
  archive: 'not_configured',
  ...o,
})

/** Healthy primary: writable, VIP-M here, the standby replaying behind VIP-S. */
export const primaryObs = (o: Partial<Observations> = {}) =>
  base({
    local: local(WRITABLE, 'primary'),
    vipPrimary: HERE,
    vipStandby: THERE,
    viaVipPrimary: WRITABLE,
    viaVipStandby: REPLAYING,
    peer: REPLAYING,
    ...o,
  })

/** Healthy standby: replaying, VIP-S here, the primary writable behind VIP-M. */
export const standbyObs = (o: Partial<Observations> = {}) =>
  base({
    local: local(REPLAYING, 'standby'),
    vipPrimary: THERE,
    vipStandby: HERE,
    viaVipPrimary: WRITABLE,
    viaVipStandby: REPLAYING,
    peer: WRITABLE,
    ...o,
  })

/** Survivor: writable with both VIPs, the peer gone. */
export const survivorObs = (o: Partial<Observations> = {}) =>
  base({
    local: local(WRITABLE, 'primary'),
    vipPrimary: HERE,
    vipStandby: HERE,
    viaVipPrimary: WRITABLE,
    viaVipStandby: WRITABLE,
    peer: SILENT,
    ...o,
  })

/** A freshly booted host: server stopped, no VIPs. */
export const bootObs = (dataDir: DataDirKind, o: Partial<Observations> = {}) => base({local: local(STOPPED, dataDir), ...o})

import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {StepFailedError} from '../errors.js'
import {describeFailure, realExec, type RunResult} from '../system/exec.js'
import {rewindGrantsSql} from '../system/rewind.js'
import {PG_BINDIR} from './host-config.js'
import {inHostArgv, pghaArgv, sleep} from './host.js'
import {type LabLayout, type LabNode, LOAD_DB, LOAD_USER, PG_PORT} from './layout.js'
import {createStandby, initPrimary, nodeMajor, nodePsql, nodeSettings, pgNode, type PgNode} from './pgcluster.js'
import {heartbeatPasswordFile, HEARTBEAT_USER, REPLICATION_USER} from './secrets.js'

/**
 * The lab's PostgreSQL pair, built the way a DBA would: initdb and `pgha start-db` on node1,
 * the lab's application user, `pgha init`, the grants rejoin needs, pg_basebackup for node2,
 * VIPs with `pgha claim-vip`. Each host's postgresql.conf stays outside its data directory.
 */

export type Say = (line: string) => void

/** The harness view of a host's PostgreSQL; commands run inside the host (nsenter) when `inside`. */
export function labPgNode(lab: LabLayout, node: LabNode, bindir = PG_BINDIR, inside = true): PgNode {
  const h = lab.hosts[node]
  return pgNode({
    name: node,
    bindir,
    dataDir: h.datadir,
    port: PG_PORT,
    listen: '*',
    socketDir: h.socketDir,
    logFile: h.pgLog,
    wrap: inside ? inHostArgv(h, []) : [],
  })
}

/** `pgha ARGS --config <host config>` run inside a lab host. */
export async function pghaInHost(lab: LabLayout, node: LabNode, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  const h = lab.hosts[node]
  return realExec.run(inHostArgv(h, [...pghaArgv(), ...args, '--config', h.configFile]), {timeoutMs})
}

async function mustPgha(lab: LabLayout, node: LabNode, args: string[], timeoutMs?: number): Promise<RunResult> {
  const r = await pghaInHost(lab, node, args, timeoutMs)
  if (r.exitCode !== 0) throw new StepFailedError(`lab ${node}: pgha ${args.join(' ')} failed: ${describeFailure(r)}`)
  return r
}

/**
 * The host's postgresql.conf, outside the data directory like Debian's /etc/postgresql: it
 * holds the host-specific paths (socket, archive), so a data directory copied from the peer
 * (pg_rewind, pg_basebackup) never brings the peer's paths along. Archive to the own
 * directory, restore from the peer's (mounted by pgha: archive.mode bind).
 */
function writePgConf(lab: LabLayout, node: LabNode, bindir: string): void {
  const h = lab.hosts[node]
  const pgn = labPgNode(lab, node, bindir, false)
  const extra: Record<string, string> = {
    data_directory: `'${h.datadir}'`,
    hba_file: `'${h.datadir}/pg_hba.conf'`,
    ident_file: `'${h.datadir}/pg_ident.conf'`,
    cluster_name: `'${node}'`,
    archive_mode: 'on',
    archive_command: `'test ! -f ${h.archiveDir}/%f && cp %p ${h.archiveDir}/%f'`,
    restore_command: `'cp "${h.peerArchiveMount}/%f" "%p"'`,
    wal_sender_timeout: "'5s'",
    wal_receiver_timeout: "'5s'",
  }
  writeFileSync(h.pgConf, nodeSettings(pgn, nodeMajor(pgn), extra).replace('(pgcluster.ts)', `(lab.ts) for host ${node}`), {mode: 0o644})
}

export async function buildCluster(lab: LabLayout, say: Say, bindir: string): Promise<void> {
  const primary = labPgNode(lab, 'node1', bindir)
  const replicationPassword = passwordFromPgpass(lab.hosts.node1.passfile, REPLICATION_USER)
  say('node1: initdb, start PostgreSQL (primary, pgha start-db)')
  await initPrimary(
    primary,
    {networks: ['192.0.2.0/24'], replicationUser: REPLICATION_USER, replicationPassword, heartbeatUser: HEARTBEAT_USER},
    {start: false},
  )
  writePgConf(lab, 'node1', bindir)
  // The lab's application user may write through the VIPs.
  const hba = join(lab.hosts.node1.datadir, 'pg_hba.conf')
  writeFileSync(hba, readFileSync(hba, 'utf8') + `host  ${LOAD_DB} ${LOAD_USER} 192.0.2.0/24 scram-sha-256\n`)
  await mustPgha(lab, 'node1', ['start-db'])
  await nodePsql(
    primary,
    `SET log_statement = 'none';\nCREATE ROLE ${REPLICATION_USER} LOGIN REPLICATION PASSWORD '${replicationPassword.replace(/'/g, "''")}';\n`,
  )
  const loadPassword = passwordFromPgpass(lab.hosts.node1.passfile, LOAD_USER).replace(/'/g, "''")
  await nodePsql(
    primary,
    `SET log_statement = 'none';\nCREATE ROLE ${LOAD_USER} LOGIN PASSWORD '${loadPassword}';\nCREATE DATABASE ${LOAD_DB} OWNER ${LOAD_USER};\nSELECT pg_reload_conf();\n`,
  )
  await nodePsql(
    primary,
    `CREATE TABLE lab_writes (run text NOT NULL, n integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run, n));\nALTER TABLE lab_writes OWNER TO ${LOAD_USER};\n`,
    LOAD_DB,
  )
  say('node1: pgha init (heartbeat database, role, tables)')
  await mustPgha(lab, 'node1', ['init', '--password-file', heartbeatPasswordFile(lab)])
  // What a DBA grants for rejoin: pg_rewind's file functions to the replication role (it
  // is no superuser), and CHECKPOINT to the heartbeat role (a rewind source checkpoints at once).
  await nodePsql(primary, [...rewindGrantsSql(REPLICATION_USER), `GRANT pg_checkpoint TO ${HEARTBEAT_USER}`].join(';\n') + ';\n')
  say('node2: pg_basebackup from node1, start PostgreSQL (streaming standby, pgha start-db)')
  await createStandby(
    labPgNode(lab, 'node2', bindir),
    {host: lab.hosts.node1.address, port: PG_PORT},
    {replicationUser: REPLICATION_USER, passfile: lab.hosts.node2.passfile, start: false},
  )
  writePgConf(lab, 'node2', bindir)
  await mustPgha(lab, 'node2', ['start-db'])
  say('VIP-M 192.0.2.100 on node1, VIP-S 192.0.2.101 on node2 (pgha claim-vip)')
  await Promise.all([mustPgha(lab, 'node1', ['claim-vip', 'primary']), mustPgha(lab, 'node2', ['claim-vip', 'standby'])])
  await waitStreaming(lab, bindir, 30_000)
}

function passwordFromPgpass(file: string, user: string): string {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[3] === user)
  if (!line) throw new StepFailedError(`no password for ${user} in ${file}`)
  return line.split(':').slice(4).join(':')
}

/** Wait until node2's WAL receiver streams (bounded). */
export async function waitStreaming(lab: LabLayout, bindir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      last = (await nodePsql(labPgNode(lab, 'node2', bindir), 'SELECT status FROM pg_stat_wal_receiver;', 'postgres', 5000)).trim()
      if (last === 'streaming') return
    } catch (e) {
      last = (e as Error).message
    }
    await sleep(200)
  }
  throw new StepFailedError(
    `node2 is not streaming from node1 after ${timeoutMs} ms (last: ${last || 'no WAL receiver'})`,
    `see ${lab.hosts.node2.pgLog}`,
  )
}

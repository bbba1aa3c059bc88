import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {StepFailedError} from '../errors.js'
import {type Exec, realExec, type RunResult, wrapArgv} from '../system/exec.js'
import {pgFailure} from '../system/pgctl.js'
import {hbaLines, nodeSettings, prepareDir, writeOwnedFile} from './pg-files.js'

// The files a node is made of moved to pg-files.ts; re-exported for the tests that import them here.
export {hbaLines, nodeSettings, passfileLine, prepareDir, writeOwnedFile} from './pg-files.js'

/**
 * Real PostgreSQL clusters for tests and the lab: initdb a primary, pg_basebackup a streaming
 * standby, start/stop with pg_ctl, all as the postgres OS user and optionally inside a
 * namespace (`wrap`, e.g. ['ip', 'netns', 'exec', 'NS']). Every call is bounded.
 */

export interface PgNodeSpec {
  /** For messages only. */
  name: string
  bindir: string
  dataDir: string
  port: number
  /** listen_addresses, e.g. '127.0.0.1' or '*'. */
  listen: string
  /** unix_socket_directories (created and chowned if missing). */
  socketDir: string
  osUser?: string
  /** argv prefix for every command (runs before runuser, so it may need root). */
  wrap?: string[]
  /** pg_ctl -l (default: <dataDir>/pgha-server.log, the same default pgha uses). */
  logFile?: string
}

export type PgNode = Required<Omit<PgNodeSpec, 'wrap'>> & {wrap: string[]}

export interface ClusterAuth {
  /** CIDRs allowed over TCP for replication and the heartbeat user (scram-sha-256). */
  networks: string[]
  replicationUser: string
  replicationPassword: string
  heartbeatUser: string
}

export function pgNode(spec: PgNodeSpec): PgNode {
  return {
    ...spec,
    osUser: spec.osUser ?? 'postgres',
    wrap: spec.wrap ?? [],
    logFile: spec.logFile ?? join(spec.dataDir, 'pgha-server.log'),
  }
}

/** The newest /usr/lib/postgresql/<major>/bin that has pg_ctl. */
export function findBindir(root = '/usr/lib/postgresql'): string {
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'pg_ctl'))) : []
  if (majors.length === 0)
    throw new StepFailedError(`no PostgreSQL found under ${root}`, 'install the postgresql package (scripts/setup.sh)')
  return join(root, String(Math.max(...majors.map(Number))), 'bin')
}

/** Major version of a data directory (PG_VERSION), else from the bindir path (/usr/lib/postgresql/N/bin). */
export function nodeMajor(node: Pick<PgNode, 'dataDir' | 'bindir'>): number {
  const fromFile = Number.parseInt(safeRead(join(node.dataDir, 'PG_VERSION')).trim(), 10)
  if (Number.isFinite(fromFile)) return fromFile
  const m = /\/(\d+)\/bin\/?$/.exec(node.bindir)
  if (m) return Number(m[1])
  throw new StepFailedError(`cannot tell the PostgreSQL version of ${node.bindir}`, 'use a bindir like /usr/lib/postgresql/15/bin')
}

/** Pure: the argv actually run for a node: wrap prefix, then the switch to the OS user. */
export function nodeArgv(node: PgNode, argv: string[], me?: {uid: number; name: string}): string[] {
  return [...node.wrap, ...wrapArgv(argv, {asUser: node.osUser}, me)]
}

async function runOnNode(
  node: PgNode,
  argv: string[],
  opts: {timeoutMs: number; input?: string; env?: Record<string, string>},
  exec: Exec = realExec,
): Promise<RunResult> {
  return exec.run(nodeArgv(node, argv), {timeoutMs: opts.timeoutMs, input: opts.input, env: {LC_MESSAGES: 'C', ...opts.env}})
}

async function mustRun(
  node: PgNode,
  what: string,
  argv: string[],
  opts: {timeoutMs: number; input?: string; env?: Record<string, string>},
): Promise<RunResult> {
  const r = await runOnNode(node, argv, opts)
  if (r.exitCode !== 0 || r.timedOut) throw new StepFailedError(`${node.name}: ${what} failed: ${pgFailure(r)}`)
  return r
}

const bin = (node: PgNode, name: string) => join(node.bindir, name)

/** SQL as the OS superuser over the node's socket (stdin; tab-separated unaligned output). */
export async function nodePsql(node: PgNode, sql: string, database = 'postgres', timeoutMs = 15_000): Promise<string> {
  const argv = [
    bin(node, 'psql'),
    '-X',
    '-q',
    '-A',
    '-t',
    '-F',
    '\t',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    node.socketDir,
    '-p',
    String(node.port),
    '-d',
    database,
  ]
  return (await mustRun(node, 'psql', argv, {timeoutMs, input: sql, env: {PGCONNECT_TIMEOUT: '5'}})).stdout
}

export async function startNode(node: PgNode, timeoutMs = 30_000): Promise<void> {
  const t = String(Math.ceil(timeoutMs / 1000))
  await mustRun(node, 'pg_ctl start', [bin(node, 'pg_ctl'), 'start', '-D', node.dataDir, '-w', '-t', t, '-l', node.logFile], {
    timeoutMs: timeoutMs + 5000,
  })
}

export async function stopNode(node: PgNode, mode: 'fast' | 'immediate' = 'fast', timeoutMs = 30_000): Promise<void> {
  if (!(await isNodeRunning(node))) return
  const t = String(Math.ceil(timeoutMs / 1000))
  await mustRun(node, 'pg_ctl stop', [bin(node, 'pg_ctl'), 'stop', '-D', node.dataDir, '-m', mode, '-w', '-t', t], {
    timeoutMs: timeoutMs + 5000,
  })
}

export async function isNodeRunning(node: PgNode): Promise<boolean> {
  if (!existsSync(node.dataDir)) return false
  const r = await runOnNode(node, [bin(node, 'pg_ctl'), 'status', '-D', node.dataDir], {timeoutMs: 10_000})
  return r.exitCode === 0
}

/**
 * initdb a primary with lab settings and pg_hba, start it, and create the replication role.
 * The heartbeat role is left to `pgha init` (the thing under test).
 */
export async function initPrimary(
  node: PgNode,
  auth: ClusterAuth,
  opts: {settings?: Record<string, string>; start?: boolean} = {},
): Promise<void> {
  prepareDir(node.socketDir, node.osUser, 0o755)
  prepareDir(node.dataDir, node.osUser)
  await mustRun(
    node,
    'initdb',
    [
      bin(node, 'initdb'),
      '-D',
      node.dataDir,
      '-U',
      node.osUser,
      '-E',
      'UTF8',
      '--locale=C',
      '-N',
      '--auth-local=peer',
      '--auth-host=scram-sha-256',
    ],
    {timeoutMs: 120_000},
  )
  writeOwnedFile(join(node.dataDir, 'pgha-node.conf'), nodeSettings(node, nodeMajor(node), opts.settings), node.osUser)
  const conf = join(node.dataDir, 'postgresql.conf')
  writeOwnedFile(conf, readFileSync(conf, 'utf8') + "\ninclude_if_exists = 'pgha-node.conf'\n", node.osUser)
  writeOwnedFile(join(node.dataDir, 'pg_hba.conf'), hbaLines(auth, node.osUser), node.osUser)
  if (opts.start === false) return
  await startNode(node)
  const u = `"${auth.replicationUser.replace(/"/g, '""')}"`
  await nodePsql(
    node,
    `SET log_statement = 'none';\nCREATE ROLE ${u} LOGIN REPLICATION PASSWORD '${auth.replicationPassword.replace(/'/g, "''")}';\n`,
  )
}

/**
 * A streaming standby of `primary` (pg_basebackup -R -X stream), with its own port and socket
 * dir, then started; its walreceiver's application_name is node.name. `passfile` must hold the replication user's password, readable by osUser;
 * -R records it in primary_conninfo.
 */
export async function createStandby(
  node: PgNode,
  primary: {host: string; port: number},
  opts: {replicationUser: string; passfile: string; settings?: Record<string, string>; start?: boolean},
): Promise<void> {
  prepareDir(node.socketDir, node.osUser, 0o755)
  prepareDir(node.dataDir, node.osUser)
  await mustRun(
    node,
    'pg_basebackup',
    // application_name = the node's name: -R writes it into primary_conninfo, and the primary
    // names this standby by it in synchronous_standby_names.
    [
      bin(node, 'pg_basebackup'),
      '-d',
      `application_name=${node.name}`,
      '-h',
      primary.host,
      '-p',
      String(primary.port),
      '-U',
      opts.replicationUser,
      '-D',
      node.dataDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '-w',
    ],
    {timeoutMs: 120_000, env: {PGPASSFILE: opts.passfile, PGCONNECT_TIMEOUT: '10'}},
  )
  writeOwnedFile(join(node.dataDir, 'pgha-node.conf'), nodeSettings(node, nodeMajor(node), opts.settings), node.osUser)
  rmSync(node.logFile, {force: true}) // the primary's log came along
  if (opts.start !== false) await startNode(node)
}

/** Best effort, never throws: stop (immediate), kill a leftover postmaster, remove the data dir. */
export async function destroyNode(node: PgNode): Promise<void> {
  try {
    await stopNode(node, 'immediate', 10_000)
  } catch {
    const pid = Number(safeRead(join(node.dataDir, 'postmaster.pid')).split('\n')[0])
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  rmSync(node.dataDir, {recursive: true, force: true})
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

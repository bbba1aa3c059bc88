/**
 * Two real PostgreSQL clusters on 127.0.0.1 for the rejoin/switchover tests, built with the one
 * harness every PostgreSQL test uses (src/lib/lab/pgcluster.ts, through pg.ts's users, passwords
 * and passfile): node1 by initPrimary, node2 by createStandby (pg_basebackup), each with its
 * per-host settings (port, socket, wal_log_hints as asked) in the include file pgha-node.conf,
 * as in the lab. What is the pair's own is what rejoin needs on top: pg_rewind's grants,
 * `pgha init`, a table t and a writer role for it. Ports come from the caller (this piece owns
 * 55500-55599).
 */
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {configSchema, type Config} from '../../src/lib/config/schema.js'
import {
  createStandby,
  findBindir,
  initPrimary,
  pgNode,
  type PgNode,
  prepareDir,
  startNode,
  writeOwnedFile,
} from '../../src/lib/lab/pgcluster.js'
import {rewindGrantsSql} from '../../src/lib/system/rewind.js'
import {ensureInit} from '../../src/lib/steps/init.js'
import {SystemContext} from '../../src/lib/system/exec.js'
import {HB_PASSWORD, HB_USER, makeTempRoot, removeTempRoot, REPL_PASSWORD, REPL_USER, waitFor as waitForValue, writePassfile} from './pg.js'

export const BINDIR = findBindir()
const OS_USER = 'postgres'

/** A role that may write to t, for clients the tests run in-process (the OS superuser logs in by peer only). */
export const WRITER = {user: 'writer', password: 'writer-pw'}

export interface Node {
  name: string
  port: number
  datadir: string
  socketDir: string
  cfg: Config
  pg: PgNode
}

export interface Pair {
  root: string
  passfile: string
  a: Node
  b: Node
  cleanup(): void
}

/** Run as the postgres OS user, bounded; throws with stderr on failure. */
export function asPg(argv: string[], opts: {input?: string; timeoutMs?: number} = {}): string {
  return execFileSync('runuser', ['-u', OS_USER, '--', ...argv], {
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? 60_000,
    env: {...process.env, LC_ALL: 'C'},
  }).toString()
}

export function psql(n: Node, sql: string, db = 'postgres'): string {
  return asPg([join(BINDIR, 'psql'), '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', n.socketDir, '-p', String(n.port), '-d', db], {
    input: sql,
  }).trim()
}

/** pg_ctl on a node, for what a test does to it by hand (stop -m immediate = a power cut, promote). */
export function pgCtl(n: Node, ...args: string[]): string {
  return asPg([join(BINDIR, 'pg_ctl'), '-D', n.datadir, '-l', n.pg.logFile, '-w', '-t', '60', ...args])
}

function nodeConfig(n: PgNode, peer: string, passfile: string, root: string): Config {
  return configSchema.parse({
    cluster: 'test',
    node: {name: n.name, address: '192.0.2.11'},
    peer: {name: peer, address: '192.0.2.12'},
    network: {interface: 'lo', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {
      bindir: BINDIR,
      datadir: n.dataDir,
      port: n.port,
      socketDir: n.socketDir,
      logFile: n.logFile,
      passfile,
      heartbeat: {database: 'pgha', user: HB_USER},
      replication: {user: REPL_USER},
      stepTimeout: '60s',
    },
    archive: {mode: 'none'},
    fence: {agent: 'none'},
    stateDir: join(root, `state-${n.name}`),
  })
}

/**
 * Node A: initPrimary + pgha init + pg_rewind's grants + table t.
 * Node B: createStandby of A, streaming from A with application_name node2.
 */
export async function makePair(opts: {
  portA: number
  portB: number
  walLogHints: boolean
  tag: string
  grantCheckpoint?: boolean
  /** wal_keep_size on both (default 256MB; the bench uses PostgreSQL's default 0). */
  walKeepSize?: string
  /** Runs on the primary before the standby is copied from it (the bench loads its data here). */
  beforeStandby?: (a: Node) => void | Promise<void>
}): Promise<Pair> {
  const root = makeTempRoot(opts.tag)
  const passfile = writePassfile(root)
  const settings = {
    wal_log_hints: opts.walLogHints ? 'on' : 'off',
    wal_keep_size: `'${opts.walKeepSize ?? '256MB'}'`,
    shared_buffers: '32MB',
    fsync: 'off', // temp clusters on a shared test machine; crash safety is not under test here
  }
  const mk = (name: string, peer: string, port: number): Node => {
    prepareDir(join(root, name), OS_USER, 0o755)
    const n = pgNode({
      name,
      bindir: BINDIR,
      dataDir: join(root, name, 'data'),
      port,
      listen: '127.0.0.1',
      socketDir: join(root, name, 'run'),
      logFile: join(root, name, 'server.log'),
    })
    return {name, port, datadir: n.dataDir, socketDir: n.socketDir, cfg: nodeConfig(n, peer, passfile, root), pg: n}
  }
  const a = mk('node1', 'node2', opts.portA)
  const b = mk('node2', 'node1', opts.portB)
  const pair: Pair = {
    root,
    passfile,
    a,
    b,
    cleanup() {
      for (const n of [a, b]) {
        try {
          asPg([join(BINDIR, 'pg_ctl'), '-D', n.datadir, '-m', 'immediate', 'stop'], {timeoutMs: 30_000})
        } catch {
          // not running
        }
      }
      removeTempRoot(root)
    },
  }
  try {
    const auth = {networks: ['127.0.0.1/32'], replicationUser: REPL_USER, replicationPassword: REPL_PASSWORD, heartbeatUser: HB_USER}
    await initPrimary(a.pg, auth, {settings})
    psql(
      a,
      rewindGrantsSql(REPL_USER)
        .map((s) => s + ';')
        .join('\n'),
    )
    await ensureInit(new SystemContext(), a.cfg, {password: HB_PASSWORD})
    if (opts.grantCheckpoint !== false) psql(a, `GRANT pg_checkpoint TO ${HB_USER};`)
    psql(
      a,
      [
        'CREATE TABLE t (id bigint PRIMARY KEY, origin text NOT NULL, at timestamptz DEFAULT now());',
        `SET log_statement = 'none'; CREATE ROLE ${WRITER.user} LOGIN PASSWORD '${WRITER.password}';`,
        `GRANT SELECT, INSERT, UPDATE, DELETE ON t TO ${WRITER.user};`,
      ].join('\n'),
    )
    await opts.beforeStandby?.(a)
    await createStandby(b.pg, {host: '127.0.0.1', port: a.port}, {replicationUser: REPL_USER, passfile, settings, start: false})
    // -R copied the password libpq read from the passfile into primary_conninfo; name the passfile instead, as pgha does.
    writeOwnedFile(
      join(b.datadir, 'postgresql.auto.conf'),
      `primary_conninfo = 'host=127.0.0.1 port=${a.port} user=${REPL_USER} passfile=${passfile} application_name=node2'\n`,
      OS_USER,
      0o600,
    )
    await startNode(b.pg)
    await waitFor(() => psql(a, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") === '1', 30_000, 'B streaming from A')
    return pair
  } catch (error) {
    pair.cleanup()
    throw error
  }
}

/** pg.ts's waitFor for a condition that may throw while the server is not there yet (the last error is reported). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  let lastErr: unknown
  try {
    await waitForValue(what, timeoutMs, async () => {
      try {
        return await cond()
      } catch (error) {
        lastErr = error
        return false
      }
    })
  } catch (error) {
    throw new Error(`${(error as Error).message}${lastErr ? `: ${(lastErr as Error).message}` : ''}`)
  }
}

/** The source override for a node: "VIP-M" is this node's own 127.0.0.1 port in tests. */
export const sourceOf = (n: Node) => ({host: '127.0.0.1', port: n.port})

/**
 * Two real PostgreSQL clusters on 127.0.0.1 for the rejoin/switchover tests: a primary made
 * with initdb and a standby made with pg_basebackup, run as the postgres OS user in a temp
 * directory. Passwords are real (scram) and reach libpq through a passfile, as in production.
 * The bindir, the users, their passwords, the passfile and the temp root are pg.ts's (one
 * harness); what is the pair's own is the layout rejoin needs (node1/node2 with wal_log_hints
 * as asked, pg_rewind's grants, a table t). Ports come from the caller (this piece owns 55500-55599).
 */
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import pg from 'pg'
import {configSchema, type Config} from '../../src/lib/config/schema.js'
import {findBindir, prepareDir, writeOwnedFile} from '../../src/lib/lab/pgcluster.js'
import {rewindGrantsSql} from '../../src/lib/system/rewind.js'
import {ensureInit} from '../../src/lib/steps/init.js'
import {SystemContext} from '../../src/lib/system/exec.js'
import {HB_PASSWORD, HB_USER, makeTempRoot, removeTempRoot, REPL_PASSWORD, REPL_USER, waitFor as waitForValue, writePassfile} from './pg.js'

export const BINDIR = findBindir()
const OS_USER = 'postgres'

export interface Node {
  name: string
  port: number
  datadir: string
  socketDir: string
  cfg: Config
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

export function pgCtl(n: Node, ...args: string[]): string {
  return asPg([join(BINDIR, 'pg_ctl'), '-D', n.datadir, '-w', '-t', '60', ...args])
}

function nodeConfig(name: string, peer: string, port: number, datadir: string, socketDir: string, passfile: string, root: string): Config {
  return configSchema.parse({
    cluster: 'test',
    node: {name, address: '192.0.2.11'},
    peer: {name: peer, address: '192.0.2.12'},
    network: {interface: 'lo', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {
      bindir: BINDIR,
      datadir,
      port,
      socketDir,
      passfile,
      heartbeat: {database: 'pgha', user: HB_USER},
      replication: {user: REPL_USER},
      stepTimeout: '60s',
    },
    archive: {mode: 'none'},
    fence: {agent: 'none'},
    stateDir: join(root, `state-${name}`),
  })
}

function hostConf(port: number, socketDir: string, walLogHints: boolean, walKeepSize: string): string {
  return [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${socketDir}'`,
    'wal_level = replica',
    'hot_standby = on',
    `wal_log_hints = ${walLogHints ? 'on' : 'off'}`,
    'max_wal_senders = 5',
    `wal_keep_size = '${walKeepSize}'`,
    'shared_buffers = 32MB',
    'fsync = off', // temp clusters on a shared test machine; crash safety is not under test here
    'logging_collector = off',
    '',
  ].join('\n')
}

/**
 * Node A: initdb + primary + pgha init + replicator role with pg_rewind's grants.
 * Node B: pg_basebackup of A, streaming from A.
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
  const mk = (name: string, peer: string, port: number): Node => {
    const datadir = join(root, name, 'data')
    const socketDir = join(root, name, 'run')
    prepareDir(join(root, name), OS_USER, 0o755)
    prepareDir(socketDir, OS_USER, 0o755)
    return {name, port, datadir, socketDir, cfg: nodeConfig(name, peer, port, datadir, socketDir, passfile, root)}
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
    asPg([join(BINDIR, 'initdb'), '-D', a.datadir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync'], {
      timeoutMs: 120_000,
    })
    writeFileSync(join(a.datadir, 'postgresql.conf'), hostConf(a.port, a.socketDir, opts.walLogHints, opts.walKeepSize ?? '256MB'), {
      flag: 'a',
    })
    writeFileSync(
      join(a.datadir, 'pg_hba.conf'),
      `local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication ${REPL_USER} 127.0.0.1/32 scram-sha-256\n`,
    )
    pgCtl(a, '-l', join(root, 'node1', 'server.log'), 'start')
    psql(
      a,
      [
        `CREATE ROLE ${REPL_USER} LOGIN REPLICATION PASSWORD '${REPL_PASSWORD.replace(/'/g, "''")}';`,
        ...rewindGrantsSql(REPL_USER).map((s) => s + ';'),
      ].join('\n'),
    )
    await ensureInit(new SystemContext(), a.cfg, {password: HB_PASSWORD})
    if (opts.grantCheckpoint !== false) psql(a, `GRANT pg_checkpoint TO ${HB_USER};`)
    psql(a, 'CREATE TABLE t (id bigint PRIMARY KEY, origin text NOT NULL, at timestamptz DEFAULT now());')
    await opts.beforeStandby?.(a)
    asPg(
      [
        join(BINDIR, 'pg_basebackup'),
        '-D',
        b.datadir,
        '-d',
        `host=127.0.0.1 port=${a.port} user=${REPL_USER} passfile=${passfile}`,
        '-X',
        'stream',
        '-c',
        'fast',
        '-R',
      ],
      {timeoutMs: 120_000},
    )
    // -R here is test setup only; make B a host of its own (port, socket, conninfo without password).
    writeFileSync(join(b.datadir, 'postgresql.conf'), hostConf(b.port, b.socketDir, opts.walLogHints, opts.walKeepSize ?? '256MB'), {
      flag: 'a',
    })
    writeOwnedFile(
      join(b.datadir, 'postgresql.auto.conf'),
      `primary_conninfo = 'host=127.0.0.1 port=${a.port} user=${REPL_USER} passfile=${passfile} application_name=node2'\n`,
      OS_USER,
      0o600,
    )
    pgCtl(b, '-l', join(root, 'node2', 'server.log'), 'start')
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

/** A TCP client as the superuser over the socket (trust), for writers in tests. */
export async function client(n: Node): Promise<pg.Client> {
  const c = new pg.Client({
    host: n.socketDir,
    port: n.port,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 2000,
    query_timeout: 5000,
  })
  c.on('error', () => undefined)
  await c.connect()
  return c
}

/** The source override for a node: "VIP-M" is this node's own 127.0.0.1 port in tests. */
export const sourceOf = (n: Node) => ({host: '127.0.0.1', port: n.port})

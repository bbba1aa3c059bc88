/**
 * A real primary + streaming standby on 127.0.0.1 for the PostgreSQL step tests, built with the
 * lab harness (src/lib/lab/pgcluster.ts). Ports are chosen by the caller (55400-55499 here).
 */
import {chmodSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {configSchema, type Config, type ConfigInput} from '../../src/lib/config/schema.js'
import {ensureInit} from '../../src/lib/steps/init.js'
import {SystemContext} from '../../src/lib/system/exec.js'
import {
  createStandby,
  destroyNode,
  findBindir,
  initPrimary,
  passfileLine,
  pgNode,
  type PgNode,
  prepareDir,
  writeOwnedFile,
} from '../../src/lib/lab/pgcluster.js'

export const REPL_USER = 'replicator'
export const REPL_PASSWORD = 'repl:pw\\Δ' // ':' and '\' exercise .pgpass escaping
export const HB_USER = 'pgha'
export const HB_PASSWORD = "hb-'pw'\\n:Δ" // quote, backslash-n and ':' exercise psql \set and .pgpass escaping
export const FAST = {fsync: 'off', synchronous_commit: 'off'}

export interface TestNode {
  node: PgNode
  cfg: Config
}

/** Clean-ups run last-in first-out (servers stop before their directory goes); never throw. */
export class Cleanups {
  private readonly fns: (() => unknown)[] = []
  add(fn: () => unknown): void {
    this.fns.push(fn)
  }
  async run(): Promise<void> {
    while (this.fns.length > 0) {
      try {
        await this.fns.pop()!()
      } catch (error) {
        console.error(`cleanup failed: ${(error as Error).message}`)
      }
    }
  }
}

/** A new temp dir owned by postgres (initdb refuses root); the caller removes it (removeTempRoot). */
export function makeTempRoot(label: string): string {
  const root = mkdtempSync(join(tmpdir(), `pgha-${label}-${process.pid}-`))
  prepareDir(root, 'postgres', 0o755)
  return root
}

/** Removes a temp root, unless PGHA_KEEP_TEST_DIRS=1 keeps it for a look at the server logs. */
export function removeTempRoot(root: string): void {
  if (process.env.PGHA_KEEP_TEST_DIRS !== '1') rmSync(root, {recursive: true, force: true})
}

/** A temp dir owned by postgres, removed by the clean-ups. */
export function tempRoot(c: Cleanups, label: string): string {
  const root = makeTempRoot(label)
  c.add(() => removeTempRoot(root))
  return root
}

export function writePassfile(root: string): string {
  const passfile = join(root, 'pgpass')
  writeOwnedFile(
    passfile,
    [
      passfileLine({host: '*', port: '*', database: '*', user: REPL_USER, password: REPL_PASSWORD}),
      passfileLine({host: '*', port: '*', database: '*', user: HB_USER, password: HB_PASSWORD}),
    ].join('\n') + '\n',
  )
  chmodSync(passfile, 0o600)
  return passfile
}

export function makeNode(root: string, name: string, port: number): PgNode {
  return pgNode({name, bindir: findBindir(), dataDir: join(root, name), port, listen: '127.0.0.1', socketDir: join(root, `${name}-sock`)})
}

/** Config for a node; the network/fence parts are valid but unused by the PostgreSQL steps. */
export function nodeConfig(node: PgNode, passfile: string, over: Partial<ConfigInput> = {}): Config {
  return configSchema.parse({
    cluster: 'pgtest',
    node: {name: node.name, address: '192.0.2.11'},
    // The standby connects from 127.0.0.1: that is the address the primary reports lag for.
    peer: {name: 'other', address: '127.0.0.1'},
    network: {interface: 'pghatest0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {
      bindir: node.bindir,
      datadir: node.dataDir,
      port: node.port,
      socketDir: node.socketDir,
      passfile,
      heartbeat: {database: 'pgha', user: HB_USER},
      stepTimeout: '30s',
    },
    fence: {agent: 'none'},
    timing: {probeTimeout: '2s'},
    ...over,
  })
}

/** initdb + start a primary; destroyed by the clean-ups even when the test fails. */
export async function startPrimary(c: Cleanups, root: string, passfile: string, port: number, name = 'primary'): Promise<TestNode> {
  const node = makeNode(root, name, port)
  c.add(() => destroyNode(node))
  await initPrimary(
    node,
    {networks: ['127.0.0.1/32'], replicationUser: REPL_USER, replicationPassword: REPL_PASSWORD, heartbeatUser: HB_USER},
    {settings: FAST},
  )
  return {node, cfg: nodeConfig(node, passfile)}
}

export async function startStandby(
  c: Cleanups,
  root: string,
  passfile: string,
  primary: PgNode,
  port: number,
  settings: Record<string, string> = {},
  name = 'standby',
): Promise<TestNode> {
  const node = makeNode(root, name, port)
  c.add(() => destroyNode(node))
  await createStandby(
    node,
    {host: '127.0.0.1', port: primary.port},
    {replicationUser: REPL_USER, passfile, settings: {...FAST, ...settings}},
  )
  return {node, cfg: nodeConfig(node, passfile)}
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Settles within `ms`, or says it is still pending (a commit that waits for a standby). */
export async function settled<T>(p: Promise<T>, ms: number): Promise<'pending' | 'done'> {
  return Promise.race([
    p.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms)),
  ])
}

export interface SyncPair {
  root: string
  passfile: string
  primary: TestNode
  standby: TestNode
  /** The primary's config in sync mode, naming the standby as its peer (stallTimeout 2s unless overridden). */
  cfg: Config
}

/**
 * A primary with `pgha init` done and a streaming standby whose application_name is
 * `names.standby`, for the synchronous-replication tests: ports `port` and `port + 1`.
 */
export async function startSyncPair(
  c: Cleanups,
  label: string,
  port: number,
  names: {primary: string; standby: string},
  over: Partial<ConfigInput> = {},
): Promise<SyncPair> {
  const root = tempRoot(c, label)
  const passfile = writePassfile(root)
  const primary = await startPrimary(c, root, passfile, port, names.primary)
  await ensureInit(new SystemContext(), primary.cfg, {password: HB_PASSWORD})
  const standby = await startStandby(c, root, passfile, primary.node, port + 1, {}, names.standby)
  const cfg = nodeConfig(primary.node, passfile, {
    peer: {name: names.standby, address: '127.0.0.1'},
    replication: {mode: 'sync', stallTimeout: '2s'},
    ...over,
  })
  return {root, passfile, primary, standby, cfg}
}
